package tests

// The end-to-end environment: the built IMC modules, a swtpm whose PCRs
// were extended from the bundled boot log, a fixture file-system root, the
// project's PDP on loopback and a host with the shipped [[imc]] entries of
// config.toml.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/internal/tpmtest"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/internal/hosttest"
	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tpmhost"
)

// bundledLog is the boot event log of the reference run (136 events,
// 105 of them extended into PCRs with a SHA-256 digest).
var bundledLog = testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog")

const (
	// akHandle is where the AK lives, as in the reference run.
	akHandle = 0x81010003
	// pdpName is the PDP's certificate name and the PDP-Referral host.
	pdpName = "pdp.test"
	// attemptTimeout bounds one attestation; it is a bound against hangs,
	// never an expectation about speed.
	attemptTimeout = 2 * time.Minute
)

// shipped is config.toml at the repository root: the tests run the IMCs with
// its grants and settings, so that what users get is what is tested.
const shipped = "../config.toml"

// Module names in the module directory.
const (
	osWasm   = "imc-os.wasm"
	attWasm  = "imc-attestation.wasm"
	trapWasm = "imc-trap.wasm"
)

var (
	buildOnce sync.Once
	buildDir  string // our temporary directory, removed by TestMain
	modDir    string // where osWasm and attWasm are
	trapPath  string
	cacheDir  string // the compilation cache directory of the tests and the CLI
	skipWhy   string // why the end-to-end tests cannot run
	compCache wazero.CompilationCache
)

// TestMain removes what prepare built and closes the compilation cache
// after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if compCache != nil {
		compCache.Close(context.Background())
	}
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// prepare finds or builds the modules once per test binary: the OS and
// Attestation IMCs from $IMCHOST_WASM_DIR (`make test` builds them there),
// else built here (skipping the tests when that fails); the trapping vendor
// IMC of testdata/trapimc always here.
func prepare() {
	dir, err := os.MkdirTemp("", "imchost-e2e-")
	if err != nil {
		skipWhy = err.Error()
		return
	}
	buildDir = dir
	modDir = os.Getenv("IMCHOST_WASM_DIR")
	for _, n := range []string{osWasm, attWasm} {
		if _, err := os.Stat(filepath.Join(modDir, n)); modDir == "" || err != nil {
			modDir = ""
		}
	}
	if modDir == "" {
		modDir = dir
		for n, pkg := range map[string]string{osWasm: "../imcs/os", attWasm: "../imcs/attestation"} {
			if err := testutil.BuildWasm(filepath.Join(dir, n), pkg); err != nil {
				skipWhy = "the IMC modules are not in $IMCHOST_WASM_DIR (`make wasm` puts them in out/wasm) and cannot be built: " + err.Error()
				return
			}
		}
	}
	trapPath = filepath.Join(dir, trapWasm)
	if err := testutil.BuildWasm(trapPath, "./testdata/trapimc"); err != nil {
		skipWhy = "the trapping test IMC cannot be built: " + err.Error()
		return
	}
	// One compilation cache for every host of the test binary and the CLI,
	// kept in the user's cache directory (the one sdk/imctest uses for the
	// same modules) so that the next run does not compile again. (Test
	// binaries and the imchost binary see different wazero versions, "dev"
	// and the module's, so each compiles once into its own subdirectory.)
	cacheDir = filepath.Join(dir, "cache")
	if ucd, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(ucd, "imchost", "imctest")
	}
	if compCache, err = wazero.NewCompilationCacheWithDir(cacheDir); err != nil {
		compCache = wazero.NewCompilationCache()
	}
}

// needModules skips the test when the modules are not available.
func needModules(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: runs the wasm IMCs on swtpm against the PDP")
	}
	buildOnce.Do(prepare)
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
}

func testLogger(t testing.TB, name string) hclog.Logger {
	return testutil.Logger(t, name, hclog.Info)
}

// fixtureRoot writes a Debian 12 file-system root for the OS IMC (and the
// Attestation IMC's symlinks) with IPv4 forwarding on or off.
func fixtureRoot(t testing.TB, forwarding bool) string {
	return testutil.Machine{Forwarding: forwarding}.Root(t)
}

// tpmEnv is a swtpm started at locality 3 (as the reference test bed), with
// an ECC P-256 AK at akHandle and its PCRs extended from a boot log.
type tpmEnv struct {
	inst     *swtpm.Instance // nil for the simulator
	tpm      *tpmhost.TPM
	ak       *tpmhost.AK
	log      *tpmhost.EventLog
	logPath  string
	locality uint8 // TPM2_Startup's locality
}

// newTPMEnv starts swtpm and prepares it; the TPM stays open for the test.
func newTPMEnv(t testing.TB, logPath string) *tpmEnv {
	t.Helper()
	inst := swtpm.Start(t, swtpm.WithLocality(3))
	e := &tpmEnv{inst: inst, logPath: logPath, locality: 3}
	e.open(t)
	e.provision(t)
	return e
}

