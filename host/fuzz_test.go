package host

import (
	"os"
	"testing"
)

// The host parses three local text formats; none may panic or loop on any
// input, and a parsed package always has a name.

func FuzzParseDpkgStatus(f *testing.F) {
	if b, err := os.ReadFile("testdata/root/var/lib/dpkg/status"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("Package: a\nStatus: install ok installed\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, p := range parseDpkgStatus(in) {
			if p.Name == "" {
				t.Fatal("package without a name")
			}
		}
	})
}

func FuzzParseApkInstalled(f *testing.F) {
	f.Add([]byte("C:Q1abc=\nP:musl\nV:1.2.4-r2\n\nP:busybox\nV:1.36.1-r5\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, p := range parseApkInstalled(in) {
			if p.Name == "" {
				t.Fatal("package without a name")
			}
		}
	})
}

func FuzzParseTNCConfig(f *testing.F) {
	f.Add([]byte("#IMC-Configuration\nIMC \"OS\" /usr/lib/imc-os.wasm\nIMV \"x\" /y\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		imcs, err := ParseTNCConfig(in)
		if err != nil {
			return
		}
		for _, m := range imcs {
			if m.Name == "" || m.Path == "" {
				t.Fatalf("entry %+v", m)
			}
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(fullConfig))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseConfig(in)
		if err == nil {
			c.Validate()
		}
	})
}
