package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/sidebyside"
)

// Side by side (issue 22): `imchost run` and strongSwan's pt-tls-client
// attest the same endpoint (one swtpm, one AK, the same boot log) to the
// same PDP, interleaved A B A B, and each run's wall time, CPU time, peak
// RSS and start → first batch at the PDP are written to a JSON file that
// internal/benchreport turns into BENCHMARKS.md's side-by-side table.
// `make bench-strongswan` runs it (and `make bench` when the strongSwan peer
// is built). No figure is asserted: only that every attestation is decided
// and compliant.

const (
	// envSideBySide names the JSON file TestSideBySide writes; unset, it
	// skips.
	envSideBySide = "IMCHOST_SIDE_BY_SIDE"
	// envSideBySideN is the number of runs of each client per PDP (10).
	envSideBySideN = "IMCHOST_SIDE_BY_SIDE_N"
	// envSideBySideBase names another imchost binary (say, main's before a
	// change) run as a third client "imchost-base" in the same rotation:
	// a change's before and after, measured side by side.
	envSideBySideBase = "IMCHOST_SIDE_BY_SIDE_BASE"
	// envSideBySideProfile names a directory: each imchost run (this
	// tree's binary) writes its CPU profile and execution trace there
	// (run-PDP-N.pprof, .trace; `go tool pprof -top`), and its output
	// (.out). Profiling costs some CPU: figures of such a run are not for
	// BENCHMARKS.md.
	envSideBySideProfile = "IMCHOST_SIDE_BY_SIDE_PROFILE"
	// timeBin measures each client as its parent: GNU time forks (not
	// vfork) and waits, so the peak RSS it reports is the client's own,
	// not carried over from this much larger test process.
	timeBin = "/usr/bin/time"
)

// baseSide is the imchost binary of envSideBySideBase.
const baseSide side = "imchost-base"

var (
	// timeLine is GNU time's -f "%e %U %S %M" line.
	timeLine = regexp.MustCompile(`(?m)^([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9]+)$`)
	// firstBatch is what both PDPs log (at level 2) on a client's batch.
	firstBatch = regexp.MustCompile(`received TNCCS batch`)
)

