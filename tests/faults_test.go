package tests

// Faults of the client's own machine: the TPM disappears mid-session
// (swtpm killed), the boot event log vanishes or is truncated between
// reads, the compilation cache is unwritable or corrupted. Each must end
// with a clear error (or a logged fallback), no crash, nothing left
// behind, and the next attempt must recover.

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/hosttest"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
)

// logSink keeps a host's log lines for assertions and copies them to the
// test log.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
	t   testing.TB
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	s.mu.Unlock()
	s.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *logSink) logger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Debug, Output: s, DisableTime: true})
}

// faultHost is a host of the shipped IMCs whose logs are kept; cacheDir ""
// shares the test binary's compilation cache.
func faultHost(t *testing.T, p capability.Platform, logPath, cacheDir string) (*host.Host, *logSink, error) {
	t.Helper()
	sink := &logSink{t: t}
	cfg := &host.Config{IMCs: imcConfigs(t, logPath)}
	opts := host.Options{Logger: sink.logger(""), Platform: p}
	if cacheDir == "" {
		opts.CompilationCache = compCache
	} else {
		cfg.Wasm.CacheDir = cacheDir
	}
	h, err := hosttest.Load(t, cfg, opts)
	return h, sink, err
}

// notAllowed checks an attempt that must not end with access: an error of
// the client's own or a decision other than Access Allowed, before the
// test's deadline.
func notAllowed(t *testing.T, ctx context.Context, res *tnccs.Result, err error) {
	t.Helper()
	outcome := "no decision"
	if res != nil && res.Decided {
		outcome = fmt.Sprintf("%s, %s, reasons %q", res.AssessmentResult, res.Recommendation, reasonTexts(res))
	}
	t.Logf("client: error %v; %s", err, outcome)
	switch {
	case ctx.Err() != nil:
		t.Fatalf("the attempt hung until the test's deadline: %v", err)
	case err == nil && (res == nil || !res.Decided):
		t.Fatalf("no error and no decision: %+v", res)
	case err == nil && res.Recommendation == pb.RecommendationAllowed:
		t.Fatalf("access allowed despite the fault: %+v", res)
	}
}

// TestFaultTPMKilled: swtpm is killed (SIGKILL by its PID) when the client
// has seen batch n: the attempt fails with the TPM named in the logs, no
// crash, no IMC instance or goroutine left; a new attempt on a new swtpm
// (what the next `imchost run` does) is assessed normally.
func TestFaultTPMKilled(t *testing.T) {
	needModules(t)
	for _, n := range []int{2, 4, 8} {
		t.Run(fmt.Sprintf("AfterBatch%d", n), func(t *testing.T) {
			env := newTPMEnv(t, bundledLog)
			h, sink, err := faultHost(t, env.platform(t, fixtureRoot(t, false)), env.logPath, "")
			if err != nil {
				t.Fatal(err)
			}
			p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
			rec := &recorder{hook: func(i int, r recorded) {
				if i == n {
					if err := syscall.Kill(env.inst.PID, syscall.SIGKILL); err != nil {
						t.Errorf("kill swtpm: %v", err)
					}
				}
			}}
			ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
			defer cancel()
			res, err := attest(ctx, t, p, h, rec)
			notAllowed(t, ctx, res, err)
			if logs := sink.String(); !strings.Contains(logs, "TPM transport failure (") || !strings.Contains(logs, "the TPM stopped answering") {
				t.Errorf("the host's logs do not name the TPM failure")
			}
			if k := h.Instances(); k != 0 {
				t.Errorf("%d IMC instances left", k)
			}
			p.srv.Close()
			<-p.served
			noGoroutines(t, connGoroutines...)

			env2 := newTPMEnv(t, bundledLog)
			h2, _, err := faultHost(t, env2.platform(t, fixtureRoot(t, false)), env2.logPath, "")
			if err != nil {
				t.Fatal(err)
			}
			p2 := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
			res2, out := attestOK(t, p2, h2, nil, 1)
			if res2.Recommendation != pb.RecommendationAllowed || out.Verdict.Access != pdp.AccessAllowed {
				t.Fatalf("recovery on a new swtpm: %+v / %+v", res2, out.Verdict)
			}
		})
	}
}

