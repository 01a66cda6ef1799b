package host

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/host/internal/wasmstop"
)

// TestPruneCache: what no start reads again goes (rewrites of another
// wasmstop version, abandoned temporary files, entries unused for
// cacheMaxAge, in every wazero directory); what is fresh or in use stays.
func TestPruneCache(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old := now.Add(-cacheMaxAge - time.Hour)
	files := map[string]time.Time{ // name -> access and modification time
		"wasmstop-v" + wasmstop.Version + "-aaaa.wasm": now.Add(-time.Hour),     // in use
		"wasmstop-v" + wasmstop.Version + "-bbbb.wasm": old,                     // unused for too long
		"wasmstop-v0-cccc.wasm":                        now,                     // another version
		".wasmstop-123":                                now.Add(-2 * time.Hour), // abandoned write
		".wasmstop-456":                                now,                     // a write in progress
		".probe-1":                                     now.Add(-2 * time.Hour),
		"config.toml":                                  old, // not the cache's
		"wazero-v1.12.0-amd64-linux/0123":              now.Add(-24 * time.Hour),
		"wazero-v1.12.0-amd64-linux/4567":              old,
		"wazero-v1.12.0-amd64-linux/89ab.42.tmp":       now.Add(-2 * time.Hour),
		"wazero-v1.11.0-amd64-linux/cdef":              old,
		"other/0123":                                   old, // not wazero's
	}
	for name, at := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	// Read recently, written long ago: stays (the access time counts).
	recent := filepath.Join(dir, "wazero-v1.12.0-amd64-linux/read-recently")
	os.WriteFile(recent, nil, 0o600)
	os.Chtimes(recent, now.Add(-time.Hour), old)

	n, size, err := pruneCache(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			left = append(left, rel)
		}
		return nil
	})
	slices.Sort(left)
	want := []string{
		".wasmstop-456", "config.toml", "other/0123",
		"wasmstop-v" + wasmstop.Version + "-aaaa.wasm",
		"wazero-v1.12.0-amd64-linux/0123", "wazero-v1.12.0-amd64-linux/read-recently",
	}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left\n%s\nwant\n%s", strings.Join(left, "\n"), strings.Join(want, "\n"))
	}
	if n != 7 || size != 70 {
		t.Errorf("removed %d files of %d bytes, want 7 of 70", n, size)
	}
}

// TestPruneAfterLoad: a host's load prunes its cache directory and keeps
// the rewrite it uses fresh, so a start after cacheMaxAge still finds it.
func TestPruneAfterLoad(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "wasmstop-v0-dead.wasm")
	os.WriteFile(stale, []byte("\x00asm"), 0o600)
	cfg := &Config{IMCs: []IMCConfig{{Name: "Minimal", Path: writeMinimalEcho(t), Grants: []string{"send", "subscribe"}}}}
	cfg.Wasm.CacheDir = dir
	load := func() *Host {
		h, err := New(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LoadIMCs(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.Close(context.Background())
		return h
	}
	load()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the other version's rewrite is still there: %v", err)
	}
	rewrites, _ := filepath.Glob(filepath.Join(dir, "wasmstop-v"+wasmstop.Version+"-*.wasm"))
	if len(rewrites) != 1 {
		t.Fatalf("rewrites %v", rewrites)
	}
	// Make the rewrite look two months old: the next load reads it, renews
	// it and so keeps it, whatever the mount does with access times.
	old := time.Now().Add(-60 * 24 * time.Hour)
	os.Chtimes(rewrites[0], old, old)
	load()
	fi, err := os.Stat(rewrites[0])
	if err != nil {
		t.Fatalf("the rewrite in use was removed: %v", err)
	}
	if time.Since(fi.ModTime()) > time.Hour {
		t.Errorf("the rewrite in use was not renewed: %s", fi.ModTime())
	}
}