func TestSideBySide(t *testing.T) {
	out := os.Getenv(envSideBySide)
	if out == "" {
		t.Skip(envSideBySide + " names no output file (make bench-strongswan)")
	}
	if _, err := os.Stat(timeBin); err != nil {
		t.Fatalf("%s (GNU time, Debian's package time) measures each client: %v", timeBin, err)
	}
	n := 10
	if s := os.Getenv(envSideBySideN); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", envSideBySideN, s)
		}
	}
	p := needPeer(t)
	bin, wasm := tools(t)
	res := sidebyside.Result{When: time.Now().UTC().Format("2006-01-02 15:04 UTC"), CPU: cpuModel(), Cores: runtime.NumCPU(),
		Runs: n, Log: filepath.Base(bootLog), LoadAvg: []string{loadAvg()}}
	e := newEndpoint(t, bootLog)
	dir := t.TempDir()
	// strongSwan's client runs its OS and Attestation IMCs (ssClient's
	// tnc_config); imchost runs the same two, not the shipped SWIMA IMC.
	res.IMCs = []string{"OS", "Attestation"}
	imCfg := imchostConfig(t, dir, sameIMCs(t, res.IMCs, false))
	// The base binary may predate config keys of this tree ([[imc]] lazy
	// and prefetch): it runs without them.
	baseCfg := imchostConfig(t, t.TempDir(), sameIMCs(t, res.IMCs, true))
	root := fixtureRoot(t, false)
	stats := filepath.Join(dir, "time.txt")
	timed := func(argv ...string) []string {
		return append([]string{timeBin, "-f", "%e %U %S %M", "-o", stats}, argv...)
	}
	// one run of a client; pdpProc is the PDP's process (its log's clock).
	type runFn func(t *testing.T) (out string, start time.Time, wall time.Duration)
	for _, pdpSide := range []side{strongSwanSide, imchostSide} {
		var pdp anyPDP
		var pdpProc *proc
		if pdpSide == strongSwanSide {
			ss := startStrongSwanPDP(t, p, ssPDPOptions{users: defaultUser})
			pdp, pdpProc = anyPDP{side: pdpSide, port: ss.port, ca: ss.pki.ca.file, ss: ss}, ss.charon
		} else {
			im := startImchostPDP(t, imPDPOptions{users: defaultUser, debug: "2"})
			pdp, pdpProc = anyPDP{side: pdpSide, port: im.port, ca: im.pki.ca.file, im: im}, im.proc
		}
		profDir, profRun := os.Getenv(envSideBySideProfile), 0
		imchostWith := func(bin, imCfg string, profile bool) runFn {
			return func(t *testing.T) (string, time.Time, time.Duration) {
				args := []string{bin, "run", "--config", imCfg, "-c", "127.0.0.1", "-p", strconv.Itoa(pdp.port),
					"--ca", pdp.ca, "--tpm", e.tpm.Spec, "--eventlog", e.logPath, "--root", root, "--wasm-dir", wasm,
					"--timeout", "2m", "--debug", "1", "--client", "alice", "--secret", "s3cret"}
				var prof string
				if profile && profDir != "" {
					profRun++
					prof = filepath.Join(profDir, fmt.Sprintf("run-%s-%d", pdpSide, profRun))
					args = append(args, "--cpuprofile", prof+".pprof", "--trace", prof+".trace")
				}
				start := time.Now()
				c := startQuiet(t, "imchost run", nil, nsWrap(nil, timed(args...)...)...)
				c.wait(3 * time.Minute)
				if prof != "" {
					_ = os.WriteFile(prof+".out", []byte(c.output()), 0o644)
				}
				return c.output(), start, time.Since(start)
			}
		}
		clients := map[side]runFn{
			imchostSide: imchostWith(bin, imCfg, true),
			strongSwanSide: func(t *testing.T) (string, time.Time, time.Duration) {
				start := time.Now()
				o := ssClient(t, p, e, pdp.port, pdp.ca, ssClientOptions{wrap: timed(), args: append([]string{"--debug", "1"}, saslArgs...)})
				return o, start, time.Since(start)
			},
		}
		outcomeOf := map[side]func(string) outcome{
			imchostSide:    func(s string) outcome { return imRun{stdout: s}.outcome() },
			strongSwanSide: ssOutcome,
		}
		// The first run of each fills the caches (imchost's compilation
		// cache, the PDP's learnt device and measurements); not counted.
		order := []side{imchostSide, strongSwanSide}
		if base := os.Getenv(envSideBySideBase); base != "" {
			clients[baseSide], outcomeOf[baseSide] = imchostWith(base, baseCfg, false), outcomeOf[imchostSide]
			order = append(order, baseSide)
		}
		for _, c := range order {
			o, _, _ := clients[c](t)
			if got := outcomeOf[c](o); got.result != "compliant" {
				t.Fatalf("%s client against %s's PDP, first run: %q\n%s\nPDP:\n%s", c, pdpSide, got.result, o, pdp.log())
			}
		}
		series := map[side]*sidebyside.Series{}
		for _, c := range order {
			series[c] = &sidebyside.Series{Client: string(c), PDP: string(pdpSide)}
		}
		for i := 0; i < n; i++ {
			for _, c := range order {
				o, start, wall := clients[c](t)
				if got := outcomeOf[c](o); got.result != "compliant" || got.recommendation != "Access Allowed" {
					t.Fatalf("%s client against %s's PDP, run %d: %q, %q\n%s", c, pdpSide, i+1, got.result, got.recommendation, o)
				}
				cpu, rss := readTime(t, stats)
				s := series[c]
				s.WallMS = append(s.WallMS, ms(wall))
				s.CPUMS = append(s.CPUMS, cpu)
				s.RSSKiB = append(s.RSSKiB, rss)
				if at, ok := pdpProc.clock.first(firstBatch, start); ok {
					s.FirstBatchMS = append(s.FirstBatchMS, ms(at.Sub(start)))
				} else {
					t.Errorf("%s's PDP logged no received batch for the %s client's run %d", pdpSide, c, i+1)
				}
			}
		}
		for _, c := range order {
			res.Pairs = append(res.Pairs, *series[c])
			t.Logf("%s client → %s PDP: wall %.0f ms, CPU %.0f ms, peak RSS %.1f MiB, first batch %.0f ms (medians of %d)",
				c, pdpSide, sidebyside.Median(series[c].WallMS), sidebyside.Median(series[c].CPUMS), sidebyside.Median(series[c].RSSKiB)/1024, sidebyside.Median(series[c].FirstBatchMS), n)
		}
	}
	res.Wrapper = sidebyside.Series{Client: "wrapper only (/bin/true)"}
	for i := 0; i < n; i++ {
		start := time.Now()
		c := startQuiet(t, "wrapper", nil, nsWrap(nil, timed("/bin/true")...)...)
		c.wait(time.Minute)
		cpu, rss := readTime(t, stats)
		res.Wrapper.WallMS = append(res.Wrapper.WallMS, ms(time.Since(start)))
		res.Wrapper.CPUMS = append(res.Wrapper.CPUMS, cpu)
		res.Wrapper.RSSKiB = append(res.Wrapper.RSSKiB, rss)
	}
	res.LoadAvg = append(res.LoadAvg, loadAvg())
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("written to %s (load average %s → %s)", out, res.LoadAvg[0], res.LoadAvg[1])
}

// startQuiet is start for a process whose output only this test reads.
func startQuiet(t *testing.T, name string, env []string, argv ...string) *proc {
	t.Helper()
	if _, err := exec.LookPath(argv[0]); err != nil {
		t.Fatal(err)
	}
	return start(t, name, env, argv...)
}

// readTime reads GNU time's line: CPU (user + system) in ms and the peak
// RSS in KiB.
func readTime(t *testing.T, path string) (cpuMS, rssKiB float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := timeLine.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("%s: no \"%%e %%U %%S %%M\" line in %q", path, b)
	}
	u, _ := strconv.ParseFloat(m[2], 64)
	s, _ := strconv.ParseFloat(m[3], 64)
	rss, _ := strconv.ParseFloat(m[4], 64)
	return (u + s) * 1000, rss
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuModel is /proc/cpuinfo's first model name.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprint(strings.TrimSpace(string(b)))
}

// sameIMCs is an imchostConfig edit that keeps only the IMCs named (in the
// file's order), dropping every [[imc]] lazy and prefetch key when noLazy
// is set.
func sameIMCs(t *testing.T, names []string, noLazy bool) func(cfg map[string]any) {
	return func(cfg map[string]any) {
		var keep []map[string]any
		for _, imc := range cfg["imc"].([]map[string]any) {
			if slices.Contains(names, imc["name"].(string)) {
				if noLazy {
					delete(imc, "lazy")
					delete(imc, "prefetch")
				}
				keep = append(keep, imc)
			}
		}
		if len(keep) != len(names) {
			t.Fatalf("want the IMCs %v, found %d of them", names, len(keep))
		}
		cfg["imc"] = keep
	}
}
