package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/tpmhost"
)

func cmdEventLog(e *env, args []string) int {
	fs := newFlags(e, "eventlog", "eventlog [--bank sha256] [--pcrs] [FILE]")
	bank := fs.String("bank", "", "digest bank to print and replay (default: every bank of the log for --pcrs, the first one for events)")
	pcrsOnly := fs.Bool("pcrs", false, "print only the replayed PCR values")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	path := host.DefaultEventLogPath
	switch fs.NArg() {
	case 0:
	case 1:
		path = fs.Arg(0)
	default:
		return usageErr(e, "eventlog", "one FILE at most")
	}
	l, err := tpmhost.ReadEventLog(path)
	if err != nil {
		return fail(e, err)
	}
	var banks []tpmhost.Alg
	if *bank != "" {
		b, err := tpmhost.ParseAlg(*bank)
		if err != nil {
			return usageErr(e, "eventlog", err.Error())
		}
		banks = []tpmhost.Alg{b}
	} else if len(l.Banks) > 0 {
		banks = l.Banks
	}
	if len(banks) == 0 {
		return fail(e, fmt.Errorf("%s: the log has no digest bank", path))
	}
	if !*pcrsOnly {
		if err := tpmhost.WriteEvents(e.stdout, l, banks[0]); err != nil {
			return fail(e, err)
		}
		fmt.Fprintln(e.stdout)
	}
	var replays []*tpmhost.Replay
	for _, b := range banks {
		r, err := l.Replay(b)
		if err != nil {
			return fail(e, err)
		}
		replays = append(replays, r)
	}
	if err := tpmhost.WritePCRs(e.stdout, replays...); err != nil {
		return fail(e, err)
	}
	return exitOK
}

func cmdTPM(e *env, args []string) int {
	return dispatch(e, "tpm", args, []command{
		{"info", "", cmdTPMInfo}, {"provision-ak", "", cmdTPMProvision}, {"extend", "", cmdTPMExtend}})
}

