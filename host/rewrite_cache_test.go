package host

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/host/internal/wasmstop"
)

// TestRewriteCache: with a cache directory the rewritten module is kept
// under the file's sha256 and used by the next start; a damaged copy is
// reported, replaced, and the module still loads.
func TestRewriteCache(t *testing.T) {
	path := writeMinimalEcho(t)
	bin, _ := os.ReadFile(path)
	sum := sha256.Sum256(bin)
	dir := t.TempDir()
	kept := filepath.Join(dir, "wasmstop-v"+wasmstop.Version+"-"+hex.EncodeToString(sum[:])+".wasm")
	load := func() (string, []ModuleInfo) {
		t.Helper()
		log, buf := testLogger(t)
		cfg := &Config{IMCs: []IMCConfig{{Name: "Minimal", Path: path, Grants: []string{"send", "subscribe"}}}}
		cfg.Wasm.CacheDir = dir
		h := loadedHost(t, cfg, Options{Logger: log})
		if h.CacheDir() != dir {
			t.Fatalf("cache dir %q", h.CacheDir())
		}
		return buf.String(), h.List()
	}

	load()
	want, err := os.ReadFile(kept)
	if err != nil {
		t.Fatalf("the rewrite was not kept: %v", err)
	}
	fresh, _, err := wasmstop.Instrument(bin)
	if err != nil || string(fresh) != string(want) {
		t.Fatalf("kept rewrite differs from a fresh one (%v)", err)
	}
	// The next start compiles the kept copy, not the file: change the
	// subscription in the kept copy (subtype 1 → 2) and the module loads
	// with the changed one.
	subs := []byte{1, 0, 0, 0, 0xd9, 0x7e, 0, 0, 1, 0, 0, 0}
	i := strings.Index(string(want), string(subs))
	if i < 0 {
		t.Fatal("subscription data not found in the rewrite")
	}
	marked := []byte(string(want))
	marked[i+8] = 2
	if err := os.WriteFile(kept, marked, 0o600); err != nil {
		t.Fatal(err)
	}
	logs, mods := load()
	if len(mods) != 1 || len(mods[0].Subscriptions) != 1 || mods[0].Subscriptions[0].Subtype != 2 {
		t.Fatalf("the kept rewrite was not used: %+v\n%s", mods, logs)
	}
	// Damaged (the header, then garbage): reported, rewritten, loaded.
	if err := os.WriteFile(kept, append([]byte("\x00asm\x01\x00\x00\x00"), 0xff, 0xff), 0o600); err != nil {
		t.Fatal(err)
	}
	if logs, _ := load(); !strings.Contains(logs, "does not compile") || !strings.Contains(logs, "rewriting it") {
		t.Fatalf("the damaged rewrite was not reported:\n%s", logs)
	}
	if got, _ := os.ReadFile(kept); string(got) != string(want) {
		t.Fatal("the damaged rewrite was not replaced")
	}
}
