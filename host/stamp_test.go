package host

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestNativeStamp: a native entry's MAC sidecar carries, after the MAC, the
// stamp of the file state its bytes were authenticated in, and a start
// whose entry is in that state skips reading it again. An entry edited in
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
		if side, err := os.ReadFile(p + ".mac"); err != nil || len(side) != 64 {
			t.Fatalf("%s.mac: %d bytes, %v; want the MAC and the stamp", p, len(side), err)
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

	side, _ := os.ReadFile(p + ".mac")
	side[63] ^= 1
	if err := os.WriteFile(p+".mac", side, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkNative(key, p); err != nil {
		t.Fatalf("entry with a forged stamp: %v", err)
	}
	if renewed, _ := os.ReadFile(p + ".mac"); len(renewed) != 64 || bytes.Equal(renewed, side) || !bytes.Equal(renewed[:32], side[:32]) {
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
	if fileExists(p) || fileExists(p+".mac") {
		t.Fatal("the failing entry was not removed")
	}
	logs, imc1, h := startOn(t, cfg)
	if len(imc1) != 1 || !isGreeting(imc1[0], 1) || len(h.List()) != 2 {
		t.Fatalf("after the edit: IMC 1 sent %+v\n%s", imc1, logs)
	}
	if side, _ := os.ReadFile(p + ".mac"); len(side) != 64 {
		t.Fatalf("recompiled entry sealed with %d bytes", len(side))
	}
}
