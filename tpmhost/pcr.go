package tpmhost

import (
	"fmt"
	"slices"

	"github.com/google/go-tpm/tpm2"
)

// ReadPCRs reads the given PCRs of one bank with TPM2_PCR_Read. The TPM
// returns at most 8 values per call, so it loops until all are read.
func (t *TPM) ReadPCRs(bank Alg, pcrs []int) (map[int][]byte, error) {
	if err := t.lock(); err != nil {
		return nil, err
	}
	defer t.unlock()
	return t.readPCRs(bank, pcrs)
}

func (t *TPM) readPCRs(bank Alg, pcrs []int) (map[int][]byte, error) {
	want := slices.Clone(pcrs)
	slices.Sort(want)
	want = slices.Compact(want)
	out := make(map[int][]byte, len(want))
	for len(want) > 0 {
		bm, err := pcrBitmap(want)
		if err != nil {
			return nil, err
		}
		rsp, err := tpm2.PCRRead{PCRSelectionIn: tpm2.TPMLPCRSelection{
			PCRSelections: []tpm2.TPMSPCRSelection{{Hash: tpm2.TPMIAlgHash(bank), PCRSelect: bm}},
		}}.Execute(t.tr)
		if err != nil {
			return nil, tpmErr("TPM2_PCR_Read", err)
		}
		var got []int
		for _, s := range rsp.PCRSelectionOut.PCRSelections {
			if Alg(s.Hash) == bank {
				got = append(got, bitmapPCRs(s.PCRSelect)...)
			}
		}
		if len(got) == 0 {
			return nil, &TPMError{Op: "TPM2_PCR_Read", Kind: ErrBankNotAllocated,
				Err:  fmt.Errorf("no value for PCRs %v in bank %s", want, bank),
				Hint: "the bank has no PCRs allocated (tpm2_pcrallocate) or the PCR does not exist"}
		}
		if len(got) != len(rsp.PCRValues.Digests) {
			return nil, &TPMError{Op: "TPM2_PCR_Read", Kind: ErrTransport,
				Err: fmt.Errorf("TPM returned %d values for %d selected PCRs", len(rsp.PCRValues.Digests), len(got))}
		}
		for i, p := range got {
			d := rsp.PCRValues.Digests[i].Buffer
			if n := bank.DigestSize(); n != 0 && len(d) != n {
				return nil, &TPMError{Op: "TPM2_PCR_Read", Kind: ErrTransport,
					Err: fmt.Errorf("PCR %d value has %d bytes, want %d for %s", p, len(d), n, bank)}
			}
			out[p] = d
		}
		want = slices.DeleteFunc(want, func(p int) bool { _, ok := out[p]; return ok })
		t.log.Trace("PCR_Read", "bank", bank, "pcrs", got)
	}
	return out, nil
}

// ExtendPCR extends one PCR of one bank with a digest (TPM2_PCR_Extend).
func (t *TPM) ExtendPCR(bank Alg, pcr int, digest []byte) error {
	if err := t.lock(); err != nil {
		return err
	}
	defer t.unlock()
	return t.extend(pcr, []tpm2.TPMTHA{{HashAlg: tpm2.TPMIAlgHash(bank), Digest: digest}})
}

func (t *TPM) extend(pcr int, digests []tpm2.TPMTHA) error {
	if pcr < 0 || pcr > 31 {
		return fmt.Errorf("tpmhost: PCR index %d out of range", pcr)
	}
	_, err := tpm2.PCRExtend{
		PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(pcr), Auth: tpm2.PasswordAuth(nil)},
		Digests:   tpm2.TPMLDigestValues{Digests: digests},
	}.Execute(t.tr)
	return tpmErr(fmt.Sprintf("TPM2_PCR_Extend(PCR %d)", pcr), err)
}

// ExtendFromLog extends the digests of every event of l except EV_NO_ACTION
// into the TPM, all banks the log and the TPM have in common in one
// TPM2_PCR_Extend per event. It is for demos and tests: afterwards the TPM's
// PCRs equal the log's replay (given the same startup locality). It returns
// the number of events extended.
func (t *TPM) ExtendFromLog(l *EventLog) (int, error) {
	alloc, err := t.AllocatedBanks()
	if err != nil {
		return 0, err
	}
	var banks []Alg
	for _, b := range l.Banks {
		if slices.Contains(alloc, b) {
			banks = append(banks, b)
		}
	}
	if len(banks) == 0 {
		return 0, &TPMError{Op: "extend from event log", Kind: ErrBankNotAllocated,
			Err: fmt.Errorf("log banks %v, TPM banks %v", algNamesOf(l.Banks), algNamesOf(alloc))}
	}
	if err := t.lock(); err != nil {
		return 0, err
	}
	defer t.unlock()
	n := 0
	for i := range l.Events {
		ev := &l.Events[i]
		if ev.Type == EvNoAction {
			continue
		}
		var ds []tpm2.TPMTHA
		for _, b := range banks {
			if d, ok := ev.Digest(b); ok {
				ds = append(ds, tpm2.TPMTHA{HashAlg: tpm2.TPMIAlgHash(b), Digest: d})
			}
		}
		if len(ds) == 0 {
			continue
		}
		if err := t.extend(int(ev.PCR), ds); err != nil {
			return n, fmt.Errorf("event %d: %w", ev.Seq, err)
		}
		n++
	}
	t.log.Debug(fmt.Sprintf("extended %d events of the event log into the PCRs (%v)", n, algNamesOf(banks)), "events", n, "banks", algNamesOf(banks))
	return n, nil
}

func algNamesOf(as []Alg) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
