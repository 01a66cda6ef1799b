package inventory

import (
	"bytes"
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

func FuzzParseRPMHeader(f *testing.F) {
	f.Add(firstBlob(f))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParseRPMHeader(in)
		if err == nil && (p.Name == "" || p.Manager != RPM) {
			t.Fatalf("parsed %+v", p)
		}
	})
}

// FuzzWalkRPMNDB: the ndb reader never panics, and what it returns lies
// within its input (it allocates no more than the file holds).
func FuzzWalkRPMNDB(f *testing.F) {
	f.Add(ndbGolden(f))
	if b, err := os.ReadFile("testdata/rpm-ndb/usr/lib/sysimage/rpm/Packages.db"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		total := 0
		walkRPMNDB(bytes.NewReader(in), int64(len(in)), func(blob []byte) error {
			total += len(blob)
			if total > len(in) {
				t.Fatalf("%d bytes of blobs from %d bytes", total, len(in))
			}
			ParseRPMHeader(blob)
			return nil
		})
	})
}