func cmdTPMInfo(e *env, args []string) int {
	var lf logFlags
	fs := newFlags(e, "tpm info", "tpm info [--tpm SPEC] [--handle 0x81010003]")
	spec := fs.String("tpm", "/dev/tpmrm0", "TPM: /dev/tpmrm0, /dev/tpm0, tcp:HOST:PORT (swtpm) or mssim:HOST:PORT")
	handle := fs.String("handle", "0x81010003", "also show the Attestation Key at this persistent handle, if any")
	lf.register(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if lf.debug < 0 {
		lf.debug = 0
	}
	t, code := openTPMFor(e, &lf, *spec)
	if t == nil {
		return code
	}
	defer t.Close()
	v, err := t.VersionInfo()
	if err != nil {
		return fail(e, err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "TPM\t%s (%s)\n", t.Spec(), "TPM "+v.Family)
	fmt.Fprintf(w, "manufacturer\t%s (0x%08x)\n", v.Manufacturer, v.ManufacturerID)
	fmt.Fprintf(w, "vendor string\t%s\n", v.VendorString)
	fmt.Fprintf(w, "firmware\t%d.%d.%d.%d\n", v.FirmwareVersion>>48, v.FirmwareVersion>>32&0xffff, v.FirmwareVersion>>16&0xffff, v.FirmwareVersion&0xffff)
	fmt.Fprintf(w, "specification\tlevel %d revision %s, day %d of %d\n", v.Level, v.RevisionString(), v.DayOfYear, v.Year)
	banks, err := t.AllocatedBanks()
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(w, "PCR banks\t%s\n", algList(banks))
	if h, err := parseHandle(*handle); err == nil {
		if ak, err := t.LoadAK(h); err == nil {
			fmt.Fprintf(w, "AK 0x%08x\t%s, keyid %s\n", h, akDesc(ak), ak.KeyID)
		} else {
			fmt.Fprintf(w, "AK 0x%08x\tnone (%v)\n", h, err)
		}
	}
	w.Flush()
	return exitOK
}

func algList(as []tpmhost.Alg) string {
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return strings.Join(s, ", ")
}

func parseHandle(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil || v>>24 != 0x81 {
		return 0, fmt.Errorf("handle %q: want a persistent handle 0x81000000..0x81ffffff", s)
	}
	return uint32(v), nil
}

func cmdTPMProvision(e *env, args []string) int {
	var lf logFlags
	fs := newFlags(e, "tpm provision-ak", "tpm provision-ak [--tpm SPEC] [--handle 0x81010003] [--alg ecc|rsa] [--replace]")
	spec := fs.String("tpm", "/dev/tpmrm0", "TPM: /dev/tpmrm0, /dev/tpm0, tcp:HOST:PORT (swtpm) or mssim:HOST:PORT")
	handle := fs.String("handle", "0x81010003", "persistent handle for the Attestation Key")
	alg := fs.String("alg", "ecc", "key type: ecc (P-256) or rsa (2048)")
	replace := fs.Bool("replace", false, "evict a key already at the handle")
	lf.register(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	h, err := parseHandle(*handle)
	if err != nil {
		return usageErr(e, "tpm provision-ak", err.Error())
	}
	kind, err := tpmhost.ParseAKKind(*alg)
	if err != nil {
		return usageErr(e, "tpm provision-ak", err.Error())
	}
	t, code := openTPMFor(e, &lf, *spec)
	if t == nil {
		return code
	}
	defer t.Close()
	ak, err := t.ProvisionAK(h, kind, *replace)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "Attestation Key at 0x%08x: %s, keyid %s\n", h, akDesc(ak), ak.KeyID)
	return exitOK
}

func cmdIMC(e *env, args []string) int {
	return dispatch(e, "imc", args, []command{{"list", "", cmdIMCList}, {"check", "", cmdIMCCheck},
		{"keygen", "", cmdIMCKeygen}, {"sign", "", cmdIMCSign}})
}

func cmdIMCList(e *env, args []string) int {
	var lf logFlags
	fs := newFlags(e, "imc list", "imc list [--config FILE] [--wasm-dir DIR]")
	cfgPath := fs.String("config", "", "config.toml (default ./config.toml, else /etc/imchost/config.toml)")
	wasmDir := fs.String("wasm-dir", "", "load each [[imc]] module by its file name from this directory")
	lf.register(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	c, err := loadConfig(*cfgPath, config.Overrides{WasmDir: *wasmDir})
	if err != nil {
		return fail(e, err)
	}
	cfg := c.Host()
	cfg.ModulePCR = 0 // listing loads the modules to the side: nothing to measure
	if lf.debug < 0 {
		lf.debug = 0
	}
	log, err := lf.logger(e.stderr, nil)
	if err != nil {
		return fail(e, err)
	}
	ctx := context.Background()
	h, err := host.New(cfg, host.Options{Logger: log, Platform: capability.NewTPMPlatform(nil, capability.TPMPlatformOptions{})})
	if err != nil {
		return fail(e, err)
	}
	defer h.Close(ctx)
	loadErr := h.LoadIMCs(ctx)
	for _, m := range h.List() {
		printModule(e.stdout, m)
	}
	if loadErr != nil {
		return fail(e, loadErr)
	}
	return exitOK
}

func cmdIMCCheck(e *env, args []string) int {
	var lf logFlags
	fs := newFlags(e, "imc check", "imc check [--grants a,b,...] [--sha256 HEX] FILE")
	grants := fs.String("grants", "", "comma-separated host functions the module may import (default: report the imports)")
	sum := fs.String("sha256", "", "the module file's expected SHA-256, hex")
	lf.register(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageErr(e, "imc check", "want exactly one module FILE")
	}
	if lf.debug < 0 {
		lf.debug = 0
	}
	log, err := lf.logger(e.stderr, nil)
	if err != nil {
		return fail(e, err)
	}
	o := host.CheckOptions{SHA256: *sum, Logger: log, Platform: capability.NewTPMPlatform(nil, capability.TPMPlatformOptions{})}
	if *grants != "" {
		o.Grants = strings.Split(*grants, ",")
	}
	m, err := host.Check(context.Background(), fs.Arg(0), o)
	if err != nil {
		return fail(e, err)
	}
	printModule(e.stdout, m)
	fmt.Fprintln(e.stdout, "ok: the module loads under these grants")
	return exitOK
}

func printModule(w io.Writer, m host.ModuleInfo) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "IMC %d\t%q\n", m.ID, m.Name)
	fmt.Fprintf(tw, "  path\t%s (%d bytes)\n", m.Path, m.Size)
	fmt.Fprintf(tw, "  sha256\t%s\n", m.SHA256)
	if m.Signer != "" {
		fmt.Fprintf(tw, "  signer\t%s\n", m.Signer)
	}
	fmt.Fprintf(tw, "  version\t%d\n", m.Version)
	fmt.Fprintf(tw, "  imports\t%s\n", strings.Join(m.Imports, ", "))
	if m.Grants != nil {
		fmt.Fprintf(tw, "  grants\t%s\n", strings.Join(m.Grants, ", "))
	}
	var subs []string
	for _, s := range m.Subscriptions {
		subs = append(subs, fmt.Sprintf("0x%06x/0x%08x", s.Vendor, s.Subtype))
	}
	fmt.Fprintf(tw, "  messages\t%s\n", strings.Join(subs, ", "))
	fmt.Fprintf(tw, "  limits\t%d pages (%d KiB), %v per call\n", m.MemoryPages, m.MemoryPages*64, m.CallTimeout)
	tw.Flush()
}

// akDesc names an AK's key type and signature scheme.
func akDesc(ak *tpmhost.AK) string {
	switch k := ak.Public.(type) {
	case *ecdsa.PublicKey:
		return fmt.Sprintf("ECC %s, %s with %s", k.Curve.Params().Name, ak.SigAlg, ak.HashAlg)
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d, %s with %s", k.N.BitLen(), ak.SigAlg, ak.HashAlg)
	}
	return fmt.Sprintf("%T", ak.Public)
}

func cmdTPMExtend(e *env, args []string) int {
	var lf logFlags
	fs := newFlags(e, "tpm extend", "tpm extend --tpm SPEC FILE")
	spec := fs.String("tpm", "", "TPM emulator: tcp:HOST:PORT (swtpm) or mssim:HOST:PORT")
	lf.register(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || *spec == "" {
		return usageErr(e, "tpm extend", "want --tpm SPEC and one event log FILE (extends the PCRs as firmware would: for TPM simulators)")
	}
	if strings.HasPrefix(*spec, "/dev/") {
		return usageErr(e, "tpm extend", "refusing to extend the PCRs of a real TPM")
	}
	l, err := tpmhost.ReadEventLog(fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	t, code := openTPMFor(e, &lf, *spec)
	if t == nil {
		return code
	}
	defer t.Close()
	n, err := t.ExtendFromLog(l)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "extended %d measurements of %s\n", n, fs.Arg(0))
	return exitOK
}

// openTPMFor opens spec for a tpm subcommand, logging as lf says; on
// failure it returns nil and the exit code.
func openTPMFor(e *env, lf *logFlags, spec string) (*tpmhost.TPM, int) {
	log, err := lf.logger(e.stderr, nil)
	if err != nil {
		return nil, fail(e, err)
	}
	t, err := tpmhost.Open(spec, log)
	if err != nil {
		return nil, fail(e, err)
	}
	return t, exitOK
}
