package inventory

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/inventory/apk"
	"github.com/imchost/imchost/internal/inventory/dpkg"
	"github.com/imchost/imchost/internal/inventory/invtest"
)

// listing reads a tab-separated listing printed by the package manager's
// own tool (see testdata/README.md).
func listing(t *testing.T, name string) [][]string {
	t.Helper()
	return invtest.Listing(t, filepath.Join("testdata", name))
}

func TestReadDpkgMatchesDpkgQuery(t *testing.T) {
	got, err := ReadDpkg("testdata/dpkg")
	if err != nil {
		t.Fatal(err)
	}
	want := listing(t, "dpkg.query")
	if len(got) != len(want) {
		t.Fatalf("%d packages, dpkg-query lists %d", len(got), len(want))
	}
	for i, w := range want {
		if g := got[i]; g.Manager != Dpkg || g.Name != w[0] || g.Version != w[1] || g.Arch != w[2] {
			t.Errorf("package %d = %+v, dpkg-query says %q", i, g, w)
		}
	}
}

// The parsers' own bounds are the inventory's.
func TestBoundsAgree(t *testing.T) {
	if dpkg.MaxPackages != MaxPackages || apk.MaxPackages != MaxPackages {
		t.Fatal("dpkg's or apk's MaxPackages differs from the inventory's")
	}
}

// A status file the parser refuses is reported with its path.
func TestReadDpkgErrorNamesFile(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755)
	long := "Package: a\nDescription: " + strings.Repeat("x", 1<<20) + "\n"
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), []byte(long), 0o644)
	if _, err := Read(root); err == nil || !strings.Contains(err.Error(), filepath.Join(root, "var/lib/dpkg/status")) {
		t.Fatalf("%v", err)
	}
}

// rpmListing turns rpm -qa lines (name, epochnum, version, release, arch)
// into Packages as ReadRPM must return them.
func rpmListing(t *testing.T, name string) map[Package]bool {
	want := map[Package]bool{}
	for _, w := range listing(t, name) {
		v := w[2] + "-" + w[3]
		if w[1] != "0" {
			v = w[1] + ":" + v
		}
		want[Package{RPM, w[0], v, w[4]}] = true
	}
	return want
}

func checkRPM(t *testing.T, root, qa string) {
	t.Helper()
	got, err := ReadRPM(root)
	if err != nil {
		t.Fatal(err)
	}
	want := rpmListing(t, qa)
	if len(got) != len(want) {
		t.Fatalf("%d packages, rpm -qa lists %d", len(got), len(want))
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("%+v is not in rpm -qa's listing", g)
		}
	}
}

// copyRoot copies the one database file of a fixture root into a fresh
// directory: SQLite may create its -shm file beside the database.
func copyRoot(t *testing.T, rel string) string {
	t.Helper()
	root := t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(root, strings.SplitN(rel, "/", 2)[1])
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestReadRPMSQLiteMatchesRPM(t *testing.T) {
	checkRPM(t, copyRoot(t, "rpm-sqlite/var/lib/rpm/rpmdb.sqlite"), "rpm-sqlite.qa")
}

func TestReadRPMBerkeleyDBMatchesRPM(t *testing.T) {
	checkRPM(t, "testdata/rpm-bdb", "rpm-bdb.qa")
}

func TestReadRPMSysimageFirst(t *testing.T) {
	root := copyRoot(t, "rpm-sqlite/var/lib/rpm/rpmdb.sqlite")
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/sysimage"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "var/lib/rpm"), filepath.Join(root, "usr/lib/sysimage/rpm")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../usr/lib/sysimage/rpm", filepath.Join(root, "var/lib/rpm")); err != nil {
		t.Fatal(err)
	}
	checkRPM(t, root, "rpm-sqlite.qa")
}

// TestReadApk reads the hand-written Alpine records and the real
// installed database apk-tools 2.12.9 wrote on a Wolfi machine (its first
// twelve records, see testdata/README.md).
func TestReadApk(t *testing.T) {
	for _, c := range []struct{ root, listing string }{
		{"testdata/apk", "apk.expected"},
		{"testdata/apk-wolfi", "apk-wolfi.expected"},
	} {
		t.Run(c.root, func(t *testing.T) {
			got, err := ReadApk(c.root)
			if err != nil {
				t.Fatal(err)
			}
			want := listing(t, c.listing)
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("got %+v", got)
			}
			for i, w := range want {
				if got[i] != (Package{Apk, w[0], w[1], w[2]}) {
					t.Errorf("package %d = %+v, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestReadAllManagers(t *testing.T) {
	root := copyRoot(t, "rpm-sqlite/var/lib/rpm/rpmdb.sqlite")
	b, _ := os.ReadFile("testdata/dpkg/var/lib/dpkg/status")
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755)
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), b, 0o644)
	got, err := Read(root)
	if err != nil {
		t.Fatal(err)
	}
	n := map[Manager]int{}
	for i, p := range got {
		n[p.Manager]++
		if i > 0 && p.Manager == Dpkg && got[i-1].Manager != Dpkg {
			t.Fatal("dpkg packages are not first")
		}
	}
	if n[Dpkg] != 7 || n[RPM] != 3 || n[Apk] != 0 {
		t.Fatalf("counts %v", n)
	}
	if _, err := Read(t.TempDir()); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("empty root: %v", err)
	}
}

// A named pipe in place of a database is refused at once, not waited on.
func TestReadRefusesFIFO(t *testing.T) {
	for _, p := range []string{"var/lib/dpkg/status", "var/lib/rpm/rpmdb.sqlite", "lib/apk/db/installed"} {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := syscall.Mkfifo(filepath.Join(root, p), 0o600); err != nil {
			t.Skip(err)
		}
		done := make(chan error, 1)
		go func() { _, err := Read(root); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: a FIFO was read", p)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Read waits on a FIFO", p)
		}
	}
}

// firstBlob is the first header blob of the real SQLite rpm database.
func firstBlob(t testing.TB) []byte {
	db, err := sql.Open("sqlite", "file:testdata/rpm-sqlite/var/lib/rpm/rpmdb.sqlite?mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var blob []byte
	if err := db.QueryRow("SELECT blob FROM Packages ORDER BY hnum LIMIT 1").Scan(&blob); err != nil {
		t.Fatal(err)
	}
	return blob
}

// The header rpmhdr's tests parse is the first blob of the real SQLite
// database, unchanged.
func TestRPMHeaderFixtureIsFirstBlob(t *testing.T) {
	b, err := os.ReadFile("rpmhdr/testdata/openssl-libs.hdr")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, firstBlob(t)) {
		t.Fatal("rpmhdr/testdata/openssl-libs.hdr is not the database's first blob")
	}
	// The header comes to a Package with rpm as its manager.
	if p, err := parseRPMHeader(b); err != nil || p != (Package{RPM, "openssl-libs", "1:3.2.2-5.fc40", "x86_64"}) {
		t.Fatalf("%+v %v", p, err)
	}
}
