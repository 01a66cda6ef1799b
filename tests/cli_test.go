package tests

// `imchost run` as a user runs it: the built binary, config.toml with the
// shipped [[imc]] entries, swtpm over --tpm tcp:..., a fixture --root, and
// the project's PDP (in this process) verified with --ca. Exit codes and
// output as README.md's command reference says.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tpmhost"
)

// Exit codes of `imchost run` (CLI contract).
const (
	exitAllowed    = 0
	exitError      = 1
	exitNotAllowed = 3
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// buildCLI builds ./cmd/imchost once per test binary, into buildDir, as
// `make build` does: without the race detector and without cgo.
func buildCLI() error {
	cliOnce.Do(func() {
		cliPath = filepath.Join(buildDir, "imchost")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", cliPath, "./cmd/imchost")
		cmd.Dir = ".."
		cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	return cliErr
}

// imchostBinary returns the built imchost.
func imchostBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(prepare) // makes buildDir
	if buildDir == "" {
		t.Fatalf("no build directory: %s", skipWhy)
	}
	if err := buildCLI(); err != nil {
		t.Fatalf("building imchost: %v", err)
	}
	return cliPath
}

// tpmProxy forwards raw TPM 2.0 commands to swtpm and calls onQuote (once)
// when a TPM2_Quote goes through, before forwarding it: a way to act at a
// known point of the exchange (the IMC quotes while answering batch 8) from
// outside the client's process.
type tpmProxy struct {
	ln      net.Listener
	to      string
	once    sync.Once
	onQuote func()
	wg      sync.WaitGroup
}

const ccQuote = 0x00000158 // TPM_CC_Quote

func startTPMProxy(t testing.TB, to string, onQuote func()) *tpmProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tpmProxy{ln: ln, to: to, onQuote: onQuote}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *tpmProxy) spec() string { return "tcp:" + p.ln.Addr().String() }

func (p *tpmProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.relay(c)
		}()
	}
}

// relay copies one client connection to swtpm command by command.
func (p *tpmProxy) relay(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.to)
	if err != nil {
		return
	}
	defer s.Close()
	go func() {
		io.Copy(c, s) // responses
		c.Close()
	}()
	hdr := make([]byte, 10)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(hdr[2:6])
		if size < 10 || size > 1<<16 {
			return
		}
		cmd := make([]byte, size)
		copy(cmd, hdr)
		if _, err := io.ReadFull(c, cmd[10:]); err != nil {
			return
		}
		if binary.BigEndian.Uint32(hdr[6:10]) == ccQuote && p.onQuote != nil {
			p.once.Do(p.onQuote)
		}
		if _, err := s.Write(cmd); err != nil {
			return
		}
	}
}

// cliRun is one `imchost run` invocation.
type cliRun struct {
	code           int
	stdout, stderr string
}

// cliEnv is what `imchost run` runs against.
type cliEnv struct {
	tpm  *tpmEnv
	pdp  *pdpEnv
	cfg  string // config.toml
	logs string // absolute path of the boot log
}

// newCLIEnv starts a swtpm for the CLI (the test process does not keep it
// open: swtpm serves one connection at a time), a PDP, and writes
// config.toml with the shipped [[imc]] entries.
func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	return newCLIEnvLog(t, bundledLog)
}

// newCLIEnvLog is newCLIEnv with the boot log at bootLog.
func newCLIEnvLog(t *testing.T, bootLog string) *cliEnv {
	t.Helper()
	needModules(t)
	imchostBinary(t)
	env := newTPMEnv(t, bootLog)
	env.release()
	logPath, err := filepath.Abs(bootLog)
	if err != nil {
		t.Fatal(err)
	}
	imcs := imcConfigs(t, logPath)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	writeConfig(t, cfg, imcs, cacheDir)
	return &cliEnv{tpm: env, pdp: startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()}), cfg: cfg, logs: logPath}
}

