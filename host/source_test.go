package host

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// mappedRss returns the resident kB of this process's mappings of path and
// how many there are, from /proc/self/smaps.
func mappedRss(t *testing.T, path string) (kb, n int) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[5] == path
			if in {
				n++
			}
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			v, _ := strconv.Atoi(fields[1])
			kb += v
		}
	}
	return kb, n
}

// TestSourceMapping: a rewrite read back from the cache is compiled from a
// mapping of its file whose pages are given back once compiled, and which
// lives exactly as long as the compiled module: while the host runs the
// module (which works from it), not after Close, and not when the cached
// copy was damaged and rewritten.
func TestSourceMapping(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sources are mapped on Linux only")
	}
	dir := t.TempDir()
	src, err := os.ReadFile(modPath("hello"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hello.wasm")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() (*Host, *logBuf) {
		t.Helper()
		log, buf := testLogger(t)
		cfg := &Config{IMCs: []IMCConfig{{Name: "Hello", Path: path, Grants: helloGrants}}}
		cfg.Wasm.CacheDir = filepath.Join(dir, "cache")
		h, err := New(cfg, Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LoadIMCs(context.Background()); err != nil {
			h.Close(context.Background())
			t.Fatal(err)
		}
		return h, buf
	}

	// First start: rewritten in memory, nothing mapped.
	h, _ := start()
	if n := h.srcMaps.Load(); n != 0 {
		t.Errorf("a fresh rewrite is mapped (%d)", n)
	}
	h.Close(context.Background())
	kept, _ := filepath.Glob(filepath.Join(dir, "cache", rewritePrefix+"*"))
	if len(kept) != 1 {
		t.Fatalf("cached rewrites: %v", kept)
	}

	// Second start: compiled from the mapped copy, whose pages are gone
	// again once it is compiled; the module runs.
	h, _ = start()
	if n := h.srcMaps.Load(); n != 1 {
		t.Errorf("%d sources mapped while the module is loaded, want 1", n)
	}
	kb, n := mappedRss(t, kept[0])
	if n != 1 || kb > 8 {
		t.Errorf("the cached rewrite: %d mappings, %d kB resident; want 1 mapping, its pages given back", n, kb)
	}
	first, second := exchange(t, h, 1)
	if len(first) == 0 || len(second) == 0 {
		t.Errorf("the module compiled from the mapping did not answer: %v / %v", first, second)
	}
	h.Close(context.Background())
	if n := h.srcMaps.Load(); n != 0 {
		t.Errorf("%d sources still mapped after Close", n)
	}
	if _, n := mappedRss(t, kept[0]); n != 0 {
		t.Errorf("the cached rewrite is still mapped %d times after Close", n)
	}

	// A damaged cached copy: its mapping is closed and the fresh rewrite
	// takes its place.
	if err := os.WriteFile(kept[0], append([]byte("\x00asm\x01\x00\x00\x00"), 0xff, 0xff), 0o600); err != nil {
		t.Fatal(err)
	}
	h, logs := start()
	if !strings.Contains(logs.String(), "rewriting it") {
		t.Errorf("the damaged copy was not reported:\n%s", logs)
	}
	if n := h.srcMaps.Load(); n != 0 {
		t.Errorf("%d sources mapped after the damaged copy was replaced", n)
	}
	h.Close(context.Background())

	// A cached copy that compiles but fails its checks (it subscribes to
	// nothing): its mapping goes with the refused module.
	bad := filepath.Join(dir, "nosubscribe.wasm")
	if b, err := os.ReadFile(modPath("nosubscribe")); err != nil || os.WriteFile(bad, b, 0o600) != nil {
		t.Fatal("copying the nosubscribe module", err)
	}
	for i := 0; i < 2; i++ { // the second load reads the cached rewrite
		cfg := &Config{IMCs: []IMCConfig{{Name: "NoSubscribe", Path: bad, Grants: helloGrants}}}
		cfg.Wasm.CacheDir = filepath.Join(dir, "cache")
		log, _ := testLogger(t)
		h, err := New(cfg, Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LoadIMCs(context.Background()); !errors.Is(err, ErrInit) {
			t.Errorf("load %d of a module that subscribes to nothing: %v", i+1, err)
		}
		if n := h.srcMaps.Load(); n != 0 {
			t.Errorf("load %d: %d sources mapped after the module was refused", i+1, n)
		}
		h.Close(context.Background())
	}
}
