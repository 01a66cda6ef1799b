package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// idleSample is one imchost run --interval process measured after three
// attestations.
type idleSample struct {
	idleRSS  float64 // MB, VmRSS while waiting for the fourth
	attestMS float64 // mean duration of attestations 2 and 3
	loadMS   float64 // mean time of loading the modules for them
	cpuMS    float64 // CPU time (user+system) per attestation, 2 and 3
}

// cpuTime reads a process's user+system CPU time from /proc (clock ticks
// of 10 ms).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	_, rest, _ := strings.Cut(string(b), ") ") // after the command name
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, io.ErrUnexpectedEOF
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

// vmRSS reads a process's resident set (kB) from /proc.
func vmRSS(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, io.ErrUnexpectedEOF
}

// BenchmarkCLIIdle measures an idle `imchost run --interval` agent: its
// resident set after three attestations, waiting for the fourth, with the
// modules released between attestations (the default) and kept loaded
// (--keep-loaded), side by side in one run; and what releasing costs each
// attestation (its duration with and without, and the load time itself).
// Each iteration runs both processes against swtpm and a loopback PDP.
func BenchmarkCLIIdle(b *testing.B) {
	needModules(b)
	bin := cliBinary(b)
	env := newTPMEnv(b, bundledLog)
	env.release()
	logPath, err := filepath.Abs(bundledLog)
	if err != nil {
		b.Fatal(err)
	}
	cfg := filepath.Join(b.TempDir(), "config.toml")
	writeConfig(b, cfg, imcConfigs(b, logPath), cacheDir)
	root := fixtureRoot(b, false)
	p := benchPDP(b)
	_, port, _ := net.SplitHostPort(p.addr)

	measure := func(extra ...string) idleSample {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args := append([]string{"run", "--config", cfg, "-c", "127.0.0.1", "-p", port, "--ca", p.caPEM,
			"--server-name", pdpName, "--tpm", env.inst.Spec, "--root", root, "--eventlog", logPath,
			"--quiet", "--interval", "1s", "--output", "json"}, extra...)
		cmd := exec.CommandContext(ctx, bin, args...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}()
		sc := bufio.NewScanner(stdout)
		var s idleSample
		for n := 1; n <= 3; n++ {
			if !sc.Scan() {
				b.Fatalf("imchost run ended before attestation %d: %v", n, sc.Err())
			}
			var x struct {
				Result     string  `json:"result"`
				DurationMS float64 `json:"duration_ms"`
				LoadMS     float64 `json:"load_ms"`
			}
			if err := json.Unmarshal(sc.Bytes(), &x); err != nil || x.Result != "allowed" {
				b.Fatalf("attestation %d: %s (%v)", n, sc.Text(), err)
			}
			if n > 1 {
				s.attestMS += x.DurationMS / 2
				s.loadMS += x.LoadMS / 2
			}
			if n == 1 || n == 3 {
				c, err := cpuTime(cmd.Process.Pid)
				if err != nil {
					b.Fatal(err)
				}
				if n == 1 {
					s.cpuMS = -float64(c.Milliseconds())
				} else {
					s.cpuMS = (s.cpuMS + float64(c.Milliseconds())) / 2
				}
			}
		}
		time.Sleep(300 * time.Millisecond) // the release is done; the next attestation is 0.7 s away
		if s.idleRSS, err = vmRSS(cmd.Process.Pid); err != nil {
			b.Fatal(err)
		}
		return s
	}
	var released, kept []idleSample
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		released = append(released, measure())
		kept = append(kept, measure("--keep-loaded"))
	}
	b.StopTimer()
	med := func(s []idleSample, f func(idleSample) float64) float64 {
		v := make([]float64, len(s))
		for i := range s {
			v[i] = f(s[i])
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	rss := func(s idleSample) float64 { return s.idleRSS }
	dur := func(s idleSample) float64 { return s.attestMS }
	b.ReportMetric(med(released, rss), "idle-MB-released")
	b.ReportMetric(med(kept, rss), "idle-MB-kept")
	b.ReportMetric(med(released, dur), "ms-attestation-released")
	b.ReportMetric(med(kept, dur), "ms-attestation-kept")
	b.ReportMetric(med(released, dur)-med(kept, dur), "extra-ms")
	b.ReportMetric(med(released, func(s idleSample) float64 { return s.loadMS }), "load-ms")
	cpu := func(s idleSample) float64 { return s.cpuMS }
	b.ReportMetric(med(released, cpu), "cpu-ms-attestation-released")
	b.ReportMetric(med(kept, cpu), "cpu-ms-attestation-kept")
	b.ReportMetric(med(released, cpu)-med(kept, cpu), "extra-cpu-ms")
	b.ReportMetric(0, "ns/op")
}
