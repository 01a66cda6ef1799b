package testutil

import (
	"os"
	"testing"
)

// CopyFile copies the file src to dst (mode 0644), as an installer would:
// written beside dst and renamed over it, so that a reader (a host
// watching its modules) never sees half a file.
func CopyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		t.Fatal(err)
	}
}
