package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/tnccs/pttls"
	"github.com/imchost/imchost/tpmhost"
)

// finding is one line of `imchost check`: what was checked, and when it
// failed, why and what to do about it.
type finding struct {
	what   string // "config /etc/imchost/config.toml", "AK 0x81010003 (IMC \"OS\")"
	detail string // on success: what was found
	err    error  // nil: OK
	fix    string // on failure: what a person can do
}

// checkFlags are imchost check's flags: the subset of imchost run's that
// name what the local part and the dial use.
type checkFlags struct {
	runFlags
	noPDP bool
}

func cmdCheck(e *env, args []string) int {
	var f checkFlags
	fs := newFlags(e, "check", "check [--config FILE] [--tpm SPEC] [-c HOST] [--no-pdp] [flags]")
	fs.StringVar(&f.config, "config", "", "config.toml to check (default ./config.toml, else /etc/imchost/config.toml)")
	fs.StringVar(&f.wasmDir, "wasm-dir", "", "load each [[imc]] module by its file name from this directory")
	fs.StringVar(&f.tpm, "tpm", "", "TPM: /dev/tpmrm0, tcp:HOST:PORT (swtpm), mssim:HOST:PORT or none ([tpm] device)")
	fs.StringVar(&f.eventlog, "eventlog", "", "boot event log file ([tpm] eventlog)")
	fs.StringVar(&f.connect, "connect", "", "PDP host name or address ([pdp] host)")
	fs.StringVar(&f.connect, "c", "", "PDP host name or address ([pdp] host)")
	fs.IntVar(&f.port, "port", 0, "PDP PT-TLS port ([pdp] port, else 271)")
	fs.IntVar(&f.port, "p", 0, "PDP PT-TLS port ([pdp] port, else 271)")
	fs.StringVar(&f.ca, "ca", "", "PEM CA certificate that issued the PDP's certificate ([pdp] ca)")
	fs.StringVar(&f.serverName, "server-name", "", "name the PDP certificate must carry (default: the host)")
	fs.Var(&f.certs, "cert", "a `FILE` of PEM certificates to trust, repeatable; with --key, the one matching it is the client certificate (as imchost run)")
	fs.StringVar(&f.key, "key", "", "client private key, PEM ([pdp] key)")
	fs.StringVar(&f.client, "client", "", "SASL PLAIN user name ([pdp] client)")
	fs.StringVar(&f.secretFile, "secret-file", "", "read the SASL PLAIN password from this file ([pdp] secret_file)")
	fs.DurationVar(&f.timeout, "timeout", 15*time.Second, "bound of the PDP check")
	fs.BoolVar(&f.noPDP, "no-pdp", false, "check only this endpoint, do not dial the PDP")
	f.logFlags.register(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr(e, "check", fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if code, ok := f.checkUsage(e, fs); !ok {
		return code
	}
	if f.debug < 0 {
		f.debug = 0 // warnings and errors: a module says why it refused its settings
	}
	log, err := f.logger(e.stderr, nil)
	if err != nil {
		return usageErr(e, "check", err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout+2*time.Minute)
	defer cancel()
	failed := 0
	report := func(fd finding) {
		printFinding(e.stdout, fd)
		if fd.err != nil {
			failed++
		}
	}

	cfg, err := loadConfig(f.config, f.overrides())
	if err != nil {
		report(finding{what: "config", err: err, fix: "pass --config FILE, or correct the file (config.toml in the package documents every setting)"})
		return exitError
	}
	report(finding{what: "config " + cfg.Path, detail: fmt.Sprintf("%d IMCs, TPM %s, PDP %s:%d", len(cfg.IMCs), cfg.TPM.Device, cfg.PDP.Host, cfg.PDP.Port)})

	tpm, fd := checkTPM(cfg, log)
	report(fd)
	if tpm != nil {
		defer tpm.Close()
	}
	plat := capability.NewTPMPlatform(tpm, capability.TPMPlatformOptions{EventLogPath: cfg.TPM.EventLog, Logger: log.Named("pts")})
	for _, fd := range checkModules(ctx, cfg, plat, log) {
		report(fd)
	}
	for _, fd := range checkTPMUse(cfg, boundTPM(ctx, tpm, tpmCheckTimeout), true) {
		report(fd)
	}
	if !f.noPDP {
		report(checkPDP(ctx, cfg, &ptlsCreds{certs: f.certs}, f.timeout, log))
	}
	if failed > 0 {
		fmt.Fprintf(e.stdout, "%d of the checks failed\n", failed)
		return exitError
	}
	fmt.Fprintln(e.stdout, "all checks passed")
	return exitOK
}

// printFinding writes "OK   what: detail" or "FAIL what: error" with the
// fix on the next line.
func printFinding(w io.Writer, fd finding) {
	if fd.err == nil {
		if fd.detail != "" {
			fmt.Fprintf(w, "OK   %s: %s\n", fd.what, fd.detail)
		} else {
			fmt.Fprintf(w, "OK   %s\n", fd.what)
		}
		return
	}
	fmt.Fprintf(w, "FAIL %s: %v\n", fd.what, fd.err)
	if fd.fix != "" {
		fmt.Fprintf(w, "     fix: %s\n", fd.fix)
	}
}

// checkTPM opens the configured TPM.
func checkTPM(cfg *config.Config, log hclog.Logger) (*tpmhost.TPM, finding) {
	spec := cfg.TPM.Device
	if spec == "" {
		spec = "/dev/tpmrm0"
	}
	fd := finding{what: "TPM " + spec}
	if spec == "none" {
		if needsTPM(cfg) {
			fd.err = errors.New("no TPM configured, but IMCs are granted TPM functions")
			fd.fix = "set [tpm] device (/dev/tpmrm0) or --tpm SPEC"
		} else {
			fd.detail = "none configured"
		}
		return nil, fd
	}
	t, err := openTPM(spec, log)
	if err != nil {
		fd.err = err
		fd.fix = tpmFix(spec, err)
		return nil, fd
	}
	ctx, cancel := context.WithTimeout(context.Background(), tpmCheckTimeout)
	defer cancel()
	if v, err := t.WithContext(ctx).VersionInfo(); err == nil {
		fd.detail = fmt.Sprintf("TPM %s, %s firmware %d.%d", v.Family, v.Manufacturer, v.FirmwareVersion>>48, v.FirmwareVersion>>32&0xffff)
	}
	return t, fd
}

// tpmFix says what to do when the TPM cannot be opened.
func tpmFix(spec string, err error) string {
	switch {
	case errors.Is(err, tpmhost.ErrPermission):
		return fmt.Sprintf("%s must be readable and writable by this user: add it to group tss (usermod -aG tss USER), or run the imchost service", spec)
	case strings.HasPrefix(spec, "tcp:") || strings.HasPrefix(spec, "mssim:"):
		return "is the TPM emulator running and listening there? (swtpm socket --tpm2 --server type=tcp,port=PORT ...)"
	case errors.Is(err, tpmhost.ErrNoDevice) || strings.HasPrefix(spec, "/dev/"):
		return "no TPM device: enable the TPM in the firmware, load tpm_crb/tpm_tis, or point [tpm] device at swtpm (tcp:HOST:PORT)"
	default:
		return "is the TPM emulator running and listening there? (swtpm socket --tpm2 --server type=tcp,port=PORT ...)"
	}
}

// needsTPM reports whether an IMC is granted a TPM host function.
func needsTPM(cfg *config.Config) bool {
	for _, m := range cfg.IMCs {
		for _, g := range m.Grants {
			if strings.HasPrefix(g, "tpm_") {
				return true
			}
		}
	}
	return false
}

// checkModules loads every configured module as the host would (pin,
// ABI, imports against grants, imc_initialize with its settings), one
// finding each.
func checkModules(ctx context.Context, cfg *config.Config, plat capability.Platform, log hclog.Logger) []finding {
	var out []finding
	for _, m := range cfg.IMCs {
		fd := finding{what: fmt.Sprintf("IMC %q %s", m.Name, m.Path)}
		info, err := host.Check(ctx, m.Path, host.CheckOptions{
			Name: m.Name, Grants: m.Grants, SHA256: m.SHA256, Settings: host.Settings(m.Settings),
			Platform: plat, Logger: log, CacheDir: cfg.Wasm.CacheDir,
		})
		if err != nil {
			fd.err = err
			fd.fix = moduleFix(m, err)
		} else {
			fd.detail = fmt.Sprintf("sha256 %s, ABI v%d, %d imports within the grants", short(info.SHA256), info.Version, len(info.Imports))
		}
		out = append(out, fd)
	}
	if len(cfg.IMCs) == 0 {
		out = append(out, finding{what: "IMCs", err: fmt.Errorf("none configured in %s", cfg.Path), fix: "list the modules as [[imc]] entries"})
	}
	return out
}

// moduleFix says what to do about a refused module.
func moduleFix(m config.IMC, err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "install the module there, correct [[imc]] path, or pass --wasm-dir DIR"
	case errors.Is(err, os.ErrPermission):
		return "the module file must be readable by this user"
	case strings.Contains(msg, "sha256"):
		return "the file is not the one pinned: reinstall it, or pin the new file's hash (imchost imc list shows it)"
	case strings.Contains(msg, "grant") || strings.Contains(msg, "import"):
		return "grant the host functions it needs in [[imc]] grants, or use a module that needs fewer"
	case strings.Contains(msg, "initiali"):
		return "the module refused to start: its error lines above say why (a setting of [imc.settings] out of range, a system fact it cannot read)"
	}
	return "check the module with imchost imc check --grants ... FILE"
}

// short abbreviates a hex digest.
func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// handleSettings are the IMC settings that name an AK by persistent
// handle (the Attestation IMC's aik_handle, the OS IMC's device_handle).
var handleSettings = []string{"aik_handle", "device_handle"}

// checkTPMUse checks what the IMCs will ask of the TPM and the event log:
// every configured AK handle holds a quoting key, the event log is
// readable and parses, and (withReplay) its replay matches the TPM's
// PCRs. t may be nil (no TPM: the handles are only parsed).
func checkTPMUse(cfg *config.Config, t *tpmhost.TPM, withReplay bool) []finding {
	var out []finding
	seen := map[uint32]bool{}
	for _, m := range cfg.IMCs {
		for _, key := range handleSettings {
			v, ok := m.Settings[key]
			if !ok || v == "" {
				continue
			}
			fd := finding{what: fmt.Sprintf("AK %s (IMC %q %s)", v, m.Name, key)}
			h, err := parseHandle(v)
			if err != nil {
				fd.err = err
				fd.fix = fmt.Sprintf("set %s to the persistent handle of the AK, e.g. \"0x81010003\"", key)
				out = append(out, fd)
				continue
			}
			if t == nil || seen[h] {
				continue
			}
			seen[h] = true
			ak, err := t.LoadAK(h)
			switch {
			case err == nil:
				fd.detail = fmt.Sprintf("%s, keyid %s", akDesc(ak), ak.KeyID)
			case errors.Is(err, tpmhost.ErrWrongKeyType):
				fd.err = err
				fd.fix = fmt.Sprintf("the key at %s cannot quote: create a restricted signing key there with imchost tpm provision-ak --handle %s --replace", v, v)
			case errors.Is(err, tpmhost.ErrTransport):
				fd.err = err
				fd.fix = "the TPM does not answer, so the key could not be looked at: check that the TPM (or swtpm) runs and answers"
			default:
				fd.err = err
				fd.fix = fmt.Sprintf("provision one: imchost tpm provision-ak --handle %s", v)
			}
			out = append(out, fd)
		}
	}
	paths := map[string]bool{}
	for _, m := range cfg.IMCs {
		if !slices.Contains(m.Grants, abi.FnEventLog) {
			continue
		}
		path := cfg.TPM.EventLog
		if p := m.Settings["eventlog"]; p != "" {
			path = p // the Attestation IMC's own eventlog setting wins
		}
		if paths[path] {
			continue
		}
		paths[path] = true
		fd := finding{what: "event log " + path}
		l, err := tpmhost.ReadEventLog(path)
		if err != nil {
			fd.err = err
			fd.fix = fmt.Sprintf("IMC %q reports this file: set [tpm] eventlog (or its eventlog setting) to the boot event log, readable by this user (securityfs mounted; the unit's ReadOnlyPaths)", m.Name)
			out = append(out, fd)
			continue
		}
		fd.detail = fmt.Sprintf("%d events, banks %s", len(l.Events), algList(l.Banks))
		out = append(out, fd)
		if withReplay && t != nil {
			out = append(out, checkReplay(l, t))
		}
	}
	return out
}

// checkReplay replays the log in the bank the TPM and the log share
// (sha256 first) from the startup locality PCR 0 shows, and compares
// every PCR it touches with the TPM's.
func checkReplay(l *tpmhost.EventLog, t *tpmhost.TPM) finding {
	fd := finding{what: "event log replay against the TPM's PCRs"}
	tpmBanks, err := t.AllocatedBanks()
	if err != nil {
		fd.err = err
		fd.fix = "the TPM does not answer TPM2_GetCapability: see imchost tpm info"
		return fd
	}
	var bank tpmhost.Alg
	for _, b := range append([]tpmhost.Alg{tpmhost.AlgSHA256}, l.Banks...) {
		if slices.Contains(l.Banks, b) && slices.Contains(tpmBanks, b) {
			bank = b
			break
		}
	}
	if bank == 0 {
		fd.err = fmt.Errorf("the log's banks (%s) are not among the TPM's (%s)", algList(l.Banks), algList(tpmBanks))
		fd.fix = "the log is not this machine's: check [tpm] eventlog and [tpm] device"
		return fd
	}
	loc, _, err := t.StartupLocality(l, bank)
	if err != nil {
		fd.err = err
		return fd
	}
	r, err := l.ReplayLocality(bank, loc)
	if err != nil {
		fd.err = err
		return fd
	}
	mm, quirks, err := t.CheckReplay(l, r)
	if err != nil {
		fd.err = err
		return fd
	}
	if len(mm) > 0 {
		var pcrs []string
		for _, m := range mm {
			pcrs = append(pcrs, fmt.Sprint(m.PCR))
		}
		fd.err = fmt.Errorf("%s PCR %s differ from the replay", bank, strings.Join(pcrs, ", "))
		fd.fix = "the log does not describe this TPM's boot ([tpm] eventlog or [tpm] device is another machine's, or the firmware's log is incomplete): the PDP will refuse the quote"
		return fd
	}
	fd.detail = fmt.Sprintf("%s, %d PCRs match (startup locality %d", bank, len(r.Indices()), loc)
	if len(quirks) > 0 {
		fd.detail += fmt.Sprintf(", %d known firmware quirks", len(quirks))
	}
	fd.detail += ")"
	return fd
}

// checkPDP dials the PDP as imchost run would — TCP, TLS with the PDP's
// certificate verified, PT-TLS version negotiation, client authentication
// — and hangs up before any assessment.
func checkPDP(ctx context.Context, cfg *config.Config, creds *ptlsCreds, timeout time.Duration, log hclog.Logger) finding {
	ccfg, err := clientConfig(cfg, creds, false, log)
	fd := finding{what: "PDP"}
	if err != nil {
		fd.err = err
		fd.fix = "set [pdp] host, ca and the credentials, or pass --connect, --ca, --client/--secret-file or --cert/--key"
		return fd
	}
	fd.what = "PDP " + ccfg.Addr
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := pttls.Dial(ctx, ccfg.Addr, ccfg.PTTLS)
	if err != nil {
		fd.err = pdpError(ctx, err, timeout)
		fd.fix = pdpFix(err)
		return fd
	}
	c.Close()
	fd.detail = "TLS verified, PT-TLS version 1 negotiated"
	if ccfg.PTTLS.Username != "" {
		fd.detail += ", SASL PLAIN as " + ccfg.PTTLS.Username + " accepted"
	} else if len(ccfg.PTTLS.CertPEM) > 0 {
		fd.detail += ", client certificate presented"
	}
	return fd
}

// pdpFix says what to do when the PDP cannot be reached.
func pdpFix(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "certificate"):
		return "[pdp] ca must be the CA that issued the PDP's certificate, and [pdp] host (or server_name) a name in it"
	case strings.Contains(msg, "refused") && strings.Contains(msg, "connect"):
		return "nothing listens there: check [pdp] host and port (PT-TLS is port 271) and that the PDP runs"
	case strings.Contains(msg, "SASL") || strings.Contains(msg, "user") || strings.Contains(msg, "password"):
		return "check [pdp] client and secret_file (or --client, --secret-file) against the PDP's users"
	}
	return "check [pdp] host and port, the firewall and the PDP's log"
}

