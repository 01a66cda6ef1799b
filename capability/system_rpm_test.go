package capability

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/imchost/imchost/abi"
)

// The Installed Packages of an rpm machine come from its rpm database (the
// real SQLite database of internal/inventory's test data); before
// internal/inventory the host read dpkg and apk only and failed here.
func TestSystemPackagesReadsRPM(t *testing.T) {
	b, err := os.ReadFile("../internal/inventory/testdata/rpm-sqlite/var/lib/rpm/rpmdb.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "var/lib/rpm"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "var/lib/rpm/rpmdb.sqlite"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	pkgs, err := NewSystem(root).Packages()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pkgs {
		found = found || p == (abi.Package{Name: "openssl-libs", Version: "1:3.2.2-5.fc40"})
	}
	if len(pkgs) != 3 || !found {
		t.Fatalf("packages %+v", pkgs)
	}
}
