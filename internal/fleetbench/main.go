// Command fleetbench measures the PDP's throughput and latency curve, as
// `make fleet-bench` runs it: `imchost pdp serve` on SQLite and on
// PostgreSQL (a throw-away server of internal/pgtest), each driven by
// internal/loadgen (the code of `imchost pdp bench`) at every fleet size,
// all on loopback (one source address for the whole fleet, so the PDPs run
// with --max-conns-per-source -1); then one and two replicas on one
// PostgreSQL database with each replica held to a fixed CPU budget
// (-replica-cpu, a cgroup v1 CFS quota per process), so that the gain from
// a second replica shows on a machine whose cores the generator and the
// database share. It writes the results as JSON for internal/benchreport's
// fleet section, and a CPU profile of the SQLite PDP at one fleet size.
//
// Setups (-setups): sqlite, postgres (one PDP, no budget), postgres-2 (two
// PDPs, no budget), budget-1 and budget-2 (one or two PDPs on PostgreSQL,
// each held to -replica-cpu, at -replica-sizes). Where cgroups cannot be
// created the budget setups run without a budget, and fleetbench and the
// results say so.
package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imchost/imchost/internal/loadgen"
	"github.com/imchost/imchost/internal/pgtest"
)

// Point is one measured fleet size of one setup.
type Point struct {
	Setup    string          `json:"setup"`
	Replicas int             `json:"replicas"`
	Report   *loadgen.Report `json:"report"`
	// PDPCPU is the CPU time (user + system) the PDP processes used for
	// the point, GenCPU the load generator's: on a shared machine a
	// better measure of the PDP's cost than wall-clock rates.
	PDPCPU time.Duration `json:"pdp_cpu"`
	GenCPU time.Duration `json:"generator_cpu"`
	// DBCPU is the PostgreSQL server's (its postmaster and the backends
	// that ended during the point, which serve the PDPs' connections).
	DBCPU time.Duration `json:"db_cpu,omitempty"`
	// CPUBudget is each replica's CPU budget in CPUs (0: none), and
	// Throttling the replicas' cgroup counters summed: how often the
	// budget held them back.
	CPUBudget  float64     `json:"cpu_budget,omitempty"`
	Throttling *throttling `json:"throttling,omitempty"`
}

// Results is the file fleetbench writes.
type Results struct {
	When     time.Time `json:"when"`
	CPU      string    `json:"cpu"`
	Cores    int       `json:"cores"`
	Load     string    `json:"load"` // /proc/loadavg at the start
	Duration string    `json:"duration"`
	Events   int       `json:"events"`
	Command  string    `json:"command"`
	// ReplicaCPU is the budget asked for the budget setups; BudgetError
	// why they ran without one.
	ReplicaCPU  float64 `json:"replica_cpu,omitempty"`
	BudgetError string  `json:"budget_error,omitempty"`
	Points      []Point `json:"points"`
}

func main() {
	bin := flag.String("imchost", "out/imchost", "the imchost binary")
	sizesFlag := flag.String("endpoints", "1,8,64,256,1024", "fleet sizes")
	duration := flag.Duration("duration", 10*time.Second, "steady-state phase per fleet size")
	events := flag.Int("events", 100, "boot log events per endpoint")
	setups := flag.String("setups", "sqlite,postgres,budget-1,budget-2", "setups to measure: sqlite, postgres, postgres-2, budget-1, budget-2")
	replicaCPU := flag.Float64("replica-cpu", 0.25, "CPU budget of each PDP of the budget setups, in CPUs (a cgroup v1 CFS quota)")
	replicaSizes := flag.String("replica-sizes", "8,64,256", "fleet sizes of the budget setups")
	out := flag.String("o", "out/fleet.json", "results file")
	profile := flag.String("cpuprofile", "out/fleet-pdp-sqlite.pprof", "CPU profile of the SQLite PDP during -profile-size")
	profileSize := flag.Int("profile-size", 64, "fleet size of the profiled SQLite run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *bin, *sizesFlag, *replicaSizes, *setups, *replicaCPU, *duration, *events, *out, *profile, *profileSize)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetbench:", err)
		os.Exit(1)
	}
}