// pdpError words a dial that ran out of time as a person would.
func pdpError(ctx context.Context, err error, timeout time.Duration) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the PDP did not answer within %s", timeout)
	}
	return err
}

// tpmCheckTimeout bounds the TPM commands of one check, so that a TPM that
// does not answer is reported as such instead of holding the check for the
// TPM's default two minutes.
const tpmCheckTimeout = 10 * time.Second

// boundTPM is t (nil stays nil) with its commands ending by ctx or after d,
// whichever is first; the timer ends with ctx.
func boundTPM(ctx context.Context, t *tpmhost.TPM, d time.Duration) *tpmhost.TPM {
	if t == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	context.AfterFunc(ctx, cancel)
	return t.WithContext(ctx)
}

// preflight is the part of `imchost check` imchost run does before it
// dials, after the modules loaded (a refused module already stopped it):
// every AK handle holds a quoting key and the event log is readable and
// parses. It returns the failures. The TPM has the modules' call_timeout
// to answer, as in the host functions.
func preflight(ctx context.Context, cfg *config.Config, t *tpmhost.TPM) []finding {
	var out []finding
	for _, fd := range checkTPMUse(cfg, boundTPM(ctx, t, time.Duration(cfg.Wasm.CallTimeout)), false) {
		if fd.err != nil {
			out = append(out, fd)
		}
	}
	return out
}
