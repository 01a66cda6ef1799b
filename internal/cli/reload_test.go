package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tpmhost"
	"github.com/imchost/imchost/tpmhost/tpmsim"
)

// reloadEnv is what every row of TestReloadKeys shares: the in-process TPM
// simulator with the demo AK and the PCRs of the bundled boot log, the
// built OS and Attestation modules, and three real PDPs on loopback (A, B
// on another port, C on 127.0.0.2 at A's port) that take SASL PLAIN users
// alice and bob (password "pw") or a client certificate of clientCA.
type reloadEnv struct {
	dir, wasmDir, logPath, root string
	tpm                         *tpmhost.TPM
	a, b, c                     *pdp.Server
	caPath, otherCAPath         string // the PDPs' CA, and one that issued nothing they present
	clientCA, otherCA           *testutil.CA
	cert                        tls.Certificate // the PDPs' (localhost, 127.0.0.1, 127.0.0.2)
}

func newReloadEnv(t *testing.T) *reloadEnv {
	t.Helper()
	wasmDir := os.Getenv("IMCHOST_WASM_DIR")
	if wasmDir == "" {
		wasmDir = "../../out/wasm"
	}
	if _, err := os.Stat(filepath.Join(wasmDir, "imc-attestation.wasm")); err != nil {
		t.Skipf("no built modules in %s (make wasm): %v", wasmDir, err)
	}
	wasmDir, _ = filepath.Abs(wasmDir)
	dir := t.TempDir()
	r := &reloadEnv{dir: dir, wasmDir: wasmDir, logPath: filepath.Join(dir, "binary_bios_measurements")}
	if err := os.WriteFile(r.logPath, bundledLog, 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if r.root, err = demoRoot(filepath.Join(dir, "root")); err != nil {
		t.Fatal(err)
	}
	d := &demo{log: hclog.NewNullLogger(), openSim: tpmsim.Open}
	if r.tpm, err = d.tpm(r.logPath); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.tpm.Close() })

	serverCA := testutil.NewCA(t, "PDP CA", testutil.ECDSA)
	r.caPath = serverCA.WriteFile(t, dir, "pdp-ca")
	r.otherCAPath = testutil.NewCA(t, "Other CA", testutil.ECDSA).WriteFile(t, dir, "other-ca")
	r.clientCA = testutil.NewCA(t, "Client CA", testutil.ECDSA)
	r.otherCA = testutil.NewCA(t, "Untrusted client CA", testutil.ECDSA)
	r.cert = serverCA.Issue(t, "localhost", testutil.ECDSA, []string{"localhost", "127.0.0.1", "127.0.0.2"}, x509.ExtKeyUsageServerAuth).TLS()
	lnC, lnA := listenPair(t)
	pol := strictDefaultPolicy()
	r.a, r.c = r.startPDP(t, lnA, dir, "a", pol), r.startPDP(t, lnC, dir, "c", pol)
	r.b = r.startPDP(t, nil, dir, "b", pol)
	return r
}

// startPDP starts a PDP with policy pol on ln (nil: a new port on
// 127.0.0.1), its database in dir, until t ends: it presents r.cert and
// takes alice and bob (password "pw") or a certificate of r.clientCA.
func (r *reloadEnv) startPDP(t *testing.T, ln net.Listener, dir, name string, pol pdp.Policy) *pdp.Server {
	t.Helper()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := pdp.New(pdp.Config{Listener: ln, Certificates: []tls.Certificate{r.cert},
		DBPath: filepath.Join(dir, name+".db"), Policy: pol, Logger: hclog.NewNullLogger(),
		Users: map[string]string{"alice": "pw", "bob": "pw"}, ClientCAs: r.clientCA.Pool()})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background()) }()
	t.Cleanup(func() { srv.Close(); <-served })
	return srv
}

// listenPair listens on 127.0.0.2 and on 127.0.0.1 at the same port (a
// [pdp] host change alone then reaches another PDP).
func listenPair(t *testing.T) (on2, on1 net.Listener) {
	t.Helper()
	for range 20 {
		l2, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skipf("no 127.0.0.2 on this machine: %v", err)
		}
		l1, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(l2.Addr().(*net.TCPAddr).Port)))
		if err == nil {
			return l2, l1
		}
		l2.Close()
	}
	t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2")
	return nil, nil
}

func port(s *pdp.Server) string { return strconv.Itoa(s.Addr().(*net.TCPAddr).Port) }

