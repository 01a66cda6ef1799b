package tests

// No host call hangs: `imchost run` against a frozen TPM (the test's swtpm
// stopped with SIGSTOP), a boot event log or a system file that is a named
// pipe without a writer, and signals or --timeout while a host function
// waits. Each ends within a bound far below what the old code took (the
// TPM socket's two-minute deadline, or never), with words that name what
// happened.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/tpmhost"
)

// hangBound bounds a run that must end early: well past the 2 s call
// deadline and the test machine's slowness, well below the two minutes
// the old code waited for a frozen TPM.
const hangBound = 60 * time.Second

// freeze stops the test's own swtpm (SIGSTOP by its PID) and lets it go on
// when the test ends, so that its own cleanup can stop it.
func freeze(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP swtpm: %v", err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
}

// runBounded runs `imchost run` with args and fails the test if it has not
// ended within bound (then it is killed by startCLI's cleanup). act, when
// set, gets the process once it runs.
func runBounded(t *testing.T, bound time.Duration, args []string, act func(*cliProcess)) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := startCLI(ctx, t, args...)
	if act != nil {
		act(p)
	}
	select {
	case <-p.exited:
	case <-time.After(bound):
		t.Fatalf("imchost run still runs after %s", bound)
	}
	return cliRun{code: p.cmd.ProcessState.ExitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// TestHangTPMFrozen: the swtpm stops answering (SIGSTOP) before the run, or
// when the client asks for its quote. `imchost run` ends within the bound
// instead of the socket's two minutes, without access, the TPM failure in
// its log as a TPM that does not answer — never as a key "not found" — and
// as soon as it happens, not at the end.
func TestHangTPMFrozen(t *testing.T) {
	for _, tc := range []struct {
		name    string
		atQuote bool
	}{{"before the run", false}, {"at the quote", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t)
			spec := e.tpm.inst.Spec
			if tc.atQuote {
				spec = startTPMProxy(t, e.tpm.inst.Addr, func() { freeze(t, e.tpm.inst.PID) }).spec()
			} else {
				freeze(t, e.tpm.inst.PID)
			}
			start := time.Now()
			r := runBounded(t, hangBound, e.runArgs(e.pdp.addr, e.pdp.caPEM, spec, fixtureRoot(t, false), "--log-time"), nil)
			t.Logf("ended after %s with exit %d", time.Since(start).Round(time.Millisecond), r.code)
			if r.code == exitAllowed {
				t.Errorf("access allowed with a frozen TPM")
			}
			if !regexp.MustCompile(`TPM transport failure \((no answer within|not answering since)`).MatchString(r.stderr) {
				t.Errorf("the log does not say that the TPM does not answer")
			}
			if strings.Contains(r.stderr, "not found") {
				t.Errorf("a TPM that does not answer is reported as something not found")
			}
		})
	}
}

