package host

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/tnccs"
)

// hogEnv makes the test binary a CPU hog (TestHelperCPUHog).
const hogEnv = "IMCHOST_TEST_CPU_HOG"

// TestHelperCPUHog is not a test: started by startHogs with hogEnv set, it
// keeps one CPU busy until its parent kills it, for at most a minute.
func TestHelperCPUHog(t *testing.T) {
	if os.Getenv(hogEnv) == "" {
		t.Skip("a helper process of TestCallDeadlineUnderLoad")
	}
	for start := time.Now(); time.Since(start) < time.Minute; {
		for i := 0; i < 1e6; i++ {
		}
	}
}

// startHogs starts n processes that each keep a CPU busy, stopped by PID
// when the test ends.
func startHogs(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCPUHog$")
		cmd.Env = append(os.Environ(), hogEnv+"=1", "GOMAXPROCS=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCallDeadlineUnderLoad: a module call's deadline counts the module's
// own CPU time, not the time it waits for a CPU. A healthy module whose
// call needs a third of its call_timeout in CPU time answers although 8
// busy processes per CPU make the call take several times the call_timeout
// in wall-clock time (with a wall-clock deadline, it was stopped — the
// shipped OS IMC was, once in 48 runs, on a busy machine); a module that
// loops is still stopped under the same load.
func TestCallDeadlineUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps the machine's CPUs busy for a few seconds")
	}
	// Calibrate on this machine: the CPU time of one call of 2000 rounds.
	const rounds = 2000
	calib := IMCConfig{Name: "spin", Path: modPath("spin"), Grants: helloGrants,
		Settings: Settings{"rounds": strconv.Itoa(rounds)}}
	h, _ := newTestHost(t, calib)
	if err := h.LoadIMCs(context.Background()); err != nil {
		t.Fatal(err)
	}
	exchange(t, h, 1) // warm
	cpu0 := processCPU()
	exchange(t, h, 2)
	perRound := (processCPU() - cpu0) / rounds
	// A call of ~40 ms of CPU time under a call_timeout three times that.
	n := max(int(40*time.Millisecond/max(perRound, time.Microsecond)), 100)
	need := time.Duration(n) * perRound
	timeout := 3 * need
	t.Logf("%s of CPU time per round: %d rounds (~%s) under a call_timeout of %s", perRound, n, need.Round(time.Millisecond), timeout.Round(time.Millisecond))

	spin := calib
	spin.Settings = Settings{"rounds": strconv.Itoa(n)}
	spin.CallTimeout = timeout
	loop := IMCConfig{Name: "loop", Path: modPath("loop"), Grants: helloGrants, CallTimeout: timeout}
	h, logs := newTestHost(t, spin, loop)
	if err := h.LoadIMCs(context.Background()); err != nil {
		t.Fatal(err)
	}
	startHogs(t, 8*runtime.NumCPU())
	for id := 1; id <= 2; id++ {
		start := time.Now()
		_, second := exchange(t, h, tnccs.ConnID(3+id))
		t.Logf("exchange %d under load: %s", id, time.Since(start).Round(time.Millisecond))
		if len(second) != 1 || second[0].Collector != 1 {
			t.Fatalf("exchange %d: the healthy module did not answer under load: %+v\n%s", id, second, logs)
		}
	}
	if strings.Contains(logs.String(), `"spin" timed out`) {
		t.Errorf("the healthy module was stopped:\n%s", logs)
	}
	if n := strings.Count(logs.String(), `IMC 2 "loop" timed out after`); n != 2 {
		t.Errorf("the looping module was stopped %d times in 2 connections, want 2:\n%s", n, logs)
	}
}
