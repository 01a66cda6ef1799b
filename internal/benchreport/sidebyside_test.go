package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplaceSideBySide: only the side-by-side section changes, the
// sections before and after it stay byte for byte.
func TestReplaceSideBySide(t *testing.T) {
	p := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	before := "# r\n\n## Goals\n\nrow\n\n"
	after := "## Key numbers\n\nkey\n\n## Every benchmark\n\nall\n"
	if err := os.WriteFile(p, []byte(before+sideHeading+"\nold table\n\n"+after), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeSideBySide(&b, filepath.Join(t.TempDir(), "missing.json")); err != nil {
		t.Fatal(err)
	}
	if err := replaceSideBySide(p, b.String()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := before + b.String() + after; string(got) != want {
		t.Fatalf("report after replacing:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(string(got), "old table") {
		t.Fatal("the old section is still there")
	}
	if err := os.WriteFile(p, []byte(before+after), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceSideBySide(p, b.String()); err == nil {
		t.Fatal("a report without the section was accepted")
	}
}