// TestFaultEventLog: the boot event log the Attestation IMC reads vanishes
// or is cut in half, between attestations and during one; the PDP never
// allows access on it, the client ends cleanly, and once the file is back
// the next attestation is compliant again.
func TestFaultEventLog(t *testing.T) {
	needModules(t)
	orig, err := os.ReadFile(bundledLog)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "binary_bios_measurements")
	restore := func() {
		if err := os.WriteFile(logPath, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	restore()
	env := newTPMEnv(t, logPath)
	h, sink, err := faultHost(t, env.platform(t, fixtureRoot(t, false)), logPath, "")
	if err != nil {
		t.Fatal(err)
	}
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
	nOut := 1
	if res, out := attestOK(t, p, h, nil, nOut); res.Recommendation != pb.RecommendationAllowed {
		t.Fatalf("first attestation: %+v", out.Verdict)
	}
	remove := func() {
		if err := os.Remove(logPath); err != nil {
			t.Fatal(err)
		}
	}
	truncate := func() {
		if err := os.WriteFile(logPath, orig[:len(orig)/2], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		fault func()
		at    int // 0: before the attempt, else when the client has seen batch at
		words string
	}{
		{"vanished", remove, 0, "no such file"},
		{"truncated", truncate, 0, "bytes declared"},
		{"vanished mid-session", remove, 2, "no such file"},
		{"truncated mid-session", truncate, 2, "bytes declared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink.t = t
			mark := len(sink.String())
			rec := &recorder{}
			if tc.at == 0 {
				tc.fault()
			} else {
				rec.hook = func(i int, _ recorded) {
					if i == tc.at {
						tc.fault()
					}
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
			defer cancel()
			res, err := attest(ctx, t, p, h, rec)
			notAllowed(t, ctx, res, err)
			nOut++
			outs, werr := p.srv.WaitOutcomes(ctx, nOut)
			if werr != nil {
				t.Fatal(werr)
			}
			o := outs[nOut-1]
			t.Logf("PDP: %+v", o.Verdict)
			if o.Verdict.Access == pdp.AccessAllowed {
				t.Errorf("the PDP allowed access on a %s log", tc.name)
			}
			if logs := sink.String()[mark:]; !strings.Contains(logs, tc.words) {
				t.Errorf("the host's logs do not say %q", tc.words)
			}
			if k := h.Instances(); k != 0 {
				t.Errorf("%d IMC instances left", k)
			}
			restore()
			nOut++
			if res, out := attestOK(t, p, h, nil, nOut); res.Recommendation != pb.RecommendationAllowed {
				t.Fatalf("after restoring the log: %+v", out.Verdict)
			}
		})
	}
}

// TestFaultCompilationCache: the [wasm] cache_dir cannot be created or
// written (a file where the directory should be), or its entries are
// corrupted or truncated after a first run: the host falls back (user
// cache directory, else memory) or empties the cache and recompiles, says
// so in its logs, and attests.
func TestFaultCompilationCache(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	plat := env.platform(t, fixtureRoot(t, false))
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
	nOut := 0
	attestAllowed := func(t *testing.T, h *host.Host) {
		t.Helper()
		nOut++
		res, out := attestOK(t, p, h, nil, nOut)
		if res.Recommendation != pb.RecommendationAllowed || out.Verdict.Access != pdp.AccessAllowed {
			t.Fatalf("attestation: %+v / %+v", res, out.Verdict)
		}
	}
	blocker := func(t *testing.T) string { // a regular file: no directory can be made below it
		f := filepath.Join(t.TempDir(), "not-a-dir")
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	spoil := func(t *testing.T, dir string, how func(path string, size int64) error) {
		n := 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n++
			return how(path, fi.Size())
		})
		if err != nil || n == 0 {
			t.Fatalf("spoiling %d cache entries: %v", n, err)
		}
		t.Logf("spoiled %d cache entries", n)
	}

	t.Run("unwritable, user cache dir fallback", func(t *testing.T) {
		xdg := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", xdg)
		dir := filepath.Join(blocker(t), "cache")
		h, sink, err := faultHost(t, plat, env.logPath, dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(xdg, "imchost"); h.CacheDir() != want {
			t.Errorf("cache dir %q, want the fallback %q", h.CacheDir(), want)
		}
		if !strings.Contains(sink.String(), "is not writable") {
			t.Errorf("the fallback is not logged")
		}
		attestAllowed(t, h)
	})
	t.Run("unwritable, no fallback: memory only", func(t *testing.T) {
		t.Setenv("XDG_CACHE_HOME", blocker(t))
		t.Setenv("HOME", blocker(t))
		h, sink, err := faultHost(t, plat, env.logPath, filepath.Join(blocker(t), "cache"))
		if err != nil {
			t.Fatal(err)
		}
		if h.CacheDir() != "" {
			t.Errorf("cache dir %q, want none", h.CacheDir())
		}
		if !strings.Contains(sink.String(), "no writable compilation cache directory") {
			t.Errorf("the memory-only fallback is not logged")
		}
		attestAllowed(t, h)
	})
	for _, tc := range []struct {
		name string
		how  func(path string, size int64) error
	}{
		{"entries overwritten with garbage", func(path string, size int64) error {
			return os.WriteFile(path, bytes.Repeat([]byte{0xa5}, int(size)), 0o600)
		}},
		{"entries truncated", func(path string, size int64) error { return os.Truncate(path, size/2) }},
		{"entries emptied", func(path string, size int64) error { return os.Truncate(path, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			h, _, err := faultHost(t, plat, env.logPath, dir)
			if err != nil {
				t.Fatal(err)
			}
			h.Close(context.Background())
			spoil(t, dir, tc.how)
			// The first start on the spoiled cache warns, drops what does not
			// authenticate and compiles again (71cde69; before it, every
			// start failed with "does not compile: compilationcache: ...").
			// Every entry carries a MAC now (host/integrity.go), so damage is
			// caught before wazero reads it.
			h2, sink, err := faultHost(t, plat, env.logPath, dir)
			if err != nil {
				t.Fatalf("start on the spoiled cache: %v", err)
			}
			// (A spoiled key is replaced, and every entry is made again.)
			if s := sink.String(); !strings.Contains(s, "fails its authentication") && !strings.Contains(s, "is damaged") &&
				!strings.Contains(s, "replaced by a new key") {
				t.Errorf("the damaged cache is not reported in the logs")
			}
			attestAllowed(t, h2)
		})
	}
}