// keys are a config.toml's values by "table.key" ("imc.NAME.key",
// "imc.NAME.settings.key" for an IMC; the value "-" for "imc.NAME" leaves
// the IMC out). Values are TOML literals; "" leaves the key out.
type keys map[string]string

// base is the configuration every row starts from, before its own changes:
// PDP A, user alice, the bundled boot log, both shipped IMCs with their
// shipped grants and settings, log level debug (the batch sizes).
func (r *reloadEnv) base() keys {
	shipped, err := config.Parse(config.Shipped)
	if err != nil {
		panic(err)
	}
	k := keys{
		"log.level": `"debug"`, "log.format": `"text"`,
		"tpm.device": `"none"`, "tpm.eventlog": strconv.Quote(r.logPath),
		"pdp.host": `"127.0.0.1"`, "pdp.port": port(r.a), "pdp.ca": strconv.Quote(r.caPath),
		"pdp.server_name": `"localhost"`, "pdp.client": `"alice"`, "pdp.secret": `"pw"`,
		"wasm.cache_dir": strconv.Quote(testCacheDir(r.dir)), "wasm.watch": "false",
	}
	for _, m := range shipped.IMCs {
		p := "imc." + m.Name + "."
		k["imc."+m.Name] = "+"
		k[p+"path"] = strconv.Quote(filepath.Join(r.wasmDir, filepath.Base(m.Path)))
		k[p+"grants"] = tomlList(m.Grants)
		for s, v := range m.Settings {
			k[p+"settings."+s] = strconv.Quote(v)
		}
	}
	return k
}

// testCacheDir is the compilation cache the reload tests share: kept under
// the user's cache directory (as host's tests keep theirs), so that the
// modules are compiled once, not once per test; dir's when there is none.
func testCacheDir(dir string) string {
	if ucd, err := os.UserCacheDir(); err == nil {
		return filepath.Join(ucd, "imchost", "cli-reload-test")
	}
	return filepath.Join(dir, "cache")
}

func tomlList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// toml writes k as config.toml: the tables, then the IMCs (OS first).
func (k keys) toml() string {
	var b strings.Builder
	for _, table := range []string{"log", "tpm", "pdp", "tnccs", "wasm"} {
		fmt.Fprintf(&b, "[%s]\n", table)
		for _, name := range keyNames(k, table+".") {
			fmt.Fprintf(&b, "%s = %s\n", name, k[table+"."+name])
		}
	}
	for _, imc := range []string{"OS", "Attestation", "Hello"} {
		if k["imc."+imc] != "+" {
			continue
		}
		fmt.Fprintf(&b, "\n[[imc]]\nname = %q\n", imc)
		p := "imc." + imc + "."
		for _, name := range keyNames(k, p) {
			if !strings.HasPrefix(name, "settings.") {
				fmt.Fprintf(&b, "%s = %s\n", name, k[p+name])
			}
		}
		b.WriteString("[imc.settings]\n")
		for _, name := range keyNames(k, p+"settings.") {
			fmt.Fprintf(&b, "%s = %s\n", name, k[p+"settings."+name])
		}
	}
	return b.String()
}

func keyNames(k keys, prefix string) []string {
	var out []string
	for name, v := range k {
		if rest, ok := strings.CutPrefix(name, prefix); ok && v != "" {
			out = append(out, rest)
		}
	}
	slices.Sort(out)
	return out
}

// reloadRun is one row's imchost run: its agent built as cmdRun builds it
// (newAgent), kept loaded as with --keep-loaded; out and logs are its
// stdout and its log lines.
type reloadRun struct {
	t         *testing.T
	env       *reloadEnv
	f         *runFlags
	live      *liveConfig
	log       hclog.Logger
	out, logs *testutil.SyncBuffer
	path      string
	reloadErr error
}