// newSimulatorEnv is newTPMEnv on the in-process TPM simulator (started at
// locality 0; one per process, a second Open waits for the first Close).
func newSimulatorEnv(t testing.TB, logPath string) *tpmEnv {
	t.Helper()
	e := &tpmEnv{tpm: tpmtest.Open(t, tpmtest.Simulator, testLogger(t, "tpm")), logPath: logPath}
	e.provision(t)
	return e
}

// provision makes the AK and extends the PCRs from the log.
func (e *tpmEnv) provision(t testing.TB) {
	t.Helper()
	e.ak, e.log = tpmtest.Provision(t, e.tpm, akHandle, tpmhost.AKECCP256, e.logPath, e.locality)
}

// open connects to the swtpm (one connection at a time).
func (e *tpmEnv) open(t testing.TB) {
	t.Helper()
	tpm, err := tpmhost.Open(e.inst.Spec, testLogger(t, "tpm"))
	if err != nil {
		t.Fatal(err)
	}
	e.tpm = tpm
	t.Cleanup(func() { tpm.Close() })
}

// extend extends the PCRs from the log at path and checks that PCR 0 was
// seeded with the startup locality.
func (e *tpmEnv) extend(t testing.TB, path string) {
	t.Helper()
	e.log = tpmtest.Extend(t, e.tpm, path, e.locality)
}

// release closes the test's TPM connection, so that another process (the
// CLI) can use the swtpm.
func (e *tpmEnv) release() {
	e.tpm.Close()
	e.tpm = nil
}