// parseSizes reads a comma-separated list of fleet sizes.
func parseSizes(name, list string) ([]int, error) {
	var sizes []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > loadgen.MaxEndpoints {
			return nil, fmt.Errorf("%s %q", name, s)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

func run(ctx context.Context, bin, sizesFlag, replicaSizesFlag, setups string, replicaCPU float64, duration time.Duration, events int, out, profile string, profileSize int) error {
	sizes, err := parseSizes("-endpoints", sizesFlag)
	if err != nil {
		return err
	}
	replicaSizes, err := parseSizes("-replica-sizes", replicaSizesFlag)
	if err != nil {
		return err
	}
	load, _ := os.ReadFile("/proc/loadavg")
	res := &Results{When: time.Now().UTC(), CPU: cpuModel(), Cores: runtime.NumCPU(),
		Load: strings.TrimSpace(string(load)), Duration: duration.String(), Events: events,
		Command: "go run ./internal/fleetbench " + strings.Join(relArgs(os.Args[1:]), " ")}
	var budget *cpuBudget
	if strings.Contains(setups, "budget-") {
		res.ReplicaCPU = replicaCPU
		if replicaCPU <= 0 {
			res.BudgetError = fmt.Sprintf("no budget asked (-replica-cpu %v)", replicaCPU)
		} else if budget, err = newCPUBudget(cgroupCPURoot, replicaCPU); err != nil {
			res.BudgetError = err.Error()
			budget = nil
			fmt.Fprintf(os.Stderr, "fleetbench: WARNING: the budget setups run WITHOUT a CPU budget per replica (%v);\n"+
				"  on a machine the generator shares, one and two replicas then compete for the same cores and the\n"+
				"  comparison shows no gain from a second replica. Run as root where the cgroup v1 cpu controller is\n"+
				"  mounted at %s to measure it.\n", err, cgroupCPURoot)
		}
	}
	var pg *pgtest.Server
	defer func() {
		if pg != nil {
			pg.Stop()
		}
	}()
	for _, setup := range strings.Split(setups, ",") {
		setupSizes := sizes
		if strings.HasPrefix(setup, "budget-") {
			setupSizes = replicaSizes
		}
		for _, n := range setupSizes {
			if err := ctx.Err(); err != nil {
				return err
			}
			// A fresh database per point: every point's first contacts
			// are new devices on an empty store.
			var db string
			replicas := 1
			var held *cpuBudget
			switch setup {
			case "sqlite":
				dir, err := os.MkdirTemp("", "fleetbench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				db = filepath.Join(dir, "pdp.db")
			case "postgres", "postgres-2", "budget-1", "budget-2":
				if pg == nil {
					var err error
					if pg, err = pgtest.StartServer(); err != nil {
						return err
					}
				}
				var err error
				if db, err = pg.CreateDatabase(fmt.Sprintf("%s_%d", strings.ReplaceAll(setup, "-", "_"), n)); err != nil {
					return err
				}
				if strings.HasSuffix(setup, "-2") {
					replicas = 2
				}
				if strings.HasPrefix(setup, "budget-") {
					held = budget
				}
			default:
				return fmt.Errorf("unknown setup %q", setup)
			}
			prof := ""
			if setup == "sqlite" && n == profileSize {
				prof = profile
			}
			gen0, db0 := selfCPU(), time.Duration(0)
			if pg != nil {
				db0 = procTreeCPU(pg.PID)
			}
			pt, err := point(ctx, bin, db, replicas, n, duration, events, prof, held)
			if err != nil {
				return fmt.Errorf("%s, %d endpoints: %w", setup, n, err)
			}
			pt.Setup, pt.GenCPU = setup, selfCPU()-gen0
			if setup != "sqlite" {
				pt.DBCPU = procTreeCPU(pg.PID) - db0
			}
			fmt.Printf("%s: %sPDP CPU %s, generator CPU %s, database CPU %s", setup, pt.Report, pt.PDPCPU.Round(time.Millisecond),
				pt.GenCPU.Round(time.Millisecond), pt.DBCPU.Round(time.Millisecond))
			if th := pt.Throttling; th != nil {
				fmt.Printf(", each PDP held to %.2f CPU: throttled in %d of %d periods", pt.CPUBudget, th.Throttled, th.Periods)
			}
			fmt.Println()
			res.Points = append(res.Points, *pt)
		}
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procTreeCPU is the CPU time of process pid and of its children it has
// waited for (/proc/PID/stat utime, stime, cutime, cstime; 0 if unreadable).
func procTreeCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:])) // from field 3, the state
	if len(f) < 15 {
		return 0
	}
	var ticks int64
	for _, s := range f[11:15] { // fields 14-17
		n, _ := strconv.ParseInt(s, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ
}

// userHZ is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const userHZ = 100

// point starts the PDP processes (each in a cgroup of its own held to
// budget's share of CPU when budget is not nil), runs the fleet against
// them and stops them (SIGTERM, by PID); it returns the point with the
// report, the PDPs' CPU time and their throttling.
func point(ctx context.Context, bin, db string, replicas, n int, duration time.Duration, events int, profile string, budget *cpuBudget) (*Point, error) {
	pt := &Point{Replicas: replicas}
	pool := x509.NewCertPool()
	var addrs []string
	var procs []*exec.Cmd
	var groups []*cgroup
	var cleanup []error
	stop := func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
			pt.PDPCPU += p.ProcessState.UserTime() + p.ProcessState.SystemTime()
		}
		procs = nil
		for _, g := range groups {
			if s, err := g.stats(); err == nil {
				if pt.Throttling == nil {
					pt.Throttling = &throttling{}
				}
				pt.Throttling.Periods += s.Periods
				pt.Throttling.Throttled += s.Throttled
				pt.Throttling.ThrottledNS += s.ThrottledNS
			}
			if err := g.remove(); err != nil {
				cleanup = append(cleanup, err)
			}
		}
		groups = nil
	}
	defer stop()
	var env []string
	if budget != nil {
		pt.CPUBudget = budget.cpus
		// Go's scheduler runs no more threads at once than the budget
		// covers, rather than bursting over it and sitting out the rest
		// of each period.
		env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", int(math.Ceil(budget.cpus))))
	}
	for i := range replicas {
		dir, err := os.MkdirTemp("", "fleetbench-pdp-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		args := []string{"pdp", "serve", "--listen", "127.0.0.1:0", "--self-signed", dir, "--db", db,
			"--max-conns", "64", "--max-conns-per-source", "-1"}
		if profile != "" && i == 0 {
			args = append(args, "--cpuprofile", profile)
		}
		p, addr, err := startPDP(bin, args, env)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		if budget != nil {
			g, err := budget.hold(p.Process.Pid)
			if err != nil {
				return nil, err
			}
			groups = append(groups, g)
		}
		ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
		if err != nil {
			return nil, err
		}
		pool.AppendCertsFromPEM(ca)
		addrs = append(addrs, addr)
	}
	ctx, cancel := context.WithTimeout(ctx, duration+5*time.Minute)
	defer cancel()
	rep, err := loadgen.Run(ctx, loadgen.Config{Addrs: addrs, ServerName: "127.0.0.1", RootCAs: pool,
		Endpoints: n, Events: events, Duration: duration, Timeout: 2 * time.Minute})
	stop()
	if err == nil {
		err = errors.Join(cleanup...)
	}
	pt.Report = rep
	return pt, err
}

var listening = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// startPDP runs pdp serve (with env, or this process's environment when
// nil) and waits for its "listening on" line; the rest of its output is
// discarded.
func startPDP(bin string, args, env []string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a, nil
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, "", fmt.Errorf("%s did not say where it listens", bin)
	}
}

// cpuModel is the CPU's model name from /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// relArgs writes the arguments that name files below the working directory
// relative to it, so that the command in BENCHMARKS.md runs in any checkout.
func relArgs(args []string) []string {
	wd, err := os.Getwd()
	if err != nil {
		return args
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.TrimPrefix(a, wd+string(filepath.Separator))
	}
	return out
}
