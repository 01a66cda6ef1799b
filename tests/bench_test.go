package tests

// End-to-end benchmarks for BENCHMARKS.md (`make bench`; the harness in
// internal/benchreport reads the custom metrics reported here). The unit
// benchmarks of the packages (host, tpmhost, sdk/patnc, tnccs, pdp) are
// referenced there, not repeated here.

import (
	"context"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/internal/testutil"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/hosttest"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
)

// median returns the median of xs (xs is sorted in place).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchPDP is the project's PDP on loopback, learning then enforcing, quiet.
func benchPDP(b *testing.B) *pdpEnv {
	return startPDP(b, pdp.Config{Policy: pdp.DefaultPolicy(), Logger: hclog.NewNullLogger()})
}

// BenchmarkAttestation is one full attestation in process: both built IMC
// modules in the real host (loaded once, shared compilation cache), the
// bundled boot log, swtpm, the project's PDP over PT-TLS on loopback. It
// reports the median wall time per attestation (ms-median) besides ns/op.
func BenchmarkAttestation(b *testing.B) {
	needModules(b)
	env := newTPMEnv(b, bundledLog)
	h := hosttest.Start(b, &host.Config{IMCs: imcConfigs(b, env.logPath)}, host.Options{Logger: hclog.NewNullLogger(),
		Platform: capability.NewTPMPlatform(env.tpm, capability.TPMPlatformOptions{Root: fixtureRoot(b, false),
			EventLogPath: env.logPath, Logger: hclog.NewNullLogger()}), CompilationCache: compCache})
	p := benchPDP(b)
	cfg := tnccs.ClientConfig{Addr: p.addr}
	cfg.PTTLS.RootCAs, cfg.PTTLS.ServerName = p.pool, pdpName
	once := func() time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
		defer cancel()
		start := time.Now()
		res, err := tnccs.Dial(ctx, cfg, h)
		d := time.Since(start)
		if err != nil || !res.Decided || res.Recommendation != pb.RecommendationAllowed {
			b.Fatalf("attestation: %v, %+v", err, res)
		}
		return d
	}
	once() // the PDP learns the machine (registration) outside the timing
	var walls []float64
	for b.Loop() {
		walls = append(walls, ms(once()))
	}
	b.ReportMetric(median(walls), "ms-median")
}

// cliBinary returns the imchost binary: $IMCHOST_BIN (`make bench` passes
// out/imchost), else one built for the benchmark as `make build` builds it.
func cliBinary(b *testing.B) string {
	if p := os.Getenv("IMCHOST_BIN"); p != "" {
		return p
	}
	out := filepath.Join(b.TempDir(), "imchost")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "../cmd/imchost")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/imchost: %v\n%s", err, o)
	}
	return out
}

// statsRSS finds the peak RSS in `imchost run --stats`'s last line.
var statsRSS = regexp.MustCompile(`imchost: stats: .*peak rss (\d+) kB`)

// cliSample is one `imchost run` child process.
type cliSample struct {
	wall, cpu, firstBatch time.Duration
	maxRSS                int64 // bytes
}

