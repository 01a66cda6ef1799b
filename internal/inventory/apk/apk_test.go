package apk

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/inventory/invtest"
)

const fixture = "../testdata/apk/lib/apk/db/installed"

// The fixture database (three records in apk-tools' format, see
// ../testdata/README.md) gives the packages apk.expected lists.
func TestParseInstalledFixture(t *testing.T) {
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseInstalled(b)
	if err != nil {
		t.Fatal(err)
	}
	var want []Package
	for _, f := range invtest.Listing(t, "../testdata/apk.expected") {
		want = append(want, Package{f[0], f[1], f[2]})
	}
	if len(got) != len(want) || len(want) != 3 {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("package %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// Fields are one letter and a colon, the value the rest of the line
// (spaces kept); a record without P: is left out; fields of other letters
// (lower-case o: origin, D: dependencies) are not the name.
func TestParseInstalledGolden(t *testing.T) {
	in := "C:Q1abc=\nV:1\nA:x86_64\n\n" +
		"P:musl\nV:1.2.4-r2\nA:x86_64\no:not-the-name\nD:so:libc.musl-x86_64.so.1\n\n\n" +
		"P: spaced \nV:2\n"
	got, err := ParseInstalled([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{{"musl", "1.2.4-r2", "x86_64"}, {" spaced ", "2", ""}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v", got)
	}
	if got, err := ParseInstalled(nil); err != nil || got != nil {
		t.Fatalf("empty: %+v %v", got, err)
	}
}

// A line past 1 MiB and a list past MaxPackages are errors, not a
// truncated list.
func TestParseInstalledLimits(t *testing.T) {
	if got, err := ParseInstalled([]byte("P:a\nT:" + strings.Repeat("x", 1<<20) + "\n")); err == nil {
		t.Fatalf("a 1 MiB line: %d packages", len(got))
	}
	rec := []byte("P:a\n\n")
	if got, err := ParseInstalled(bytes.Repeat(rec, MaxPackages)); err != nil || len(got) != MaxPackages {
		t.Fatalf("MaxPackages: %d %v", len(got), err)
	}
	if got, err := ParseInstalled(bytes.Repeat(rec, MaxPackages+1)); err == nil {
		t.Fatalf("MaxPackages+1: %d packages", len(got))
	}
}

// ParseInstalled never panics; every package it returns has a name, and no
// field spans a line or is longer than the input.
func FuzzParseInstalled(f *testing.F) {
	for _, p := range []string{fixture, "../testdata/apk-wolfi/lib/apk/db/installed"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pkgs, err := ParseInstalled(in)
		if err != nil {
			return
		}
		if len(pkgs) > len(in)/3 {
			t.Fatalf("%d packages from %d bytes", len(pkgs), len(in))
		}
		for _, p := range pkgs {
			if p.Name == "" {
				t.Fatal("package without a name")
			}
			for _, s := range []string{p.Name, p.Version, p.Arch} {
				if strings.Contains(s, "\n") || len(s) > len(in) {
					t.Fatalf("field %q", s)
				}
			}
		}
	})
}
