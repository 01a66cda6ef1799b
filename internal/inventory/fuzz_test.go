package inventory

import (
	"os"
	"testing"
)

// None of the parsers may panic or loop on any input, and a package
// they return always has a name.

func FuzzParseDpkgStatus(f *testing.F) {
	if b, err := os.ReadFile("testdata/dpkg/var/lib/dpkg/status"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("Package: a\nStatus: install ok installed\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		pkgs, _ := ParseDpkgStatus(in)
		for _, p := range pkgs {
			if p.Name == "" {
				t.Fatal("package without a name")
			}
		}
	})
}

func FuzzParseApkInstalled(f *testing.F) {
	if b, err := os.ReadFile("testdata/apk/lib/apk/db/installed"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pkgs, _ := ParseApkInstalled(in)
		for _, p := range pkgs {
			if p.Name == "" {
				t.Fatal("package without a name")
			}
		}
	})
}