// BenchmarkCLIRun runs `imchost run` as a child process against the
// in-process PDP on swtpm with the bundled log, with a warm compilation
// cache (populated by a first run) and a cold one (a new empty cache
// directory per run). Per run: wall time, user+system CPU time from the
// child's rusage, peak RSS as the child reports it (--stats: VmHWM), and
// start → first batch (the child's start to the PDP's arrival of its first
// PB-TNC batch). Medians are reported.
func BenchmarkCLIRun(b *testing.B) {
	needModules(b)
	bin := cliBinary(b)
	env := newTPMEnv(b, bundledLog)
	env.release() // swtpm serves one connection at a time: the child's
	logPath, err := filepath.Abs(bundledLog)
	if err != nil {
		b.Fatal(err)
	}
	imcs := imcConfigs(b, logPath)
	root := fixtureRoot(b, false)
	p := benchPDP(b)
	_, port, _ := net.SplitHostPort(p.addr)
	outcomes := 0
	run := func(b *testing.B, cacheDir string) cliSample {
		cfg := filepath.Join(b.TempDir(), "config.toml")
		writeConfig(b, cfg, imcs, cacheDir)
		ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "run", "--config", cfg, "-c", "127.0.0.1", "-p", port, "--ca", p.caPEM,
			"--server-name", pdpName, "--tpm", env.inst.Spec, "--root", root, "--eventlog", logPath, "--quiet", "--stats")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		if err != nil {
			b.Fatalf("imchost run: %v\n%s", err, out.String())
		}
		outcomes++
		outs, err := p.srv.WaitOutcomes(ctx, outcomes)
		if err != nil {
			b.Fatal(err)
		}
		o := outs[outcomes-1]
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		// The peak RSS as the child reports it (VmHWM): the rusage's
		// ru_maxrss carries this process's own high-water mark into the
		// child (vfork and exec), and this process is the larger one.
		m := statsRSS.FindStringSubmatch(out.String())
		if m == nil {
			b.Fatalf("no stats line from imchost run --stats:\n%s", out.String())
		}
		kb, _ := strconv.ParseInt(m[1], 10, 64)
		return cliSample{wall: wall, firstBatch: o.Start.Sub(start),
			cpu:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
			maxRSS: kb * 1024}
	}
	report := func(b *testing.B, s []cliSample) {
		var wall, cpu, first, rss []float64
		for _, x := range s {
			wall, cpu, first = append(wall, ms(x.wall)), append(cpu, ms(x.cpu)), append(first, ms(x.firstBatch))
			rss = append(rss, float64(x.maxRSS)/(1<<20))
		}
		b.ReportMetric(median(wall), "ms-median")
		b.ReportMetric(median(cpu), "cpu-ms-median")
		b.ReportMetric(median(first), "first-batch-ms-median")
		b.ReportMetric(median(rss), "MB-peak-rss-median")
	}
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		run(b, dir) // compiles into the cache; the PDP learns the machine
		var s []cliSample
		for b.Loop() {
			s = append(s, run(b, dir))
		}
		report(b, s)
	})
	b.Run("cold", func(b *testing.B) {
		var s []cliSample
		for b.Loop() {
			s = append(s, run(b, b.TempDir()))
		}
		report(b, s)
	})
}

// evidenceMessage returns the recorded strongSwan evidence message (Symlinks,
// 105 Simple Component Evidence, Simple Evidence Final: 107 attributes).
func evidenceMessage(b *testing.B) ([]byte, *patnc.Message) {
	data, err := os.ReadFile(testutil.Data("strongswan", "pa", "09_01_c2s_TCG-PTS_imc2_imv2.txt"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "hex: "); ok {
			raw, err := hex.DecodeString(h)
			if err != nil {
				b.Fatal(err)
			}
			m, err := patnc.ParseMessage(raw)
			if err != nil {
				b.Fatal(err)
			}
			return raw, m
		}
	}
	b.Fatal("no hex line in the evidence vector")
	return nil, nil
}

// BenchmarkPATNCEvidence decodes and encodes PA-TNC evidence messages: the
// recorded one (105 component evidence attributes) and one of 1000
// attributes made of the recorded ones repeated (sdk/patnc's
// BenchmarkParse1000 uses random attributes of every type instead).
func BenchmarkPATNCEvidence(b *testing.B) {
	raw, m := evidenceMessage(b)
	big := &patnc.Message{ID: m.ID}
	for i := 0; len(big.Attrs) < 1000; i++ {
		big.Attrs = append(big.Attrs, m.Attrs[i%len(m.Attrs)])
	}
	bigRaw, err := big.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		raw  []byte
		m    *patnc.Message
	}{{"105", raw, m}, {"1000", bigRaw, big}} {
		b.Run("decode/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := patnc.ParseMessage(c.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("encode/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.m.Marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