// run runs `imchost run` against the PDP with the TPM at tpmSpec and the
// fixture root; started, when set, gets the process once it runs. The
// test's deadline bounds it: a hang is reported as such.
func (e *cliEnv) run(t *testing.T, tpmSpec, root string, started func(*os.Process), extra ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := startCLI(ctx, t, e.runArgs(e.pdp.addr, e.pdp.caPEM, tpmSpec, root, extra...)...)
	if started != nil {
		started(p.cmd.Process)
	}
	<-p.exited
	if ctx.Err() != nil {
		t.Fatalf("imchost run did not end within the test's bound")
	}
	return cliRun{code: p.cmd.ProcessState.ExitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// runArgs is the command line of `imchost run` against the PDP at addr
// (trusting caFile) with the TPM at tpmSpec, the fixture root and the
// environment's config and boot log, then extra.
func (e *cliEnv) runArgs(addr, caFile, tpmSpec, root string, extra ...string) []string {
	_, port, _ := net.SplitHostPort(addr)
	return append([]string{"run", "--config", e.cfg, "-c", "127.0.0.1", "-p", port, "--ca", caFile,
		"--tpm", tpmSpec, "--root", root, "--eventlog", e.logs, "--timeout", "2m"}, extra...)
}

// TestCLI runs `imchost run` to a verdict: compliant and allowed (exit 0),
// forwarding on (exit 3, the remediation on stdout).
func TestCLI(t *testing.T) {
	e := newCLIEnv(t)
	for i, tc := range []struct {
		name       string
		forwarding bool
		code       int
		stdout     []string // regular expressions, each must match a line
	}{
		{name: "compliant", code: exitAllowed, stdout: []string{
			`^IMC 1 "OS"( from IMV 1)?: compliant$`,
			`^IMC 2 "Attestation"( from IMV 2)?: compliant$`,
			`^overall: compliant, Access Allowed$`,
		}},
		{name: "forwarding", forwarding: true, code: exitNotAllowed, stdout: []string{
			`^IMC 1 "OS"( from IMV 1)?: non-compliant major$`,
			`Please disable the forwarding of IP packets`,
			`^IMC 2 "Attestation"( from IMV 2)?: compliant$`,
			`^overall: non-compliant major, Quarantined$`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(t, e.tpm.inst.Spec, fixtureRoot(t, tc.forwarding), nil)
			if r.code != tc.code {
				t.Errorf("exit code %d, want %d", r.code, tc.code)
			}
			for _, re := range tc.stdout {
				if !regexp.MustCompile("(?m)" + re).MatchString(r.stdout) {
					t.Errorf("stdout has no line matching %q", re)
				}
			}
			outs, err := e.pdp.srv.WaitOutcomes(context.Background(), i+1)
			if err != nil {
				t.Fatal(err)
			}
			if o := outs[i]; !o.Decided || o.Err != nil {
				t.Errorf("PDP outcome %+v", o)
			}
		})
	}
}

// TestCLIPDPKilled: the PDP dies (crash: connections reset; stop:
// pdp.Server.Close) while the client quotes (between batches 8 and 9);
// `imchost run` exits 1 with a message naming the PDP and the failure, and
// no verdict.
func TestCLIPDPKilled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		crash bool
		why   string // in the message
	}{
		// Which one the client sees depends on where its write meets the
		// closed connection.
		{"crash", true, "connection reset by peer|broken pipe"},
		{"stop", false, "connection closed before a decision|connection reset by peer|broken pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t)
			kill := e.pdp.ln.kill
			if !tc.crash {
				kill = func() { e.pdp.srv.Close() }
			}
			proxy := startTPMProxy(t, e.tpm.inst.Addr, kill)
			r := e.run(t, proxy.spec(), fixtureRoot(t, false), nil)
			if r.code != exitError {
				t.Errorf("exit code %d, want %d", r.code, exitError)
			}
			last := strings.TrimSpace(r.stderr[strings.LastIndex(strings.TrimSpace(r.stderr), "\n")+1:])
			if want := "imchost: attestation with " + e.pdp.addr + " failed: "; !strings.HasPrefix(last, want) || !regexp.MustCompile(tc.why).MatchString(last) {
				t.Errorf("last stderr line %q, want %q ... %q", last, want, tc.why)
			}
			if strings.Contains(r.stdout, "overall:") {
				t.Errorf("a verdict without a PDP:\n%s", r.stdout)
			}
		})
	}
}