func (r *reloadEnv) start(t *testing.T, k keys) *reloadRun {
	t.Helper()
	rr := &reloadRun{t: t, env: r, f: &runFlags{timeout: 2 * time.Minute}, out: &testutil.SyncBuffer{}, logs: &testutil.SyncBuffer{},
		path: filepath.Join(t.TempDir(), "config.toml")}
	rr.f.debug = -1
	rr.write(k)
	cfg, err := loadConfig(rr.path, rr.f.overrides())
	if err != nil {
		t.Fatal(err)
	}
	if rr.log, err = rr.f.logger(rr.logs, &cfg.Log); err != nil {
		t.Fatal(err)
	}
	creds := &ptlsCreds{}
	ccfg, err := clientConfig(cfg, creds, false, rr.log)
	if err != nil {
		t.Fatal(err)
	}
	plat := capability.NewTPMPlatform(r.tpm, capability.TPMPlatformOptions{Root: r.root, EventLogPath: cfg.TPM.EventLog, Logger: rr.log.Named("pts")})
	ctx := context.Background()
	if rr.live, err = newAgent(ctx, rr.f, cfg, creds, ccfg, plat, rr.log); err != nil {
		t.Fatalf("%v\n%s", err, rr.logs)
	}
	t.Cleanup(func() { rr.live.host.Close(context.Background()) })
	return rr
}

func (rr *reloadRun) write(k keys) {
	rr.t.Helper()
	if err := os.WriteFile(rr.path, []byte(k.toml()), 0o600); err != nil {
		rr.t.Fatal(err)
	}
}

// attest runs one attestation the way imchost run's loop does, with the
// configuration in force; it returns the exit code.
func (rr *reloadRun) attest() int {
	rr.t.Helper()
	rr.out.Reset()
	return attestLoop(context.Background(), &env{stdout: rr.out, stderr: rr.out}, rr.f, rr.live, rr.live.host, rr.log)
}

// compliant attests and fails the test unless the verdict is compliant.
func (rr *reloadRun) compliant() {
	rr.t.Helper()
	if code := rr.attest(); code != exitOK || !strings.Contains(rr.out.String(), "overall: compliant, Access Allowed") {
		rr.t.Fatalf("attestation: exit %d\n%s\nlog:\n%s", code, rr.out, tail(rr.logs.String(), 40))
	}
}

func (rr *reloadRun) list() []host.ModuleInfo {
	rr.live.host.mu.Lock()
	defer rr.live.host.mu.Unlock()
	return rr.live.host.h.List()
}

func (rr *reloadRun) module(name string) host.ModuleInfo {
	rr.t.Helper()
	for _, m := range rr.list() {
		if m.Name == name {
			return m
		}
	}
	rr.t.Fatalf("no IMC %q loaded: %+v", name, rr.list())
	return host.ModuleInfo{}
}

