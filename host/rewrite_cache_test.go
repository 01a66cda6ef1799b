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
// under the file's sha256, sealed with the cache's MAC, and used by the
// next start; a copy edited in place or damaged is reported, replaced, and
// the module loads as its file says.
func TestRewriteCache(t *testing.T) {
	path := writeMinimalEcho(t)
	bin, _ := os.ReadFile(path)
	sum := sha256.Sum256(bin)
	sha := hex.EncodeToString(sum[:])
	dir := t.TempDir()
	kept := filepath.Join(dir, "wasmstop-v"+wasmstop.Version+"-"+sha+".wasm")
	load := func() (string, []ModuleInfo) {
		t.Helper()
		log, buf := testLogger(t)
		cfg := &Config{IMCs: []IMCConfig{{Name: "Minimal", Path: path, Grants: []string{"send", "subscribe"}}}}
		cfg.Wasm.CacheDir = dir
		h := loadedHost(t, cfg, Options{Logger: log})
		if h.CacheDir() != dir {
			t.Fatalf("cache dir %q\n%s", h.CacheDir(), buf.String())
		}
		return buf.String(), h.List()
	}

	load()
	want, err := os.ReadFile(kept)
	if err != nil {
		t.Fatalf("the rewrite was not kept: %v", err)
	}
	key, err := os.ReadFile(filepath.Join(dir, cacheKeyName))
	if err != nil || len(key) != cacheKeySize {
		t.Fatalf("cache key: %v (%d bytes)", err, len(key))
	}
	fresh, _, err := wasmstop.Instrument(bin)
	if sealed, _ := sealRewrite(key, sha, fresh); err != nil || string(sealed) != string(want) {
		t.Fatalf("kept rewrite differs from a fresh sealed one (%v)", err)
	}
	if logs, _ := load(); strings.Contains(logs, "[WARN]") {
		t.Fatalf("a clean second start warned:\n%s", logs)
	}
	// Edited in place (the subscription, subtype 1 → 2): the next start
	// names it, rewrites it from the file and loads subtype 1, as built.
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
	if len(mods) != 1 || len(mods[0].Subscriptions) != 1 || mods[0].Subscriptions[0].Subtype != 1 {
		t.Fatalf("the edited rewrite was used: %+v\n%s", mods, logs)
	}
	if !strings.Contains(logs, "cached rewrite '"+kept+"' of '"+path+"' fails its authentication") {
		t.Fatalf("the edited rewrite was not named:\n%s", logs)
	}
	if got, _ := os.ReadFile(kept); string(got) != string(want) {
		t.Fatal("the edited rewrite was not replaced")
	}
	// Damaged (the header, then garbage): reported, rewritten, loaded.
	if err := os.WriteFile(kept, append([]byte("\x00asm\x01\x00\x00\x00"), 0xff, 0xff), 0o600); err != nil {
		t.Fatal(err)
	}
	if logs, _ := load(); !strings.Contains(logs, "fails its authentication") || !strings.Contains(logs, "rewriting it from the pinned file") {
		t.Fatalf("the damaged rewrite was not reported:\n%s", logs)
	}
	if got, _ := os.ReadFile(kept); string(got) != string(want) {
		t.Fatal("the damaged rewrite was not replaced")
	}
}