// TestCLIInterrupted: `imchost run` gets SIGTERM while it quotes; it stops
// with exit 1 and "interrupted". The quote in progress may still complete
// and its evidence reach the PDP, which may then decide on it; what must
// never happen is a decision without the attestation (the Attestation IMV
// at "don't know").
func TestCLIInterrupted(t *testing.T) {
	// An interrupted client stops where it is: it sends no further batch
	// (an empty CDATA would let a lenient PDP decide without the evidence).
	e := newCLIEnv(t)
	r := e.runSignalledAtQuote(t, syscall.SIGTERM, fixtureRoot(t, false))
	if r.code != exitError || !strings.Contains(r.stderr, "imchost: interrupted") {
		t.Errorf("exit %d, want %d and \"imchost: interrupted\"", r.code, exitError)
	}
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	outs, err := e.pdp.srv.WaitOutcomes(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	o := outs[0]
	t.Logf("PDP outcome: decided %v, %v, IMVs %+v, err %v", o.Decided, o.Verdict.Access, o.Verdict.IMVs, o.Err)
	if o.Decided && (len(o.Verdict.IMVs) != 2 || o.Verdict.IMVs[1].Result == pdp.DontKnow) {
		t.Errorf("the PDP decided without the attestation of an interrupted client: %+v", o)
	}
}

// runSignalledAtQuote runs `imchost run` through a TPM proxy that sends
// the process sig when the client asks for its quote.
func (e *cliEnv) runSignalledAtQuote(t *testing.T, sig syscall.Signal, root string) cliRun {
	var mu sync.Mutex
	var proc *os.Process
	proxy := startTPMProxy(t, e.tpm.inst.Addr, func() {
		mu.Lock()
		defer mu.Unlock()
		proc.Signal(sig)
	})
	return e.run(t, proxy.spec(), root, func(p *os.Process) {
		mu.Lock()
		proc = p
		mu.Unlock()
	})
}

// TestCLIClientKilled: `imchost run` is killed (SIGKILL) while it quotes;
// the PDP records a failed, undecided outcome and keeps no connection, and
// the next run is compliant.
func TestCLIClientKilled(t *testing.T) {
	e := newCLIEnv(t)
	root := fixtureRoot(t, false)
	r := e.runSignalledAtQuote(t, syscall.SIGKILL, root)
	if r.code != -1 {
		t.Fatalf("imchost was not killed: exit %d", r.code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	outs, err := e.pdp.srv.WaitOutcomes(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if o := outs[0]; o.Decided || o.Err == nil || o.Verdict.Access != pdp.AccessDenied {
		t.Fatalf("outcome of the killed client: %+v", o)
	}
	noGoroutines(t, "tnccs.(*Server).serveConn", "tnccs.(*Server).Run", "imchost/pdp.(*conn)")
	if r := e.run(t, e.tpm.inst.Spec, root, nil); r.code != exitAllowed {
		t.Fatalf("the run after the killed one: exit %d", r.code)
	}
}

// pdpProcess is `imchost pdp serve` running as its own process.
type pdpProcess struct {
	cmd    *exec.Cmd
	addr   string
	ca     []byte
	caFile string // ca as a file, for the client's --ca
	logs   *syncBuffer
	done   chan struct{} // closed when the process has exited
}

// startPDPProcess runs `imchost pdp serve` on a loopback port with a
// self-signed certificate and waits for its "listening on" line.
func startPDPProcess(t *testing.T, args ...string) *pdpProcess {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pdp") // --self-signed creates it
	args = append([]string{"pdp", "serve", "--listen", "127.0.0.1:0", "--self-signed", dir}, args...)
	cmd := exec.Command(imchostBinary(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pdpProcess{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(p.done)
		listening := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
		buf := make([]byte, 4096)
		var line []byte
		for {
			n, err := stderr.Read(buf)
			p.logs.Write(buf[:n])
			for _, c := range buf[:n] {
				if c != '\n' {
					line = append(line, c)
					continue
				}
				if m := listening.FindSubmatch(line); m != nil {
					addr <- string(m[1])
				}
				line = line[:0]
			}
			if err != nil {
				cmd.Wait()
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-p.done
		t.Logf("imchost %s:\n%s", strings.Join(args, " "), p.logs.String())
	})
	select {
	case p.addr = <-addr:
	case <-p.done:
		t.Fatalf("imchost pdp serve exited: %s", p.logs.String())
	case <-time.After(time.Minute):
		t.Fatal("imchost pdp serve did not say where it listens")
	}
	p.caFile = filepath.Join(dir, "ca.pem")
	if p.ca, err = os.ReadFile(p.caFile); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLIPDPServe runs the real host's IMCs against `imchost pdp serve` in
// its own process: the exchange is the transcript's table; then the PDP
// process is killed (SIGKILL) in the middle of a second attestation, which
// ends with an error of its own, no decision, nothing left running.
func TestCLIPDPServe(t *testing.T) {
	needModules(t)
	p := startPDPProcess(t, "--referral", pdpName+":271")
	env := newTPMEnv(t, bundledLog)
	h := newHost(t, env.platform(t, fixtureRoot(t, false)), imcConfigs(t, env.logPath))
	dial := func(rec *recorder) (*tnccs.Result, error) {
		ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
		defer cancel()
		cfg := tnccs.ClientConfig{Addr: p.addr}
		cfg.PTTLS.CAPEM = p.ca
		cfg.Logger = testLogger(t, "")
		cfg.OnBatch = rec.observe
		res, err := tnccs.Dial(ctx, cfg, h)
		if ctx.Err() != nil {
			t.Fatalf("the attestation hung until the test's bound: %v", err)
		}
		return res, err
	}

	rec := &recorder{}
	res, err := dial(rec)
	if err != nil || !res.Decided || res.Recommendation != pb.RecommendationAllowed {
		t.Fatalf("attestation: %+v %v", res, err)
	}
	checkTable(t, rec, transcriptTable(false))

	rec = &recorder{hook: func(n int, _ recorded) {
		if n == 6 {
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
	}}
	res, err = dial(rec)
	t.Logf("client: %v", err)
	if err == nil || (res != nil && res.Decided) {
		t.Fatalf("the PDP process was killed after batch 6, yet: %+v %v", res, err)
	}
	if k := h.Instances(); k != 0 {
		t.Errorf("%d IMC instances left", k)
	}
	noGoroutines(t, "tnccs.(*Client)", "tnccs/pttls", "imchost/host.(*Conn)")
}

// TestCLINoSimulator: the client, built as `make build` builds it (no cgo),
// carries no in-process TPM simulator and says what to use instead; the
// demo is a program of its own.
func TestCLINoSimulator(t *testing.T) {
	imchostBinary(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tpm", "info", "--tpm", "simulator"}, 1, "the in-process TPM simulator comes only with imchost-demo and the tests"},
		{[]string{"demo"}, 2, `unknown command "demo"`},
	} {
		if out := runCLI(t, tc.code, tc.args...); !strings.Contains(out, tc.want) {
			t.Errorf("imchost %s said:\n%s\nwant %q", strings.Join(tc.args, " "), out, tc.want)
		}
	}
}

// referringPDPs starts PDP B, then PDP A, which refers every endpoint on
// to B (PB-PDP-Referral to localhost at B's port); both present id, a
// certificate for localhost and 127.0.0.1.
func referringPDPs(t *testing.T) (a, b *pdpEnv, id pdpIdentity) {
	t.Helper()
	id = pdpCert(t, "localhost", "127.0.0.1")
	b = startPDPAs(t, pdp.Config{Policy: pdp.DefaultPolicy()}, id)
	_, bPort, _ := net.SplitHostPort(b.addr)
	port, err := strconv.Atoi(bPort)
	if err != nil {
		t.Fatal(err)
	}
	a = startPDPAs(t, pdp.Config{Policy: pdp.DefaultPolicy(), Referral: &pdp.Referral{Host: "localhost", Port: uint16(port)}}, id)
	return a, b, id
}

// TestCLIIntervalReferral: `imchost run --interval` attests again and
// again. PDP A answers with a PB-PDP-Referral to PDP B (same certificate,
// named localhost): the next assessment goes to B. When B is gone, the
// attempt fails and the client falls back to the configured A, which
// refers it on again. SIGTERM between attestations ends the loop with the
// last verdict's exit code.
func TestCLIIntervalReferral(t *testing.T) {
	e := newCLIEnv(t)
	a, b, id := referringPDPs(t)
	_, bPort, _ := net.SplitHostPort(b.addr)
	_, aPort, _ := net.SplitHostPort(a.addr)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startCLI(ctx, t, e.runArgs(a.addr, id.caPEM, e.tpm.inst.Spec, fixtureRoot(t, false), "--interval", "1s")...)

	// Attestation 1 at A, 2 at B (referred), both printed: the client is
	// done with B before B goes.
	allowed := func() int { return strings.Count(p.stdout.String(), "overall: compliant, Access Allowed") }
	if _, err := b.srv.WaitOutcomes(ctx, 1); err != nil {
		t.Fatalf("no attestation reached the referred PDP: %v", err)
	}
	p.await("the second verdict", func() bool { return allowed() >= 2 })
	// B dies: attempt 3 fails, 4 goes back to A.
	b.ln.kill()
	if _, err := a.srv.WaitOutcomes(ctx, 2); err != nil {
		t.Fatalf("the client did not fall back to the configured PDP: %v", err)
	}
	// Its verdict printed, the client waits for the interval: stop it.
	p.await("the third verdict", func() bool { return allowed() >= 3 })
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("imchost run after SIGTERM between attestations: exit %d (%v), want 0 (the last verdict allowed)", code, p.err)
	}
	if n := len(b.srv.Outcomes()); n != 1 {
		t.Errorf("the referred PDP saw %d attestations, want 1", n)
	}
	if n := len(a.srv.Outcomes()); n != 2 {
		t.Errorf("the configured PDP saw %d attestations, want 2", n)
	}
	for _, want := range []string{
		"next assessment goes to the referred PDP localhost:" + bPort,
		"attestation with localhost:" + bPort + " failed",
		"falling back to the configured PDP 127.0.0.1:" + aPort,
	} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

// TestCLITools: the client's TPM and module tools against swtpm and the
// built modules — provision an AK and find it again with tpm info (same
// keyid), refuse to overwrite it, list the configured modules with the
// files' hashes, check a module against grants.
func TestCLITools(t *testing.T) {
	e := newCLIEnv(t)
	spec := e.tpm.inst.Spec

	out := runCLI(t, 0, "tpm", "provision-ak", "--tpm", spec, "--handle", "0x81010005", "--alg", "rsa")
	m := regexp.MustCompile(`(?m)^Attestation Key at 0x81010005: RSA 2048, \S+ with \S+, keyid ([0-9a-f]{40})$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("provision-ak printed %q", out)
	}
	keyid := m[1]
	if out := runCLI(t, 1, "tpm", "provision-ak", "--tpm", spec, "--handle", "0x81010005"); !strings.Contains(out, "0x81010005") || !strings.Contains(out, "already") {
		t.Errorf("provision-ak over an existing key said %q, want the handle named as in use", out)
	}
	info := runCLI(t, 0, "tpm", "info", "--tpm", spec, "--handle", "0x81010005")
	for _, want := range []string{"TPM 2.0", "manufacturer", "PCR banks", "sha256", "AK 0x81010005  RSA 2048", "keyid " + keyid} {
		if !strings.Contains(info, want) {
			t.Errorf("tpm info lacks %q:\n%s", want, info)
		}
	}

	list := runCLI(t, 0, "imc", "list", "--config", e.cfg)
	for i, name := range []string{osWasm, attWasm} {
		b, err := os.ReadFile(filepath.Join(modDir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		for _, want := range []string{fmt.Sprintf("IMC %d", i+1), hex.EncodeToString(sum[:]), "grants"} {
			if !strings.Contains(list, want) {
				t.Errorf("imc list lacks %q:\n%s", want, list)
			}
		}
	}
	att := filepath.Join(modDir, attWasm)
	if out := runCLI(t, 1, "imc", "check", "--grants", "send,subscribe,log", att); !strings.Contains(out, "not granted") {
		t.Errorf("imc check with too few grants said:\n%s", out)
	}
	if out := runCLI(t, 0, "imc", "check", att); !strings.Contains(out, "ok: the module loads") || !strings.Contains(out, "tpm_quote") {
		t.Errorf("imc check without grants said:\n%s", out)
	}
}

// TestCLISIGHUP: SIGHUP makes `imchost run --interval` reload config.toml
// and the modules, keeping what the command line set: with the OS IMC
// taken out of the file, the next attestation runs the Attestation IMC
// alone (compliant; the PDP misses the OS attributes), its module found
// through --wasm-dir again.
func TestCLISIGHUP(t *testing.T) {
	e := newCLIEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startCLI(ctx, t, e.runArgs(e.pdp.addr, e.pdp.caPEM, e.tpm.inst.Spec, fixtureRoot(t, false),
		"--interval", "1s", "--wasm-dir", modDir)...)
	verdicts := func() int { return len(verdictBlocks(p.stdout.String())) }
	p.await("the first verdict", func() bool { return verdicts() >= 1 })

	// Only the Attestation IMC, its file named where it is not: the
	// reload must apply --wasm-dir again to find it.
	att := imcConfigs(t, e.logs)[1]
	att.Path = filepath.Join("nowhere", filepath.Base(att.Path))
	writeConfig(t, e.cfg, []host.IMCConfig{att}, cacheDir)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.await("the OS IMC unloaded", func() bool { return strings.Contains(p.stderr.String(), `IMC 1 "OS" unloaded`) })
	// The first verdict after the reload may come from an attestation that
	// began before it; the second began after.
	after := verdicts()
	p.await("two verdicts after the reload", func() bool { return verdicts() >= after+2 })
	code := p.stop(syscall.SIGTERM)

	blocks := verdictBlocks(p.stdout.String())
	last := blocks[len(blocks)-1]
	if strings.Contains(last, `IMC 1 "OS"`) {
		t.Errorf("the OS IMC still answered after the reload:\n%s", last)
	}
	if !regexp.MustCompile(`(?m)^IMC 2 "Attestation"( from IMV 2)?: compliant$`).MatchString(last) {
		t.Errorf("the Attestation IMC is not compliant after the reload:\n%s", last)
	}
	if !strings.Contains(p.stderr.String(), "SIGHUP: reloading the configuration and the modules") {
		t.Error("the reload was not logged")
	}
	if strings.Contains(p.stderr.String(), "refusing the new version") {
		t.Error("the reload did not find the module through --wasm-dir")
	}
	want := 0
	if !strings.Contains(last, "overall: compliant, Access Allowed") {
		want = 3
	}
	if code != want {
		t.Errorf("exit %d (%v) after SIGTERM, want %d for the last verdict", code, p.err, want)
	}
}

// TestCLISIGHUPLimits: a SIGHUP that lifts the [tnccs] limits reaches the
// PB-TNC client as well as the IMCs. Started with 6000-byte PA-TNC
// messages, the Attestation IMC splits its evidence; once the file drops
// the limits and SIGHUP reloads it, the IMCs are told PT-TLS's size and
// send larger messages, which the client must take too. (Before, the host
// took the new size and the client kept 6000: every attestation after the
// reload failed.)
func TestCLISIGHUPLimits(t *testing.T) {
	e := newCLIEnv(t)
	imcs := imcConfigs(t, e.logs)
	write := func(limits string) {
		if err := os.WriteFile(e.cfg, []byte(limits+configTOML(imcs, cacheDir)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("[tnccs]\nmax_message_size = 6000\nmax_batch_size = 2097136\n\n")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startCLI(ctx, t, e.runArgs(e.pdp.addr, e.pdp.caPEM, e.tpm.inst.Spec, fixtureRoot(t, false),
		"--interval", "1s")...)
	verdicts := func() int { return len(verdictBlocks(p.stdout.String())) }
	failures := func() int { return strings.Count(p.stderr.String(), "imchost: attestation with ") }
	p.await("the first verdict", func() bool { return verdicts() >= 1 })
	if n := failures(); n > 0 {
		t.Fatalf("attestations failed under the first limits:\n%s", p.stderr.String())
	}

	write("")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The first verdict after the signal may come from an attestation that
	// began before the reload; the second began after.
	after := verdicts()
	p.await("two attestations after the reload", func() bool { return verdicts() >= after+2 || failures() > 0 })
	code := p.stop(syscall.SIGTERM)
	if failures() > 0 {
		t.Fatalf("attestations failed after the reload lifted the limits:\n%s", p.stderr.String())
	}
	blocks := verdictBlocks(p.stdout.String())
	// The environment's PDP allows an attestation that did not finish:
	// the Attestation IMC's own assessment says whether it did.
	last := blocks[len(blocks)-1]
	if !regexp.MustCompile(`(?m)^IMC 2 "Attestation"( from IMV 2)?: compliant$`).MatchString(last) ||
		!strings.Contains(last, "overall: compliant, Access Allowed") || code != 0 {
		t.Errorf("after the reload: exit %d, last verdict\n%s", code, last)
	}
	if strings.Contains(p.stderr.String(), "exceeds the limit") {
		t.Errorf("a PA message was refused after the reload:\n%s", p.stderr.String())
	}
}

// verdictBlocks splits `imchost run` output into its verdicts: the lines
// up to and including each "overall: " line.
// stamp is the time --interval puts before every result line.
var stamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) `)

func verdictBlocks(out string) []string {
	var blocks []string
	var cur strings.Builder
	for _, l := range strings.Split(out, "\n") {
		l = stamp.ReplaceAllString(l, "") // --interval puts the time before every result line
		cur.WriteString(l + "\n")
		if strings.HasPrefix(l, "overall: ") {
			blocks = append(blocks, cur.String())
			cur.Reset()
		}
	}
	return blocks
}

// cliProcess is the built client running for a test, its output kept.
type cliProcess struct {
	t              *testing.T
	ctx            context.Context
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	exited         chan struct{} // closed when it has ended, with err
	err            error
}

// startCLI starts the client with args under ctx. When the test ends, a
// client still running is killed (ours, by its PID) and its output logged.
func startCLI(ctx context.Context, t *testing.T, args ...string) *cliProcess {
	t.Helper()
	p := &cliProcess{t: t, ctx: ctx, cmd: exec.CommandContext(ctx, cliPath, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		t.Logf("imchost %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.stdout.String(), p.stderr.String())
	})
	return p
}

// await polls done until it holds; the client ending first, or ctx,
// fails the test.
func (p *cliProcess) await(what string, done func() bool) {
	p.t.Helper()
	for !done() {
		select {
		case <-p.ctx.Done():
			p.t.Fatalf("waiting for %s: %v", what, p.ctx.Err())
		case <-p.exited:
			p.t.Fatalf("imchost ended while waiting for %s: %v", what, p.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop signals the client and returns its exit code once it has ended.
func (p *cliProcess) stop(sig os.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	<-p.exited
	return p.cmd.ProcessState.ExitCode()
}

// runCLI runs the built client to its end, fails the test unless it exits
// with code, and returns its standard output with its error output after
// it.
func runCLI(t *testing.T, code int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := startCLI(ctx, t, args...)
	<-p.exited
	out := p.stdout.String() + p.stderr.String()
	if got := p.cmd.ProcessState.ExitCode(); got != code {
		t.Errorf("imchost %s: exit %d (%v), want %d\n%s", strings.Join(args, " "), got, p.err, code, out)
	}
	return out
}

// clientCertFiles writes a CA and a client certificate it issued (with
// key), PEM, into dir.
func clientCertFiles(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	ca := testutil.NewCA(t, "endpoint-ca", testutil.ECDSA)
	certFile, keyFile = ca.Issue(t, "endpoint", testutil.ECDSA, nil, x509.ExtKeyUsageClientAuth).WriteFiles(t, dir, "endpoint")
	return ca.WriteFile(t, dir, "endpoint-ca"), certFile, keyFile
}

// TestCLIClientAuth: imchost run authenticates to `imchost pdp serve` the
// two ways strongSwan's pt-tls-client does — SASL PLAIN (--client,
// --secret against --user) and a TLS client certificate (--cert, --key
// against --client-ca) — and a wrong password or no credentials end in a
// clear error. The CA file the PDP writes is a CA certificate. One run logs
// JSON.
func TestCLIClientAuth(t *testing.T) {
	e := newCLIEnv(t)
	dir := t.TempDir()
	clientCA, cert, key := clientCertFiles(t, dir)
	p := startPDPProcess(t, "--user", "alice:s3cret", "--client-ca", clientCA)
	if blk, _ := pem.Decode(p.ca); blk == nil {
		t.Fatal("the PDP's ca.pem holds no PEM block")
	} else if c, err := x509.ParseCertificate(blk.Bytes); err != nil || !c.IsCA {
		t.Errorf("the PDP's ca.pem is not a CA certificate (%v)", err)
	}
	run := func(code int, extra ...string) string {
		t.Helper()
		return e.runAgainst(t, p, code, false, extra...)
	}
	const allowed = "overall: compliant, Access Allowed"
	if out := run(0, "--client", "alice", "--secret", "s3cret"); !strings.Contains(out, allowed) {
		t.Errorf("SASL PLAIN:\n%s", out)
	}
	if out := run(0, "--cert", cert, "--key", key); !strings.Contains(out, allowed) {
		t.Errorf("client certificate:\n%s", out)
	}
	out := run(1, "--client", "alice", "--secret", "wrong")
	if strings.Contains(out, "overall:") || !strings.Contains(out, "the PDP refused user 'alice'") {
		t.Errorf("a wrong password:\n%s", out)
	}
	out = run(1)
	if strings.Contains(out, "overall:") || !strings.Contains(out, "the PDP asks for a user name and password") {
		t.Errorf("no credentials:\n%s", out)
	}
	// The password from a file only its owner reads, or from the
	// environment; a key or a secret file others may read is refused
	// before anything is sent.
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(0, "--client", "alice", "--secret-file", secret); !strings.Contains(out, allowed) {
		t.Errorf("--secret-file:\n%s", out)
	}
	t.Setenv("IMCHOST_SECRET", "s3cret")
	if out := run(0, "--client", "alice"); !strings.Contains(out, allowed) {
		t.Errorf("IMCHOST_SECRET:\n%s", out)
	}
	os.Unsetenv("IMCHOST_SECRET")
	for _, f := range []string{secret, key} {
		if err := os.Chmod(f, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	out = run(1, "--client", "alice", "--secret-file", secret)
	if strings.Contains(out, "overall:") || !strings.Contains(out, "permissions 0640 are too open") {
		t.Errorf("a group-readable secret file:\n%s", out)
	}
	out = run(1, "--cert", cert, "--key", key)
	if strings.Contains(out, "overall:") || !strings.Contains(out, "permissions 0640 are too open") {
		t.Errorf("a group-readable client key:\n%s", out)
	}
	out = run(0, "--client", "alice", "--secret", "s3cret", "--log-format", "json")
	lines := 0
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("not JSON: %q: %v", l, err)
			continue
		}
		if _, ok := m["@message"]; !ok {
			t.Errorf("a JSON log line without @message: %q", l)
		}
		lines++
	}
	if lines < 10 || !strings.Contains(out, allowed) {
		t.Errorf("--log-format json: %d JSON lines\n%s", lines, out)
	}
}

// TestCLIPDPPolicyAndDB: `imchost pdp serve` takes a --policy file (here:
// IP forwarding allowed, so an endpoint with it on passes) and keeps what
// it learned in --db: a second PDP process on the same database, with all
// learning off, still allows the endpoint (product, device, AK and boot
// measurements known). A policy with an unknown key is refused.
func TestCLIPDPPolicyAndDB(t *testing.T) {
	e := newCLIEnv(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "pdp.db")
	policy := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := startPDPProcess(t, "--db", db, "--policy", policy("lenient.toml", "allow_forwarding = true\n"))
	if out := e.runAgainst(t, first, 0, true); !strings.Contains(out, "overall: compliant, Access Allowed") {
		t.Errorf("forwarding on under allow_forwarding:\n%s", out)
	}
	first.cmd.Process.Signal(syscall.SIGTERM)
	<-first.done

	strict := policy("strict.toml", "learn_products = false\nlearn_devices = false\nrequire_known_device = true\n"+
		"learn_aks = false\nlearn_measurements = false\n")
	second := startPDPProcess(t, "--db", db, "--policy", strict)
	if out := e.runAgainst(t, second, 0, false); !strings.Contains(out, "overall: compliant, Access Allowed") {
		t.Errorf("the second PDP on the first one's database:\n%s", out)
	}
	// The same policy on an empty database: nothing is known.
	fresh := startPDPProcess(t, "--db", filepath.Join(dir, "empty.db"), "--policy", strict)
	if out := e.runAgainst(t, fresh, 3, false); strings.Contains(out, "overall: compliant, Access Allowed") {
		t.Errorf("a PDP that knows nothing and learns nothing allowed the endpoint:\n%s", out)
	}

	if out := runCLI(t, 1, "pdp", "serve", "--listen", "127.0.0.1:0", "--self-signed", t.TempDir(),
		"--policy", policy("typo.toml", "alow_forwarding = true\n")); !strings.Contains(out, `unknown key "alow_forwarding"`) {
		t.Errorf("a policy with an unknown key:\n%s", out)
	}
}

// TestCLIAKCertificate: with the aik_cert setting the Attestation IMC sends
// the AK as an X.509 certificate, and `imchost pdp serve --ak-ca` trusts
// it by its issuer with AK learning off; a PDP without that CA refuses it.
func TestCLIAKCertificate(t *testing.T) {
	e := newCLIEnv(t)
	dir := t.TempDir()
	ca := testutil.NewCA(t, "ak-ca", testutil.ECDSA)
	caFile := ca.WriteFile(t, dir, "ak-ca")
	akCert := testutil.WritePEM(t, filepath.Join(dir, "ak.pem"), "CERTIFICATE", ca.Sign(t, "ak", e.tpm.ak.Public, nil))
	imcs := imcConfigs(t, e.logs)
	settings := map[string]string{"aik_cert": akCert}
	for k, v := range imcs[1].Settings {
		settings[k] = v
	}
	imcs[1].Settings = settings
	writeConfig(t, e.cfg, imcs, cacheDir)
	strict := filepath.Join(dir, "strict.toml")
	if err := os.WriteFile(strict, []byte("learn_aks = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	trusting := startPDPProcess(t, "--ak-ca", caFile, "--policy", strict)
	if out := e.runAgainst(t, trusting, 0, false); !strings.Contains(out, "overall: compliant, Access Allowed") || !strings.Contains(trusting.logs.String(), "AIK certificate is trusted") {
		t.Errorf("the AK certificate under --ak-ca:\n%s\nPDP:\n%s", out, trusting.logs.String())
	}
	other := startPDPProcess(t, "--policy", strict)
	if out := e.runAgainst(t, other, 3, false); strings.Contains(out, "overall: compliant, Access Allowed") {
		t.Errorf("a PDP without the AK's CA allowed it:\n%s", out)
	}
}

// runAgainst runs `imchost run` to its end against a `pdp serve` process,
// with the fixture root for forwarding on or off and extra flags, and
// returns its output (runCLI).
func (e *cliEnv) runAgainst(t *testing.T, p *pdpProcess, code int, forwarding bool, extra ...string) string {
	t.Helper()
	return runCLI(t, code, e.runArgs(p.addr, p.caFile, e.tpm.inst.Spec, fixtureRoot(t, forwarding), extra...)...)
}

// TestCLITPMExtend: `imchost tpm extend` plays a boot log into a fresh
// swtpm as firmware would: afterwards every PCR the log measures into reads,
// in the SHA-256 bank, what replaying the log gives (the log has no
// startup locality event; swtpm starts at locality 0).
func TestCLITPMExtend(t *testing.T) {
	imchostBinary(t)
	inst := swtpm.Start(t)
	if out := runCLI(t, 0, "tpm", "extend", "--tpm", inst.Spec, bundledLog); !strings.Contains(out, "extended 105 measurements") {
		t.Errorf("tpm extend said:\n%s", out)
	}
	l, err := tpmhost.ReadEventLog(bundledLog)
	if err != nil {
		t.Fatal(err)
	}
	want, err := l.Replay(tpmhost.AlgSHA256)
	if err != nil {
		t.Fatal(err)
	}
	tpm, err := tpmhost.Open(inst.Spec, testLogger(t, "tpm"))
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	pcrs := want.Indices()
	if len(pcrs) < 10 {
		t.Fatalf("the log replays into PCRs %v only", pcrs)
	}
	got, err := tpm.ReadPCRs(tpmhost.AlgSHA256, pcrs)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range pcrs {
		if !bytes.Equal(got[i], want.Value(i)) {
			t.Errorf("PCR %d = %x, the log replays to %x", i, got[i], want.Value(i))
		}
	}
	if out := runCLI(t, 2, "tpm", "extend", "--tpm", "/dev/tpm0", bundledLog); !strings.Contains(out, "refusing to extend the PCRs of a real TPM") {
		t.Errorf("tpm extend on a device said:\n%s", out)
	}
}
