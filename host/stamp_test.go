package host

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestNativeStamp: beside a native entry's MAC sidecar (32 bytes, as
// hosts before the stamps read it) a stamp file holds the MAC of the file
// state its bytes were authenticated in, and a start whose entry is in
// that state skips reading it again. An entry edited in
// place with its size and modification time put back (what a stamp of
// those alone would miss) is read whole again, fails its MAC, is removed,
// and the module is compiled again and runs as its file says; a stamp not
// made under the key sends the entry to the full check, which renews it.
func TestNativeStamp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	cfg := twoIMCs(t, dir)
	startOn(t, cfg)
	natives := nativeEntries(dir)
	if len(natives) != 2 {
		t.Fatalf("native entries %v", natives)
	}
	for _, p := range natives {
		if side, err := os.ReadFile(p + ".mac"); err != nil || len(side) != 32 {
			t.Fatalf("%s.mac: %d bytes, %v; want the MAC", p, len(side), err)
		}
		if st, err := os.ReadFile(stampPath(p)); err != nil || len(st) != 32 {
			t.Fatalf("%s: %d bytes, %v; want the stamp", stampPath(p), len(st), err)
		}
	}
	key, _, err := loadCacheKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := natives[0]
	if err := checkNative(key, p); err != nil {
		t.Fatalf("untouched entry: %v", err)
	}

	st, _ := os.ReadFile(stampPath(p))
	st[31] ^= 1
	if err := os.WriteFile(stampPath(p), st, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkNative(key, p); err != nil {
		t.Fatalf("entry with a forged stamp: %v", err)
	}
	if renewed, _ := os.ReadFile(stampPath(p)); len(renewed) != 32 || bytes.Equal(renewed, st) {
		t.Fatalf("the stamp was not renewed: %x", renewed)
	}

	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o600); err != nil { // in place: same inode, same size
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := checkNative(key, p); !errors.Is(err, errCacheEntry) {
		t.Fatalf("entry edited in place, size and mtime as before: %v", err)
	}
	if fileExists(p) || fileExists(p+".mac") || fileExists(stampPath(p)) {
		t.Fatal("the failing entry was not removed")
	}
	logs, imc1, h := startOn(t, cfg)
	if len(imc1) != 1 || !isGreeting(imc1[0], 1) || len(h.List()) != 2 {
		t.Fatalf("after the edit: IMC 1 sent %+v\n%s", imc1, logs)
	}
	if st, _ := os.ReadFile(stampPath(p)); len(st) != 32 {
		t.Fatalf("recompiled entry stamped with %d bytes", len(st))
	}
}