// cfgWarnings are the [CFG] warning lines logged since the last Reset.
func (rr *reloadRun) cfgWarnings() []string {
	var warn []string
	for _, l := range strings.Split(rr.logs.String(), "\n") {
		if strings.HasPrefix(l, "[CFG] warning: ") {
			warn = append(warn, l)
		}
	}
	return warn
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

var batchSize = regexp.MustCompile(`sending PB-TNC CDATA batch \((\d+) bytes\)`)

// largestBatch is the largest CDATA batch the client logged.
func largestBatch(logs string) int {
	n := 0
	for _, m := range batchSize.FindAllStringSubmatch(logs, -1) {
		v, _ := strconv.Atoi(m[1])
		n = max(n, v)
	}
	return n
}

func outcomes(s *pdp.Server) int { return len(s.Outcomes()) }

// reached reports whether s has recorded n outcomes (it records one
// after the client has its result: waited for, up to 10 s).
func reached(s *pdp.Server, n int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.WaitOutcomes(ctx, n)
	return err == nil
}

// TestReloadKeys: for each key a reload may change, a row writes
// config.toml with the key's old value, starts imchost run's agent on it
// (newAgent, as cmdRun), writes the new value, reloads (liveConfig.reload,
// what SIGHUP and the watcher call) and sees the new value in force: in
// the next attestation against the real PDPs, in the modules the host
// serves, in the log. Keys of the PDP connection and [tnccs] start from a
// value that fails or limits the attestation, so that only the reloaded
// value passes.
func TestReloadKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("attests against real PDPs once per key")
	}
	r := newReloadEnv(t)
	sign := func(t *testing.T, dir string, k keys) (keyID string) {
		prefix := filepath.Join(dir, "vendor")
		code, out, errs := call("imc", "keygen", "--out", prefix)
		m := regexp.MustCompile(`key ID ([0-9a-f]+)`).FindStringSubmatch(out)
		if code != exitOK || m == nil {
			t.Fatalf("keygen: %d %s %s", code, out, errs)
		}
		for _, name := range []string{"OS", "Attestation"} {
			src, _ := strconv.Unquote(k["imc."+name+".path"])
			dst := filepath.Join(dir, filepath.Base(src))
			testutil.CopyFile(t, src, dst)
			if code, _, errs := call("imc", "sign", "--key", prefix+".key", dst); code != exitOK {
				t.Fatalf("sign: %s", errs)
			}
			k["imc."+name+".path"] = strconv.Quote(dst)
		}
		return m[1]
	}
	var vendorID string // the key ID sign made last
	for _, tc := range []struct {
		key string
		// old and new edit the base keys before the start and before the
		// reload.
		old, new func(t *testing.T, dir string, k keys)
		// applied checks the new value in force after the reload.
		applied func(t *testing.T, rr *reloadRun)
	}{
		{key: "[log] level",
			old: func(_ *testing.T, _ string, k keys) { k["log.level"] = `"info"` },
			new: func(_ *testing.T, _ string, k keys) { k["log.level"] = `"debug"` },
			applied: func(t *testing.T, rr *reloadRun) {
				rr.logs.Reset()
				rr.compliant()
				if !batchSize.MatchString(rr.logs.String()) {
					t.Errorf("no debug line after the reload:\n%s", tail(rr.logs.String(), 20))
				}
			}},
		{key: "[pdp] host",
			new: func(_ *testing.T, _ string, k keys) { k["pdp.host"] = `"127.0.0.2"` },
			applied: func(t *testing.T, rr *reloadRun) {
				n := outcomes(rr.env.c)
				rr.compliant()
				if !reached(rr.env.c, n+1) {
					t.Error("the attestation did not go to the PDP on 127.0.0.2")
				}
			}},
		{key: "[pdp] port",
			new: func(_ *testing.T, _ string, k keys) { k["pdp.port"] = port(r.b) },
			applied: func(t *testing.T, rr *reloadRun) {
				n := outcomes(rr.env.b)
				rr.compliant()
				if !reached(rr.env.b, n+1) {
					t.Error("the attestation did not go to the PDP on the new port")
				}
			}},
		{key: "[pdp] ca",
			old:     func(_ *testing.T, _ string, k keys) { k["pdp.ca"] = strconv.Quote(r.otherCAPath) },
			new:     func(_ *testing.T, _ string, k keys) { k["pdp.ca"] = strconv.Quote(r.caPath) },
			applied: func(t *testing.T, rr *reloadRun) { rr.compliant() }},
		{key: "[pdp] server_name",
			old:     func(_ *testing.T, _ string, k keys) { k["pdp.server_name"] = `"pdp.invalid"` },
			new:     func(_ *testing.T, _ string, k keys) { k["pdp.server_name"] = `"localhost"` },
			applied: func(t *testing.T, rr *reloadRun) { rr.compliant() }},
		{key: "[pdp] client",
			new: func(_ *testing.T, _ string, k keys) { k["pdp.client"] = `"bob"` },
			applied: func(t *testing.T, rr *reloadRun) {
				n := outcomes(rr.env.a)
				rr.compliant()
				if !reached(rr.env.a, n+1) {
					t.Fatal("the attestation did not reach the PDP")
				}
				o := rr.env.a.Outcomes()
				if u := o[n].User; u != "bob" {
					t.Errorf("the PDP saw user %q, want bob", u)
				}
			}},
		{key: "[pdp] secret",
			old:     func(_ *testing.T, _ string, k keys) { k["pdp.secret"] = `"wrong"` },
			new:     func(_ *testing.T, _ string, k keys) { k["pdp.secret"] = `"pw"` },
			applied: func(t *testing.T, rr *reloadRun) { rr.compliant() }},
		{key: "[pdp] secret_file",
			old: func(t *testing.T, dir string, k keys) {
				p := filepath.Join(dir, "secret")
				if err := os.WriteFile(p, []byte("wrong\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				k["pdp.secret"], k["pdp.secret_file"] = "", strconv.Quote(p)
			},
			new: func(t *testing.T, dir string, k keys) {
				p := filepath.Join(dir, "secret2")
				if err := os.WriteFile(p, []byte("pw\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				k["pdp.secret_file"] = strconv.Quote(p)
			},
			applied: func(t *testing.T, rr *reloadRun) { rr.compliant() }},
		{key: "[pdp] cert and key",
			old: func(t *testing.T, dir string, k keys) {
				cert, key := r.otherCA.Issue(t, "endpoint", testutil.ECDSA, nil, x509.ExtKeyUsageClientAuth).WriteFiles(t, dir, "old")
				k["pdp.client"], k["pdp.secret"] = "", ""
				k["pdp.cert"], k["pdp.key"] = strconv.Quote(cert), strconv.Quote(key)
			},
			new: func(t *testing.T, dir string, k keys) {
				cert, key := r.clientCA.Issue(t, "endpoint", testutil.ECDSA, nil, x509.ExtKeyUsageClientAuth).WriteFiles(t, dir, "new")
				k["pdp.cert"], k["pdp.key"] = strconv.Quote(cert), strconv.Quote(key)
			},
			applied: func(t *testing.T, rr *reloadRun) { rr.compliant() }},
		{key: "[pdp] referrals",
			new: func(_ *testing.T, _ string, k keys) { k["pdp.referrals"] = `["pdp2.example.org"]` },
			applied: func(t *testing.T, rr *reloadRun) {
				cfg, _, _ := rr.live.current()
				if cfg.PDP.Referrals.Allows("evil.example.org", 271) || !cfg.PDP.Referrals.Allows("pdp2.example.org", 271) {
					t.Errorf("the loop's referral rule is %+v", cfg.PDP.Referrals)
				}
			}},
		// A small PA-TNC message size, then PT-TLS's: the IMCs (told by the
		// host) and the PB-TNC client (its limit) must both take the new
		// size, or a large message is refused on the way out.
		{key: "[tnccs] max_message_size",
			old: func(_ *testing.T, _ string, k keys) {
				k["tnccs.max_message_size"], k["tnccs.max_batch_size"] = "6000", "2097136"
			},
			new: func(_ *testing.T, _ string, k keys) { k["tnccs.max_message_size"] = "" },
			applied: func(t *testing.T, rr *reloadRun) {
				rr.logs.Reset()
				rr.compliant()
				if n := largestBatch(rr.logs.String()); n <= 6032 {
					t.Errorf("largest batch %d bytes: no message above the old size", n)
				}
			}},
		{key: "[tnccs] max_batch_size",
			old: func(_ *testing.T, _ string, k keys) {
				k["tnccs.max_message_size"], k["tnccs.max_batch_size"] = "6000", "6032"
			},
			new: func(_ *testing.T, _ string, k keys) { k["tnccs.max_batch_size"] = "" },
			applied: func(t *testing.T, rr *reloadRun) {
				rr.logs.Reset()
				rr.compliant()
				if n := largestBatch(rr.logs.String()); n <= 6032 {
					t.Errorf("largest batch %d bytes: none above the old batch size", n)
				}
			}},
		{key: "[tpm] eventlog",
			new: func(t *testing.T, dir string, k keys) {
				k["tpm.eventlog"] = strconv.Quote(filepath.Join(dir, "no-such-log"))
			},
			applied: func(t *testing.T, rr *reloadRun) {
				if code := rr.attest(); code == exitOK {
					t.Errorf("the attestation passed without its boot log: the old log was read\n%s", rr.out)
				}
				if !strings.Contains(rr.logs.String(), "no-such-log") {
					t.Errorf("the new event log path is not named in the log:\n%s", tail(rr.logs.String(), 30))
				}
			}},
		{key: "[tpm] module_pcr and module_log",
			new: func(_ *testing.T, dir string, k keys) {
				k["tpm.module_pcr"], k["tpm.module_log"] = "13", strconv.Quote(filepath.Join(dir, "modules.log"))
			},
			applied: func(t *testing.T, rr *reloadRun) {
				cfg, _, _ := rr.live.current()
				b, err := os.ReadFile(cfg.TPM.ModuleLog)
				if err != nil || strings.Count(string(b), "imchost-module") != 2 {
					t.Errorf("module log after the reload: %v\n%s", err, b)
				}
			}},
		{key: "[wasm] memory_pages",
			new: func(_ *testing.T, _ string, k keys) { k["wasm.memory_pages"] = "600" },
			applied: func(t *testing.T, rr *reloadRun) {
				if m := rr.module("OS"); m.MemoryPages != 600 || m.Version != 2 {
					t.Errorf("OS IMC in service: %d pages, version %d", m.MemoryPages, m.Version)
				}
				rr.compliant()
			}},
		{key: "[wasm] call_timeout",
			new: func(_ *testing.T, _ string, k keys) { k["wasm.call_timeout"] = `"7s"` },
			applied: func(t *testing.T, rr *reloadRun) {
				if m := rr.module("Attestation"); m.CallTimeout != 7*time.Second {
					t.Errorf("Attestation IMC in service: call timeout %s", m.CallTimeout)
				}
			}},
		{key: "[wasm] trusted_keys",
			old: func(t *testing.T, dir string, k keys) { sign(t, dir, k) },
			new: func(_ *testing.T, dir string, k keys) {
				k["wasm.trusted_keys"] = tomlList([]string{filepath.Join(dir, "vendor.pub")})
			},
			applied: func(t *testing.T, rr *reloadRun) {
				if m := rr.module("OS"); m.Signer == "" {
					t.Error("the OS IMC in service has no signer: the trusted key was not taken")
				}
			}},
		{key: "[wasm] require_signature",
			new: func(_ *testing.T, _ string, k keys) { k["wasm.require_signature"] = "true" },
			applied: func(t *testing.T, rr *reloadRun) {
				if rr.reloadErr == nil || !strings.Contains(rr.logs.String(), "keeps serving") {
					t.Errorf("unsigned modules accepted after require_signature: %v", rr.reloadErr)
				}
			}},
		{key: "[[imc]] settings",
			new: func(_ *testing.T, _ string, k keys) { k["imc.Attestation.settings.nonce_len"] = `"32"` },
			applied: func(t *testing.T, rr *reloadRun) {
				rr.compliant()
				if !strings.Contains(rr.logs.String(), "nonce_len 32") {
					t.Errorf("the Attestation IMC did not start with nonce_len 32:\n%s", tail(rr.logs.String(), 30))
				}
			}},
		{key: "[[imc]] grants",
			new: func(_ *testing.T, _ string, k keys) {
				k["imc.Attestation.grants"] = tomlList([]string{"send", "subscribe", "log", "log_level", "config_get", "report"})
			},
			applied: func(t *testing.T, rr *reloadRun) {
				if rr.reloadErr == nil || rr.module("Attestation").Version != 1 {
					t.Errorf("the Attestation IMC was kept under fewer grants: %v", rr.reloadErr)
				}
			}},
		{key: "[[imc]] sha256",
			new: func(_ *testing.T, _ string, k keys) { k["imc.OS.sha256"] = strconv.Quote(strings.Repeat("ab", 32)) },
			applied: func(t *testing.T, rr *reloadRun) {
				if rr.reloadErr == nil || !strings.Contains(rr.reloadErr.Error(), "sha256") {
					t.Errorf("a module not matching its new pin was accepted: %v", rr.reloadErr)
				}
			}},
		{key: "[[imc]] path",
			new: func(_ *testing.T, _ string, k keys) {
				k["imc.Hello"] = "+"
				k["imc.Hello.path"] = strconv.Quote(filepath.Join(r.wasmDir, "imc-hello.wasm"))
				k["imc.Hello.grants"] = tomlList([]string{"send", "subscribe", "log", "log_level", "config_get"})
			},
			applied: func(t *testing.T, rr *reloadRun) {
				if m := rr.module("Hello"); m.ID != 3 || filepath.Base(m.Path) != "imc-hello.wasm" {
					t.Errorf("Hello IMC: %+v", m)
				}
			}},
		{key: "[[imc]] (an IMC removed)",
			new: func(_ *testing.T, _ string, k keys) { k["imc.OS"] = "-" },
			applied: func(t *testing.T, rr *reloadRun) {
				if l := rr.list(); len(l) != 1 || l[0].Name != "Attestation" {
					t.Errorf("in service after the reload: %+v", l)
				}
				rr.attest() // the PDP's policy wants the OS IMC: not compliant
				if out := rr.out.String(); strings.Contains(out, `"OS"`) || !strings.Contains(out, `IMC 2 "Attestation" from IMV 2: compliant`) {
					t.Errorf("the OS IMC still answered, or the Attestation IMC did not:\n%s", out)
				}
			}},
		{key: "[[imc]] memory_pages",
			new: func(_ *testing.T, _ string, k keys) { k["imc.OS.memory_pages"] = "700" },
			applied: func(t *testing.T, rr *reloadRun) {
				if m := rr.module("OS"); m.MemoryPages != 700 {
					t.Errorf("OS IMC in service: %d pages", m.MemoryPages)
				}
			}},
		{key: "[[imc]] call_timeout",
			new: func(_ *testing.T, _ string, k keys) { k["imc.OS.call_timeout"] = `"9s"` },
			applied: func(t *testing.T, rr *reloadRun) {
				if m := rr.module("OS"); m.CallTimeout != 9*time.Second {
					t.Errorf("OS IMC in service: call timeout %s", m.CallTimeout)
				}
			}},
		// The PDP of this row asks for a file's measurement (PTS Request
		// File Measurement); outside the Attestation IMC's allowlist it is
		// answered File Not Found, which fails the attestation.
		{key: "[[imc]] files",
			old: func(t *testing.T, dir string, k keys) {
				pol := strictDefaultPolicy()
				pol.FileMeasurements = []string{filepath.Join(dir, "etc", "sshd_config")}
				k["pdp.port"] = port(r.startPDP(t, nil, dir, "files", pol))
			},
			new: func(t *testing.T, dir string, k keys) {
				etc := filepath.Join(dir, "etc")
				if err := os.MkdirAll(etc, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(etc, "sshd_config"), []byte("PermitRootLogin no\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				k["imc.Attestation.files"] = tomlList([]string{etc})
			},
			applied: func(t *testing.T, rr *reloadRun) { rr.compliant() }},
		// The OS IMC's lane, first without the type it sends (its messages
		// are refused: the PDP's OS IMV hears nothing), then with it.
		{key: "[[imc]] pa_send",
			old: func(_ *testing.T, _ string, k keys) { k["imc.OS.pa_send"] = `["tcg/pts"]` },
			new: func(_ *testing.T, _ string, k keys) { k["imc.OS.pa_send"] = `["ietf/os"]` },
			applied: func(t *testing.T, rr *reloadRun) {
				rr.logs.Reset()
				rr.compliant()
				if strings.Contains(rr.logs.String(), "is outside its lane") {
					t.Errorf("a send was refused after the reload:\n%s", tail(rr.logs.String(), 30))
				}
			}},
		// The Attestation IMC's receiving lane, first without PTS (the
		// PDP's requests do not reach it), then with it.
		{key: "[[imc]] pa_receive",
			old:     func(_ *testing.T, _ string, k keys) { k["imc.Attestation.pa_receive"] = `["ietf/os"]` },
			new:     func(_ *testing.T, _ string, k keys) { k["imc.Attestation.pa_receive"] = `["tcg/pts"]` },
			applied: func(t *testing.T, rr *reloadRun) { rr.compliant() }},
		// IMC IDs are kept across reloads (the PDP may hold state by IMC
		// ID): a changed id waits for a restart and says so.
		{key: "[[imc]] id",
			new: func(_ *testing.T, _ string, k keys) { k["imc.OS.id"] = "7" },
			applied: func(t *testing.T, rr *reloadRun) {
				want := "[CFG] warning: '" + rr.path + "': [[imc]] \"OS\" id changed, which takes effect when imchost restarts"
				if w := rr.cfgWarnings(); len(w) != 1 || w[0] != want {
					t.Errorf("warnings %q, want one: %q", w, want)
				}
				if m := rr.module("OS"); m.ID != 1 {
					t.Errorf("OS IMC in service with ID %d before a restart", m.ID)
				}
			}},
		// Modules signed by a vendor key that nothing trusts load unsigned;
		// the OS IMC's signers then name the key.
		{key: "[[imc]] signers",
			old: func(t *testing.T, dir string, k keys) { vendorID = sign(t, dir, k) },
			new: func(_ *testing.T, dir string, k keys) {
				k["imc.OS.signers"] = tomlList([]string{filepath.Join(dir, "vendor.pub")})
			},
			applied: func(t *testing.T, rr *reloadRun) {
				if m := rr.module("OS"); m.Signer != vendorID || m.Version != 2 {
					t.Errorf("OS IMC in service: signer %q (want %s), version %d", m.Signer, vendorID, m.Version)
				}
				if m := rr.module("Attestation"); m.Signer != "" {
					t.Errorf("the Attestation IMC took the OS IMC's signers: signer %q", m.Signer)
				}
			}},
		// The OS IMC's signature is moved away from its default place: it
		// loads unsigned until signature names the new place.
		{key: "[[imc]] signature",
			old: func(t *testing.T, dir string, k keys) {
				vendorID = sign(t, dir, k)
				mod, _ := strconv.Unquote(k["imc.OS.path"])
				if err := os.Rename(mod+host.SignatureSuffix, filepath.Join(dir, "os.sig")); err != nil {
					t.Fatal(err)
				}
				k["wasm.trusted_keys"] = tomlList([]string{filepath.Join(dir, "vendor.pub")})
			},
			new: func(_ *testing.T, dir string, k keys) {
				k["imc.OS.signature"] = strconv.Quote(filepath.Join(dir, "os.sig"))
			},
			applied: func(t *testing.T, rr *reloadRun) {
				if m := rr.module("OS"); m.Signer != vendorID || m.Version != 2 {
					t.Errorf("OS IMC in service: signer %q (want %s), version %d", m.Signer, vendorID, m.Version)
				}
			}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			dir := t.TempDir()
			k := r.base()
			if tc.old != nil {
				tc.old(t, dir, k)
			}
			rr := r.start(t, k)
			tc.new(t, dir, k)
			rr.write(k)
			rr.reloadErr = rr.live.reload(context.Background())
			tc.applied(t, rr)
			if t.Failed() {
				t.Logf("config.toml after the reload:\n%s", k.toml())
			}
		})
	}
}

// TestReloadRestartKeys: a reload that changes keys a running process
// cannot take names them all in one [CFG] warning, and applies the rest.
func TestReloadRestartKeys(t *testing.T) {
	r := newReloadEnv(t)
	k := r.base()
	rr := r.start(t, k)
	k["log.format"] = `"json"`
	k["tpm.device"] = `"tcp:127.0.0.1:1"`
	k["wasm.cache_dir"] = strconv.Quote(filepath.Join(t.TempDir(), "other-cache"))
	k["wasm.watch"] = "true"
	k["imc.Attestation.settings.nonce_len"] = `"32"`
	rr.write(k)
	rr.logs.Reset()
	if err := rr.live.reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	warn := rr.cfgWarnings()
	want := "[CFG] warning: '" + rr.path + "': [log] format, [tpm] device, [wasm] cache_dir, [wasm] watch changed, which takes effect when imchost restarts"
	if len(warn) != 1 || warn[0] != want {
		t.Errorf("warnings %q, want one: %q", warn, want)
	}
	if m := rr.module("Attestation"); m.Version != 2 {
		t.Errorf("the rest of the reload was not applied: Attestation IMC version %d", m.Version)
	}
	if strings.Contains(rr.logs.String(), `{"@`) {
		t.Errorf("the log format changed without a restart:\n%s", rr.logs)
	}
}

// TestReloadWatch: with [wasm] watch, an edited config.toml is reloaded
// without a signal through the same path as SIGHUP: the host serves the
// new settings and the PB-TNC client takes the new [pdp] values.
func TestReloadWatch(t *testing.T) {
	r := newReloadEnv(t)
	k := r.base()
	k["wasm.watch"] = "true"
	rr := r.start(t, k)
	if err := rr.live.host.watch(); err != nil {
		t.Fatal(err)
	}
	k["imc.Attestation.settings.nonce_len"] = `"32"`
	k["pdp.client"] = `"bob"`
	rr.write(k)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, ccfg, gen := rr.live.current(); gen > 0 && rr.module("Attestation").Version == 2 {
			if ccfg.PTTLS.Username != "bob" {
				t.Fatalf("the client's user after the watcher's reload: %q", ccfg.PTTLS.Username)
			}
			rr.compliant()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the edited file was not reloaded:\n%s", tail(rr.logs.String(), 20))
}

// TestReloadUnchanged: reading an unchanged file again (a released agent
// with [wasm] watch does before every attestation) keeps the client, and
// with it a kept PB-TNC session; a changed secret file's contents, under
// the same config.toml, make a new one.
func TestReloadUnchanged(t *testing.T) {
	r := newReloadEnv(t)
	k := r.base()
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k["pdp.secret"], k["pdp.secret_file"] = "", strconv.Quote(secret)
	rr := r.start(t, k)
	ctx := context.Background()
	for range 2 {
		if err := rr.live.reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, gen := rr.live.current(); gen != 0 {
		t.Fatalf("an unchanged file made %d new clients", gen)
	}
	if err := os.WriteFile(secret, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rr.live.reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ccfg, gen := rr.live.current(); gen != 1 || ccfg.PTTLS.Password != "wrong" {
		t.Fatalf("after the secret file changed: %d new clients, password %q", gen, ccfg.PTTLS.Password)
	}
}
