package inventory

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/inventory/rpmhdr"
	"github.com/imchost/imchost/internal/inventory/rpmndb"
)

// The reader's own golden, hostile and fuzz tests are in rpmndb.

func TestReadRPMNDBMatchesRPM(t *testing.T) {
	checkRPM(t, "testdata/rpm-ndb", "rpm-ndb.qa")
}

// TestReadRPMNDBFile: ReadRPM finds Packages.db in /usr/lib/sysimage/rpm
// and reports a broken one (its last blob cut) with its path.
func TestReadRPMNDBFile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "usr/lib/sysimage/rpm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile("testdata/rpm-ndb/usr/lib/sysimage/rpm/Packages.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Packages.db"), db, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadRPM(root); err != nil || len(got) != 4 {
		t.Fatalf("%+v %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Packages.db"), db[:len(db)-16], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRPM(root); err == nil || !strings.Contains(err.Error(), "Packages.db") || !errors.Is(err, rpmndb.ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
}

func TestRPMNDBBoundsAgree(t *testing.T) {
	if rpmndb.MaxPackages != MaxPackages || rpmndb.MaxBlob != 8+16*rpmhdr.MaxEntries+rpmhdr.MaxData {
		t.Fatal("rpmndb's bounds differ from the inventory's and rpmhdr's")
	}
}
