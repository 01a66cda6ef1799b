package dpkg

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/inventory/invtest"
)

const realStatus = "../testdata/dpkg/var/lib/dpkg/status"

// The real status file of a Debian 12 machine (seven stanzas, see
// ../testdata/README.md) gives what dpkg-query prints for it.
func TestParseStatusMatchesDpkgQuery(t *testing.T) {
	b, err := os.ReadFile(realStatus)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	var want []Package
	for _, f := range invtest.Listing(t, "../testdata/dpkg.query") {
		want = append(want, Package{f[0], f[1], f[2]})
	}
	if len(got) != len(want) || len(want) != 7 {
		t.Fatalf("%d packages, dpkg-query lists %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("package %d = %+v, dpkg-query says %+v", i, got[i], want[i])
		}
	}
}

// A removed package whose configuration files remain, a stanza without a
// Package field and continuation lines that look like fields are not
// packages; CRLF line ends and spaces around a value are not part of it.
func TestParseStatusGolden(t *testing.T) {
	in := "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n" +
		"Status: install ok installed\nVersion: 9\n\n" +
		"Package: held\nStatus: hold ok installed\nVersion: 2:1.0-1\nArchitecture: amd64\n" +
		"Description: x\n Package: not-a-package\n\tVersion: 0\n\n\n" +
		"Package:  crlf \r\nStatus: install ok installed\r\nVersion: 1\r\n"
	got, err := ParseStatus([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{{"held", "2:1.0-1", "amd64"}, {"crlf", "1", ""}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v", got)
	}
	if got, err := ParseStatus(nil); err != nil || got != nil {
		t.Fatalf("empty: %+v %v", got, err)
	}
}

// A line past 1 MiB and a list past MaxPackages are errors, not a
// truncated list.
func TestParseStatusLimits(t *testing.T) {
	long := "Package: a\nStatus: install ok installed\nDescription: " + strings.Repeat("x", 1<<20) + "\n"
	if got, err := ParseStatus([]byte(long)); err == nil {
		t.Fatalf("a 1 MiB line: %d packages", len(got))
	}
	stanza := []byte("Package: a\nStatus: install ok installed\n\n")
	if got, err := ParseStatus(bytes.Repeat(stanza, MaxPackages)); err != nil || len(got) != MaxPackages {
		t.Fatalf("MaxPackages: %d %v", len(got), err)
	}
	if got, err := ParseStatus(bytes.Repeat(stanza, MaxPackages+1)); err == nil {
		t.Fatalf("MaxPackages+1: %d packages", len(got))
	}
}

// ParseStatus never panics; every package it returns has a name, and no
// field spans a line or is longer than the input.
func FuzzParseStatus(f *testing.F) {
	if b, err := os.ReadFile(realStatus); err == nil {
		f.Add(b)
	}
	f.Add([]byte("Package: a\nStatus: install ok installed\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		pkgs, err := ParseStatus(in)
		if err != nil {
			return
		}
		if len(pkgs) > len(in)/2 {
			t.Fatalf("%d packages from %d bytes", len(pkgs), len(in))
		}
		for _, p := range pkgs {
			if p.Name == "" {
				t.Fatal("package without a name")
			}
			for _, s := range []string{p.Name, p.Version, p.Arch} {
				if strings.ContainsAny(s, "\n") || len(s) > len(in) {
					t.Fatalf("field %q", s)
				}
			}
		}
	})
}
