// Command fleetbench measures the PDP's throughput and latency curve, as
// `make fleet-bench` runs it: `imchost pdp serve` on SQLite, on PostgreSQL,
// and as two replicas on one PostgreSQL database (a throw-away server of
// internal/pgtest), each driven by internal/loadgen (the code of `imchost
// pdp bench`) at every fleet size, all on loopback (one source address for
// the whole fleet, so the PDPs run with --max-conns-per-source -1). It writes the results as
// JSON for internal/benchreport's fleet section, and a CPU profile of the
// SQLite PDP at one fleet size.
package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
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
	Points   []Point   `json:"points"`
}

func main() {
	bin := flag.String("imchost", "out/imchost", "the imchost binary")
	sizesFlag := flag.String("endpoints", "1,8,64,256,1024", "fleet sizes")
	duration := flag.Duration("duration", 10*time.Second, "steady-state phase per fleet size")
	events := flag.Int("events", 100, "boot log events per endpoint")
	setups := flag.String("setups", "sqlite,postgres,postgres-2", "setups to measure")
	out := flag.String("o", "out/fleet.json", "results file")
	profile := flag.String("cpuprofile", "out/fleet-pdp-sqlite.pprof", "CPU profile of the SQLite PDP during -profile-size")
	profileSize := flag.Int("profile-size", 64, "fleet size of the profiled SQLite run")
	flag.Parse()
	if err := run(*bin, *sizesFlag, *setups, *duration, *events, *out, *profile, *profileSize); err != nil {
		fmt.Fprintln(os.Stderr, "fleetbench:", err)
		os.Exit(1)
	}
}

func run(bin, sizesFlag, setups string, duration time.Duration, events int, out, profile string, profileSize int) error {
	var sizes []int
	for _, s := range strings.Split(sizesFlag, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > loadgen.MaxEndpoints {
			return fmt.Errorf("-endpoints %q", s)
		}
		sizes = append(sizes, n)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	res := &Results{When: time.Now().UTC(), CPU: cpuModel(), Cores: runtime.NumCPU(),
		Load: strings.TrimSpace(string(load)), Duration: duration.String(), Events: events,
		Command: "go run ./internal/fleetbench " + strings.Join(relArgs(os.Args[1:]), " ")}
	var pg *pgtest.Server
	defer func() {
		if pg != nil {
			pg.Stop()
		}
	}()
	for _, setup := range strings.Split(setups, ",") {
		for _, n := range sizes {
			// A fresh database per point: every point's first contacts
			// are new devices on an empty store.
			var db string
			replicas := 1
			switch setup {
			case "sqlite":
				dir, err := os.MkdirTemp("", "fleetbench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				db = filepath.Join(dir, "pdp.db")
			case "postgres", "postgres-2":
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
				if setup == "postgres-2" {
					replicas = 2
				}
			default:
				return fmt.Errorf("unknown setup %q", setup)
			}
			prof := ""
			if setup == "sqlite" && n == profileSize {
				prof = profile
			}
			gen0 := selfCPU()
			rep, pdpCPU, err := point(bin, db, replicas, n, duration, events, prof)
			if err != nil {
				return fmt.Errorf("%s, %d endpoints: %w", setup, n, err)
			}
			pt := Point{Setup: setup, Replicas: replicas, Report: rep, PDPCPU: pdpCPU, GenCPU: selfCPU() - gen0}
			fmt.Printf("%s: %sPDP CPU %s, generator CPU %s\n", setup, rep, pt.PDPCPU.Round(time.Millisecond), pt.GenCPU.Round(time.Millisecond))
			res.Points = append(res.Points, pt)
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

// point starts the PDP processes, runs the fleet against them and stops
// them (SIGTERM, by PID); it returns the report and the PDPs' CPU time.
func point(bin, db string, replicas, n int, duration time.Duration, events int, profile string) (*loadgen.Report, time.Duration, error) {
	pool := x509.NewCertPool()
	var addrs []string
	var procs []*exec.Cmd
	var cpu time.Duration
	stop := func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
			cpu += p.ProcessState.UserTime() + p.ProcessState.SystemTime()
		}
		procs = nil
	}
	defer stop()
	for i := range replicas {
		dir, err := os.MkdirTemp("", "fleetbench-pdp-")
		if err != nil {
			return nil, 0, err
		}
		defer os.RemoveAll(dir)
		args := []string{"pdp", "serve", "--listen", "127.0.0.1:0", "--self-signed", dir, "--db", db,
			"--max-conns", "64", "--max-conns-per-source", "-1"}
		if profile != "" && i == 0 {
			args = append(args, "--cpuprofile", profile)
		}
		p, addr, err := startPDP(bin, args)
		if err != nil {
			return nil, 0, err
		}
		procs = append(procs, p)
		ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
		if err != nil {
			return nil, 0, err
		}
		pool.AppendCertsFromPEM(ca)
		addrs = append(addrs, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration+5*time.Minute)
	defer cancel()
	rep, err := loadgen.Run(ctx, loadgen.Config{Addrs: addrs, ServerName: "127.0.0.1", RootCAs: pool,
		Endpoints: n, Events: events, Duration: duration, Timeout: 2 * time.Minute})
	stop()
	return rep, cpu, err
}

var listening = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// startPDP runs pdp serve and waits for its "listening on" line; the rest
// of its output is discarded.
func startPDP(bin string, args []string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, args...)
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
