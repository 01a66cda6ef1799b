package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupCPURoot is where the cgroup v1 cpu controller is mounted.
const cgroupCPURoot = "/sys/fs/cgroup/cpu"

// cfsPeriod is the CFS bandwidth period of a budget, in microseconds (the
// kernel's default, and what a Kubernetes CPU limit uses).
const cfsPeriod = 100000

// cpuBudget holds processes to a fixed share of CPU time: each process it
// holds gets its own cgroup (v1 cpu controller) with a CFS quota of cpus
// times the period. The groups are named after this process's PID
// (imchost-fleetbench-<pid>-<n>) and only those are ever removed.
type cpuBudget struct {
	cpus float64
	root string
	n    int
}

// newCPUBudget checks that the cpu controller at root takes new groups
// (it creates and removes one); the error says why not.
func newCPUBudget(root string, cpus float64) (*cpuBudget, error) {
	if cpus <= 0 || math.IsNaN(cpus) || math.IsInf(cpus, 0) {
		return nil, fmt.Errorf("CPU budget %v: want a positive number of CPUs", cpus)
	}
	if _, err := os.Stat(filepath.Join(root, "cpu.cfs_quota_us")); err != nil {
		return nil, fmt.Errorf("no cgroup v1 cpu controller at %s: %w", root, err)
	}
	b := &cpuBudget{cpus: cpus, root: root}
	g, err := b.group()
	if err != nil {
		return nil, err
	}
	if _, err := g.stats(); err != nil {
		g.remove()
		return nil, err
	}
	return b, g.remove()
}

// cgroup is one group a cpuBudget created.
type cgroup struct{ dir string }

// group creates the next group with the budget's quota.
func (b *cpuBudget) group() (*cgroup, error) {
	b.n++
	dir := filepath.Join(b.root, fmt.Sprintf("imchost-fleetbench-%d-%d", os.Getpid(), b.n))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating a cgroup: %w", err)
	}
	g := &cgroup{dir: dir}
	quota := int(math.Round(b.cpus * cfsPeriod))
	for _, w := range []struct{ file, val string }{
		{"cpu.cfs_period_us", strconv.Itoa(cfsPeriod)},
		{"cpu.cfs_quota_us", strconv.Itoa(quota)},
	} {
		if err := os.WriteFile(filepath.Join(dir, w.file), []byte(w.val), 0o644); err != nil {
			g.remove()
			return nil, fmt.Errorf("setting the cgroup's %s: %w", w.file, err)
		}
	}
	return g, nil
}

// hold moves process pid (all its threads) into a new group of its own.
func (b *cpuBudget) hold(pid int) (*cgroup, error) {
	g, err := b.group()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(g.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		g.remove()
		return nil, fmt.Errorf("moving PID %d into %s: %w", pid, g.dir, err)
	}
	return g, nil
}

// throttling is a group's cpu.stat: CFS periods that ran, those in which
// the group used up its quota, and for how long it was held back.
type throttling struct {
	Periods   int64 `json:"periods"`
	Throttled int64 `json:"throttled_periods"`
	// ThrottledNS is the total time the group's threads were held back.
	ThrottledNS int64 `json:"throttled_ns"`
}

func (g *cgroup) stats() (throttling, error) {
	raw, err := os.ReadFile(filepath.Join(g.dir, "cpu.stat"))
	if err != nil {
		return throttling{}, err
	}
	var s throttling
	for _, l := range strings.Split(string(raw), "\n") {
		k, v, _ := strings.Cut(l, " ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "nr_periods":
			s.Periods = n
		case "nr_throttled":
			s.Throttled = n
		case "throttled_time":
			s.ThrottledNS = n
		}
	}
	return s, nil
}

// remove deletes the group; its process must have ended (been waited for).
func (g *cgroup) remove() error {
	if err := os.Remove(g.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing cgroup %s: %w", g.dir, err)
	}
	return nil
}
