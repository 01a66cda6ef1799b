package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCPUBudget holds a busy process to a tenth of a CPU in a real cgroup
// (where the cpu controller takes new groups, as root here): the process
// is in the group, the kernel throttles it, and the group is gone after
// remove. Elsewhere it checks that newCPUBudget says why there is no
// budget.
func TestCPUBudget(t *testing.T) {
	b, err := newCPUBudget(cgroupCPURoot, 0.1)
	if err != nil {
		t.Skipf("no CPU budget here (fleetbench falls back and says so): %v", err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(sh, "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			cmd.Process.Kill()
			cmd.Wait()
			stopped = true
		}
	}
	defer stop()
	g, err := b.hold(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer g.remove()
	if !strings.HasPrefix(filepath.Base(g.dir), "imchost-fleetbench-"+strconv.Itoa(os.Getpid())+"-") {
		t.Errorf("group %s not named after this process", g.dir)
	}
	procs, err := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	if err != nil || strings.TrimSpace(string(procs)) != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("cgroup.procs %q (%v), want PID %d", procs, err, cmd.Process.Pid)
	}
	quota, _ := os.ReadFile(filepath.Join(g.dir, "cpu.cfs_quota_us"))
	if strings.TrimSpace(string(quota)) != "10000" {
		t.Errorf("quota %q, want 10000 µs of each 100000", quota)
	}
	// A busy loop over a tenth of a CPU is throttled in its first period
	// that runs; wait for the kernel to say so (a bound for a hang only).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		s, err := g.stats()
		if err != nil {
			t.Fatal(err)
		}
		if s.Throttled > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a busy process held to 0.1 CPU never throttled: %+v", s)
		}
	}
	stop()
	if err := g.remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.dir); !os.IsNotExist(err) {
		t.Errorf("group %s left behind: %v", g.dir, err)
	}
}

// TestCPUBudgetUnavailable: without a cpu controller the reason is given.
func TestCPUBudgetUnavailable(t *testing.T) {
	_, err := newCPUBudget(t.TempDir(), 0.5)
	if err == nil || !strings.Contains(err.Error(), "no cgroup v1 cpu controller") {
		t.Errorf("error %v, want one naming the missing controller", err)
	}
	if _, err := newCPUBudget(cgroupCPURoot, 0); err == nil {
		t.Error("a zero budget was taken")
	}
}
