package cli

import (
	"bufio"
	"fmt"
	"io"

	"github.com/imchost/imchost/tpmhost"
)

// cmdIMA prints an IMA measurement list in the kernel's ASCII form and
// replays PCR 10, like `imchost eventlog` for the boot log. The list is
// streamed: a list of any length takes the memory of one entry.
func cmdIMA(e *env, args []string) int {
	fs := newFlags(e, "ima", "ima [--pcrs] [--bank sha256] [--boot-log FILE] [FILE]")
	bank := fs.String("bank", "", "bank to replay (default: sha1, sha256, sha384 and sha512)")
	pcrsOnly := fs.Bool("pcrs", false, "print only the replayed PCR values")
	padded := fs.Bool("padded", false, "replay non-SHA-1 banks as kernels before 5.8 extended them (the SHA-1 digest padded with zeros)")
	bootLog := fs.String("boot-log", "", "check boot_aggregate against this boot event log's replay")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	path := tpmhost.DefaultIMALogPath
	switch fs.NArg() {
	case 0:
	case 1:
		path = fs.Arg(0)
	default:
		return usageErr(e, "ima", "one FILE at most")
	}
	banks := []tpmhost.Alg{tpmhost.AlgSHA1, tpmhost.AlgSHA256, tpmhost.AlgSHA384, tpmhost.AlgSHA512}
	if *bank != "" {
		b, err := tpmhost.ParseAlg(*bank)
		if err != nil || b.Hash() == 0 {
			return usageErr(e, "ima", fmt.Sprintf("--bank %q is not a hash algorithm", *bank))
		}
		banks = []tpmhost.Alg{b}
	}
	var boot *tpmhost.EventLog
	if *bootLog != "" {
		l, err := tpmhost.ReadEventLog(*bootLog)
		if err != nil {
			return fail(e, err)
		}
		boot = l
	}
	f, rd, err := tpmhost.OpenIMALog(path)
	if err != nil {
		return fail(e, err)
	}
	defer f.Close()
	p, err := tpmhost.NewIMAReplayer(rd.DigestAlg(), banks...)
	if err != nil {
		return fail(e, err)
	}
	p.LegacyPadding = *padded
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	var ba *tpmhost.BootAggregate
	for {
		ent, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Flush()
			return fail(e, err)
		}
		if ent.Seq == 0 && boot != nil {
			if ba, err = tpmhost.CheckBootAggregate(ent, bootPCR(boot)); err != nil {
				w.Flush()
				return fail(e, err)
			}
		}
		if !*pcrsOnly {
			tpmhost.WriteIMAEntry(w, ent)
		}
		if err := p.Extend(ent); err != nil {
			w.Flush()
			return fail(e, err)
		}
	}
	reps := p.Replays()
	if !*pcrsOnly {
		fmt.Fprintf(w, "\n# %d entries, %d violations, template digests %s\n", reps[0].Entries, reps[0].Violations, rd.DigestAlg())
	}
	if ba != nil {
		switch {
		case ba.NoTPM:
			fmt.Fprintln(w, "# boot_aggregate is all zeros: IMA found no TPM at boot")
		case ba.OK:
			fmt.Fprintf(w, "# boot_aggregate (%s over PCR 0..%d) matches the boot log\n", ba.Alg, ba.PCRMax)
		default:
			fmt.Fprintf(w, "# boot_aggregate %s:%x does NOT match the boot log (computed %x)\n", ba.Alg, ba.Logged, ba.Computed)
		}
	}
	for _, r := range reps {
		for _, pcr := range sortedKeys(r.PCRs) {
			fmt.Fprintf(w, "%s %d %x\n", r.Bank, pcr, r.PCRs[pcr])
		}
	}
	if ba != nil && !ba.OK && !ba.NoTPM {
		w.Flush()
		return fail(e, fmt.Errorf("%s: boot_aggregate does not match %s", path, *bootLog))
	}
	return exitOK
}

// bootPCR returns the boot log's replayed PCRs, per bank, for the
// boot_aggregate check.
func bootPCR(l *tpmhost.EventLog) func(tpmhost.Alg, int) []byte {
	reps := map[tpmhost.Alg]*tpmhost.Replay{}
	return func(b tpmhost.Alg, i int) []byte {
		r, ok := reps[b]
		if !ok {
			r, _ = l.Replay(b)
			reps[b] = r
		}
		if r == nil {
			return nil
		}
		return r.Value(i)
	}
}

func sortedKeys(m map[int][]byte) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