// TestHangTPMKilledAIK: with the swtpm killed (SIGKILL by its PID),
// tpm_aik fails as a dead TPM: StatusFailed, the TPM's transport named in
// the log. The old code answered StatusNotFound and logged "not found",
// which sends people looking for a missing key. imchost run, which checks
// the AK before it dials, says the TPM does not answer and does not offer
// to provision a key.
func TestHangTPMKilledAIK(t *testing.T) {
	e := newCLIEnv(t)
	e.tpm.open(t)
	sink := &logSink{t: t}
	sess := capability.NewSession(capability.SessionConfig{IMCID: 1, Name: "OS", Logger: sink.logger("imc"),
		Settings: host.Settings{"aik_handle": "0x81010003"}, Platform: e.tpm.platform(t, fixtureRoot(t, false))})
	if _, st := sess.Call(abi.FnTPMAIK, []byte{0, 0, 0, 0}); st != abi.StatusOK {
		t.Fatalf("tpm_aik on the live swtpm: status %d", st)
	}
	e.tpm.release()
	if err := syscall.Kill(e.tpm.inst.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.tpm.inst.Stop() // reaped

	// A new session (the AK is read once per platform: a new platform).
	e.tpm.tpm = nil
	proxy := startTPMProxy(t, e.tpm.inst.Addr, nil) // accepts, then every command fails
	tpm, err := tpmhost.Open(proxy.spec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	plat := capability.NewTPMPlatform(tpm, capability.TPMPlatformOptions{Root: fixtureRoot(t, false)})
	sess = capability.NewSession(capability.SessionConfig{IMCID: 1, Name: "OS", Logger: sink.logger("imc"),
		Settings: host.Settings{"aik_handle": "0x81010003"}, Platform: plat})
	if _, st := sess.Call(abi.FnTPMAIK, []byte{0, 0, 0, 0}); st != abi.StatusFailed {
		t.Errorf("tpm_aik on a killed swtpm: status %d, want %d (failed)", st, abi.StatusFailed)
	}
	if logs := sink.String(); strings.Contains(logs, "not found") || !strings.Contains(logs, "TPM transport failure") {
		t.Errorf("the log does not name the TPM's transport, or says \"not found\"")
	}

	r := runBounded(t, hangBound, e.runArgs(e.pdp.addr, e.pdp.caPEM, proxy.spec(), fixtureRoot(t, false)), nil)
	if r.code == exitAllowed {
		t.Errorf("access allowed without a TPM")
	}
	if strings.Contains(r.stderr, "not found") || strings.Contains(r.stderr, "provision") {
		t.Errorf("a dead TPM is reported as a missing key")
	}
	if !strings.Contains(r.stderr, "TPM transport failure") {
		t.Errorf("imchost run does not say that the TPM's transport failed")
	}
}

// TestHangEventLogFIFO: the boot event log, os-release or /proc/stat is a
// named pipe nobody writes to. open(2) of it used to block inside the host
// function for good, and --timeout did not end the process; now the file is
// refused as not regular, at once.
func TestHangEventLogFIFO(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string // under the fixture root; "" for the event log
	}{{"event log", ""}, {"os-release", "etc/os-release"}, {"proc/stat", "proc/stat"}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t)
			root := fixtureRoot(t, false)
			fifo := filepath.Join(t.TempDir(), "binary_bios_measurements")
			if tc.file != "" {
				fifo = filepath.Join(root, tc.file)
				os.Remove(fifo)
			} else {
				e.logs = fifo
				e.cfg = filepath.Join(t.TempDir(), "config.toml")
				writeConfig(t, e.cfg, imcConfigs(t, fifo), cacheDir)
			}
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Fatal(err)
			}
			args := e.runArgs(e.pdp.addr, e.pdp.caPEM, e.tpm.inst.Spec, root, "--timeout", "60s")
			r := runBounded(t, hangBound, args, nil)
			if r.code == exitAllowed {
				t.Errorf("access allowed without the file")
			}
			if !strings.Contains(r.stderr, "is not a regular file (a named pipe)") {
				t.Errorf("the log does not say that the file is a named pipe")
			}
		})
	}
}

// TestHangSignals: while a host function waits on a frozen TPM, SIGTERM and
// SIGINT end `imchost run` ("interrupted", exit 1), and so does --timeout
// with a call deadline longer than it. The old code went on until the TPM
// socket's two-minute deadline.
func TestHangSignals(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal // 0: --timeout 3s
		want string
	}{
		{"SIGTERM", syscall.SIGTERM, "imchost: interrupted"},
		{"SIGINT", syscall.SIGINT, "imchost: interrupted"},
		{"timeout", 0, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newCLIEnv(t)
			// A call deadline of 5 minutes: only the signal or --timeout
			// can end the wait.
			imcs := imcConfigs(t, e.logs)
			cfg := configTOML(imcs, cacheDir)
			cfg = strings.Replace(cfg, "[wasm]\n", "[wasm]\ncall_timeout = \"5m\"\n", 1)
			e.cfg = filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(e.cfg, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var proc *os.Process
			frozen := make(chan struct{})
			proxy := startTPMProxy(t, e.tpm.inst.Addr, func() {
				freeze(t, e.tpm.inst.PID)
				close(frozen)
			})
			extra := []string{"--timeout", "2m"}
			if tc.sig == 0 {
				extra = []string{"--timeout", "3s"}
			}
			args := e.runArgs(e.pdp.addr, e.pdp.caPEM, proxy.spec(), fixtureRoot(t, false), extra...)
			r := runBounded(t, hangBound, args, func(p *cliProcess) {
				mu.Lock()
				proc = p.cmd.Process
				mu.Unlock()
				if tc.sig == 0 {
					return
				}
				select {
				case <-frozen:
				case <-p.exited:
					return
				case <-time.After(hangBound):
					return
				}
				time.Sleep(500 * time.Millisecond) // the quote is on its way to the frozen TPM
				mu.Lock()
				proc.Signal(tc.sig)
				mu.Unlock()
			})
			select {
			case <-frozen:
			default:
				t.Fatalf("the client never asked for its quote")
			}
			if r.code != exitError || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d and %q", r.code, exitError, tc.want)
			}
		})
	}
}
