// Package invtest holds what the tests of internal/inventory and its
// decoder packages share. It imports the standard library only, so the
// decoders' test builds (and their fuzz targets) stay free of SQLite.
package invtest

import (
	"os"
	"strings"
	"testing"
)

// Listing reads a package manager's listing beside a test database (one
// package a line, tab-separated fields, as the manager's query printed
// them, see internal/inventory/testdata/README.md).
func Listing(t testing.TB, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for line := range strings.Lines(string(b)) {
		out = append(out, strings.Split(strings.TrimRight(line, "\n"), "\t"))
	}
	return out
}