// reboot power-cycles the swtpm (PCRs reset, persistent AK kept) and sends
// TPM2_Startup(CLEAR) at locality 3 again, as a reboot of the machine does.
func (e *tpmEnv) reboot(t testing.TB) {
	t.Helper()
	e.release()
	const cmdInit = 2 // swtpm control channel CMD_INIT
	rc, _, err := e.inst.Ctrl(cmdInit, make([]byte, 4), 0)
	if err != nil || rc != 0 {
		t.Fatalf("swtpm CMD_INIT: rc 0x%x: %v", rc, err)
	}
	if err := e.inst.SetLocality(3); err != nil {
		t.Fatal(err)
	}
	// TPM2_Startup(TPM_SU_CLEAR): tag TPM_ST_NO_SESSIONS, size 12.
	rsp, err := e.inst.Raw([]byte{0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if rc := binary.BigEndian.Uint32(rsp[6:10]); rc != 0 {
		t.Fatalf("TPM2_Startup after reboot: TPM_RC 0x%x", rc)
	}
	if err := e.inst.SetLocality(0); err != nil {
		t.Fatal(err)
	}
	e.open(t)
}

// platform is the production platform on the TPM with a fixture root.
func (e *tpmEnv) platform(t testing.TB, root string) capability.Platform {
	return capability.NewTPMPlatform(e.tpm, capability.TPMPlatformOptions{Root: root, EventLogPath: e.logPath,
		Logger: testLogger(t, "platform")})
}

// pdpEnv is the project's PDP serving on loopback for one test.
type pdpEnv struct {
	srv   *pdp.Server
	pool  *x509.CertPool
	caPEM string // the CA certificate as a PEM file, for the CLI's --ca
	addr  string
	ln    *killableListener
	// served is closed when Serve has returned, with serveErr.
	served   chan struct{}
	serveErr error
}

// startPDP starts a PDP with cfg (certificate, address, database, logger,
// referral and listener filled in when unset) and stops it in t.Cleanup.
func startPDP(t testing.TB, cfg pdp.Config) *pdpEnv {
	t.Helper()
	return startPDPAs(t, cfg, pdpCert(t, pdpName, "127.0.0.1"))
}

// pdpIdentity is a PDP's certificate and the CA a client must trust for it.
type pdpIdentity struct {
	cert  tls.Certificate
	pool  *x509.CertPool
	caPEM string // the CA certificate as a PEM file
}

// pdpCert makes a self-signed certificate for names.
func pdpCert(t testing.TB, names ...string) pdpIdentity {
	t.Helper()
	cert, pool, err := pdp.SelfSignedCertificate(time.Hour, names...)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := filepath.Join(t.TempDir(), "pdp-ca.pem")
	if err := os.WriteFile(caPEM, pdp.CAPEM(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return pdpIdentity{cert: cert, pool: pool, caPEM: caPEM}
}

// startPDPAs is startPDP with the given identity (PDPs that refer clients
// to each other share one).
func startPDPAs(t testing.TB, cfg pdp.Config, id pdpIdentity) *pdpEnv {
	t.Helper()
	cert, pool, caPEM := id.cert, id.pool, id.caPEM
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	kl := &killableListener{Listener: ln}
	cfg.Listener = kl
	cfg.Certificates = []tls.Certificate{cert}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t, "pdp")
	}
	if cfg.DBPath == "" && cfg.Store == nil {
		cfg.DBPath = filepath.Join(t.TempDir(), "pdp.db")
	}
	srv, err := pdp.New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	p := &pdpEnv{srv: srv, pool: pool, caPEM: caPEM, addr: ln.Addr().String(), ln: kl, served: make(chan struct{})}
	go func() {
		p.serveErr = srv.Serve(context.Background())
		close(p.served)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-p.served
		if p.serveErr != nil && !kl.killed() {
			t.Errorf("PDP Serve: %v", p.serveErr)
		}
	})
	return p
}

// killableListener lets a test kill the PDP the hard way: the listener and
// every accepted TCP connection closed at once, with a reset instead of a
// TLS close_notify, as when the PDP process dies.
type killableListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

// Accept implements net.Listener.
func (l *killableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns = append(l.conns, c)
	return c, nil
}

func (l *killableListener) kill() {
	l.mu.Lock()
	l.dead = true
	conns := l.conns
	l.conns = nil
	l.mu.Unlock()
	l.Listener.Close()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

func (l *killableListener) killed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dead
}

// imcConfigs returns the shipped [[imc]] entries of config.toml for the OS
// and Attestation IMCs, with the module paths of this test binary and the
// Attestation IMC's boot log.
func imcConfigs(t testing.TB, eventLog string) []host.IMCConfig {
	t.Helper()
	cfg, err := config.Load(shipped, config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	var out []host.IMCConfig
	for _, c := range cfg.Host().IMCs {
		s := host.Settings{}
		for k, v := range c.Settings {
			s[k] = v
		}
		c.Settings = s
		switch c.Name {
		case "OS":
			c.Path = filepath.Join(modDir, osWasm)
		case "Attestation":
			c.Path = filepath.Join(modDir, attWasm)
			c.Settings["eventlog"] = eventLog
		default:
			continue
		}
		out = append(out, c)
	}
	if len(out) != 2 || out[0].Name != "OS" || out[1].Name != "Attestation" {
		t.Fatalf("%s: want the OS and Attestation IMCs, in that order, got %d entries", shipped, len(out))
	}
	return out
}

// trapIMC is the trapping vendor IMC's configuration.
func trapIMC(where string) host.IMCConfig {
	return host.IMCConfig{Name: "Trap", Path: trapPath, Grants: host.BaseGrants,
		Settings: host.Settings{"trap_in": where}}
}

// newHost loads the IMCs in a host on the platform and closes it in
// t.Cleanup.
func newHost(t testing.TB, p capability.Platform, imcs []host.IMCConfig) *host.Host {
	t.Helper()
	return newHostConfig(t, p, &host.Config{IMCs: imcs})
}

func newHostConfig(t testing.TB, p capability.Platform, cfg *host.Config) *host.Host {
	t.Helper()
	return hosttest.Start(t, cfg, host.Options{Logger: testLogger(t, ""), Platform: p, CompilationCache: compCache})
}

// attest runs one assessment of the host's IMCs against the PDP over
// PT-TLS; every batch is recorded in rec (when not nil) and handed to
// onBatch (when not nil) after that.
func attest(ctx context.Context, t testing.TB, p *pdpEnv, imcs tnccs.IMCs, rec *recorder) (*tnccs.Result, error) {
	cfg := tnccs.ClientConfig{Addr: p.addr}
	cfg.PTTLS.RootCAs, cfg.PTTLS.ServerName = p.pool, pdpName
	cfg.Logger = testLogger(t, "")
	if rec != nil {
		cfg.OnBatch = rec.observe
	}
	return tnccs.Dial(ctx, cfg, imcs)
}

// attestOK runs one assessment that must end with a decision, and returns
// the client's result and the PDP's outcome for it (the n-th outcome).
func attestOK(t testing.TB, p *pdpEnv, imcs tnccs.IMCs, rec *recorder, n int) (*tnccs.Result, pdp.Outcome) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	res, err := attest(ctx, t, p, imcs, rec)
	if err != nil {
		t.Fatalf("attestation %d: %v (result %+v)", n, err, res)
	}
	if !res.Decided {
		t.Fatalf("attestation %d: no decision: %+v", n, res)
	}
	outs, err := p.srv.WaitOutcomes(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return res, outs[n-1]
}

// reasonTexts are the PB-Reason-String texts of a result.
func reasonTexts(res *tnccs.Result) []string {
	var out []string
	for _, r := range res.Reasons {
		out = append(out, r.Text)
	}
	return out
}

// imchostGoroutines returns the stacks of the goroutines whose stack
// contains one of match (e.g. "imchost/tnccs").
func imchostGoroutines(match ...string) []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		for _, m := range match {
			if strings.Contains(s, m) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// noGoroutines waits until no goroutine runs code matching one of match;
// it fails with their stacks if some are still there after a generous
// bound (a leak, not a slow exit).
func noGoroutines(t testing.TB, match ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := imchostGoroutines(match...)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left behind:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
