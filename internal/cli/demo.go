package cli

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tpmhost"
)

// bundledLog is a real boot event log (Ubuntu 21.04 shielded VM, no
// Secure Boot, 105 events extended into the SHA-256 bank).
//
//go:embed defaults/ubuntu_2104_shielded_vm_no_secure_boot_eventlog
var bundledLog []byte

// demoAKHandle is where the demo provisions its Attestation Key.
const demoAKHandle = 0x81010003

func cmdDemo(e *env, args []string, openSim func(hclog.Logger) (*tpmhost.TPM, error)) int {
	var lf logFlags
	fs := newFlags(e, "imchost-demo", "")
	fs.Usage = func() {
		fmt.Fprint(e.stdout, "usage: imchost-demo [--wasm-dir DIR] [--runs N] [--root DIR] [--debug N (default 2)]\n\n"+
			"The demo of `make run`: the in-process TPM simulator gets an Attestation Key and the PCRs of\n"+
			"the bundled boot log, the project's PDP listens on loopback, and imchost attests to it.\n\nflags:\n")
		printDefaults(e.stdout, fs)
	}
	wasmDir := fs.String("wasm-dir", "out/wasm", "directory with imc-os.wasm, imc-attestation.wasm and imc-swima.wasm (make wasm)")
	runs := fs.Int("runs", 2, "attestations to run: the first registers the machine, the next ones are checked against it")
	root := fs.String("root", "", "file-system root of the system facts (default: a demo root with this machine's os-release and IP forwarding off)")
	pdpDebug := fs.Bool("pdp-log", false, "also print the PDP's and its IMVs' log lines")
	lf.register(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *runs < 1 {
		fmt.Fprintln(e.stderr, "imchost-demo: --runs must be at least 1")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := config.Parse(config.Shipped) // the demo runs on the settings the file documents
	if err != nil {
		return fail(e, fmt.Errorf("built-in configuration: %w", err))
	}
	if lf.debug < 0 {
		lf.debug = 2 // the message flow, as in the reference run
	}
	log, err := lf.logger(e.stdout, &cfg.Log)
	if err != nil {
		return fail(e, err)
	}
	d := &demo{e: e, log: log, cfg: cfg, wasmDir: *wasmDir, root: *root, pdpLog: *pdpDebug, openSim: openSim}
	code, err := d.run(ctx, *runs)
	if err != nil {
		return fail(e, err)
	}
	return code
}

// demo holds what one imchost-demo run sets up; close removes all of it.
type demo struct {
	e       *env
	log     hclog.Logger
	cfg     *config.Config
	wasmDir string
	root    string
	pdpLog  bool
	dir     string
	openSim func(hclog.Logger) (*tpmhost.TPM, error) // tpmsim.Open
}

func (d *demo) run(ctx context.Context, runs int) (int, error) {
	for _, m := range d.cfg.IMCs {
		p := filepath.Join(d.wasmDir, filepath.Base(m.Path))
		if _, err := os.Stat(p); err != nil {
			return 0, fmt.Errorf("module %s of IMC %q: %w (build the modules with `make wasm`, or pass --wasm-dir)", p, m.Name, err)
		}
	}
	dir, err := os.MkdirTemp("", "imchost-demo-")
	if err != nil {
		return 0, err
	}
	d.dir = dir
	defer os.RemoveAll(dir)

	logPath := filepath.Join(dir, "binary_bios_measurements")
	if err := os.WriteFile(logPath, bundledLog, 0o600); err != nil {
		return 0, err
	}
	if d.root == "" {
		if d.root, err = demoRoot(filepath.Join(dir, "root")); err != nil {
			return 0, err
		}
	}
	dlog := d.log.Named("dmn")
	dlog.Info(fmt.Sprintf("demo: working directory %s (removed at the end)", dir))

	tpm, err := d.tpm(logPath)
	if err != nil {
		return 0, err
	}
	defer tpm.Close()

	srv, caPath, err := d.pdp()
	if err != nil {
		return 0, err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() {
		srv.Close()
		<-served
	}()

	cfg := d.cfg
	cfg.Apply(config.Overrides{WasmDir: d.wasmDir, TPM: tpmhost.SimulatorSpec, EventLog: logPath,
		Connect: "127.0.0.1", Port: srv.Addr().(*net.TCPAddr).Port, CA: caPath, ServerName: "localhost"})
	cfg.Wasm.Watch = false
	demoSWState(cfg)
	plat := capability.NewTPMPlatform(tpm, capability.TPMPlatformOptions{Root: d.root, EventLogPath: logPath, Logger: d.log.Named("pts")})
	h, err := startHost(ctx, cfg.Host(), plat, d.log, nil, false)
	if err != nil {
		return 0, err
	}
	defer h.Close(context.Background())
	ccfg, err := clientConfig(cfg, nil, false, d.log)
	if err != nil {
		return 0, err
	}
	names := map[uint32]string{}
	for _, m := range h.List() {
		names[m.ID] = m.Name
	}
	client := tnccs.NewClient(ccfg, h)
	code := exitOK
	for i := 1; i <= runs; i++ {
		what := "the PDP checks the boot measurements against what it registered"
		if i == 1 {
			what = "the PDP meets this machine and registers its boot measurements"
		}
		fmt.Fprintf(d.e.stdout, "\n===== attestation %d of %d: %s =====\n", i, runs, what)
		actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		v, err := attest(actx, client, h)
		if err != nil {
			cancel()
			return 0, fmt.Errorf("attestation %d: %w", i, err)
		}
		fmt.Fprintf(d.e.stdout, "\n----- result of attestation %d -----\n", i)
		printVerdict(d.e.stdout, v, names)
		// The PDP's own account: what its IMVs found, in a sentence each.
		if outs, err := srv.WaitOutcomes(actx, i); err == nil && len(outs) >= i {
			for _, r := range outs[i-1].Verdict.Reasons {
				fmt.Fprintf(d.e.stdout, "PDP: %s\n", r)
			}
			for _, v := range outs[i-1].Verdict.IMVs {
				if v.Info != "" {
					fmt.Fprintf(d.e.stdout, "PDP: %s: %s\n", v.IMV, v.Info)
				}
			}
		}
		cancel()
		code = v.exitCode()
	}
	return code, nil
}

// tpm opens the in-process simulator, provisions the demo AK and extends
// the PCRs from the bundled log, as firmware would have during boot.
func (d *demo) tpm(logPath string) (*tpmhost.TPM, error) {
	tlog := d.log.Named("tpm")
	tpm, err := d.openSim(d.log)
	if err != nil {
		return nil, err
	}
	ak, err := tpm.ProvisionAK(demoAKHandle, tpmhost.AKECCP256, true)
	if err != nil {
		tpm.Close()
		return nil, fmt.Errorf("provisioning the demo AK: %w", err)
	}
	tlog.Info(fmt.Sprintf("TPM 2.0 simulator: Attestation Key %s at handle 0x%08x", ak.KeyID, demoAKHandle))
	l, err := tpmhost.ParseEventLog(bundledLog)
	if err != nil {
		tpm.Close()
		return nil, fmt.Errorf("bundled event log: %w", err)
	}
	n, err := tpm.ExtendFromLog(l)
	if err != nil {
		tpm.Close()
		return nil, fmt.Errorf("extending the PCRs from the bundled log: %w", err)
	}
	tlog.Info(fmt.Sprintf("extended the PCRs with the %d measurements of the bundled boot event log", n))
	return tpm, nil
}

// pdp starts the project's PDP on a loopback port with a certificate made
// for the demo; the CA certificate the client trusts is written to the
// demo directory.
func (d *demo) pdp() (*pdp.Server, string, error) {
	cert, _, err := pdp.SelfSignedCertificate(time.Hour, "localhost", "127.0.0.1")
	if err != nil {
		return nil, "", err
	}
	caPath := filepath.Join(d.dir, "pdp-ca.pem")
	if err := os.WriteFile(caPath, pdp.CAPEM(cert), 0o600); err != nil {
		return nil, "", err
	}
	plog := hclog.NewNullLogger()
	if d.pdpLog {
		plog = d.log.Named("pdp")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv, err := pdp.New(pdp.Config{Listener: ln, Certificates: []tls.Certificate{cert},
		DBPath: filepath.Join(d.dir, "pdp.db"), Policy: demoPolicy(), Logger: plog,
		Referral: &pdp.Referral{Host: "localhost", Port: uint16(ln.Addr().(*net.TCPAddr).Port)}})
	if err != nil {
		ln.Close()
		return nil, "", err
	}
	d.log.Named("pdp").Info(fmt.Sprintf("demo PDP listening on %s (PT-TLS, SQLite database in the demo directory)", ln.Addr()))
	return srv, caPath, nil
}

// demoRoot writes the file-system view the OS IMC reads: this machine's
// os-release, boot time and machine ID, with IP forwarding off, so that the
// demo ends the same everywhere (imchost run reads the real system).
func demoRoot(root string) (string, error) {
	copyFirst := func(dst string, srcs ...string) error {
		for _, s := range srcs {
			if b, err := os.ReadFile(s); err == nil {
				return write(filepath.Join(root, dst), b)
			}
		}
		return nil
	}
	if err := copyFirst("etc/os-release", "/etc/os-release", "/usr/lib/os-release"); err != nil {
		return "", err
	}
	if err := copyFirst("proc/stat", "/proc/stat"); err != nil {
		return "", err
	}
	if err := copyFirst("etc/machine-id", "/etc/machine-id"); err != nil {
		return "", err
	}
	// This machine's package databases, for the OS and SWIMA IMCs.
	for _, db := range []string{"var/lib/dpkg/status", "var/lib/rpm/rpmdb.sqlite", "lib/apk/db/installed"} {
		if err := copyFirst(db, "/"+db); err != nil {
			return "", err
		}
	}
	for _, f := range []string{"proc/sys/net/ipv4/ip_forward", "proc/sys/net/ipv6/conf/all/forwarding"} {
		if err := write(filepath.Join(root, f), []byte("0\n")); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/os-release")); err != nil {
		return "", errors.New("demo: this machine has no /etc/os-release")
	}
	return root, nil
}

// demoPolicy is pdp serve's default policy with the SWIMA IMV on: the
// demo's PDP also asks for the software inventory.
func demoPolicy() pdp.Policy {
	p := strictDefaultPolicy()
	p.SWIMA = true
	return p
}

// demoSWState keeps the SWIMA IMC's record of software changes in the
// user's cache directory instead of /var/lib/imchost, so that the next
// `make run` reports the changes since this one.
func demoSWState(cfg *config.Config) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	for i := range cfg.IMCs {
		if _, ok := cfg.IMCs[i].Settings[capability.SettingSWState]; ok {
			cfg.IMCs[i].Settings[capability.SettingSWState] = filepath.Join(dir, "imchost", "demo-state")
		}
	}
}

func write(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
