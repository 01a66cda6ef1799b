package inventory

import (
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	rpmbdb "github.com/knqyf263/go-rpmdb/pkg/bdb"
	_ "modernc.org/sqlite" // pure-Go SQLite (no cgo), registered as "sqlite"

	"github.com/imchost/imchost/internal/inventory/rpmhdr"
	"github.com/imchost/imchost/tpmhost"
)

// rpmDirs are where rpm keeps its database: /usr/lib/sysimage/rpm on current
// Fedora, RHEL 9 and openSUSE (/var/lib/rpm is often a link to it), and
// /var/lib/rpm on older systems.
var rpmDirs = []string{"usr/lib/sysimage/rpm", "var/lib/rpm"}

// ReadRPM lists the packages of rpm's database under root: rpmdb.sqlite (rpm
// 4.16 and later, Fedora 33+, RHEL 9), else the Berkeley DB hash file
// Packages (RHEL/CentOS 5 to 8), else the ndb file Packages.db (openSUSE
// and SLE 15: rpmndb.go). fs.ErrNotExist when there is no rpm database.
func ReadRPM(root string) ([]Package, error) {
	if root == "" {
		root = "/"
	}
	for _, dir := range rpmDirs {
		base := filepath.Join(root, filepath.FromSlash(dir))
		if p := filepath.Join(base, "rpmdb.sqlite"); regular(p) {
			return readRPMSQLite(p)
		}
		if p := filepath.Join(base, "Packages"); regular(p) {
			return readRPMBDB(p)
		}
		if p := filepath.Join(base, "Packages.db"); regular(p) {
			return readRPMNDB(p)
		}
	}
	return nil, fmt.Errorf("inventory: no rpm database: %w", fs.ErrNotExist)
}

// regular reports whether p is a regular file (following symbolic links).
func regular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// readRPMSQLite reads the blobs of the Packages table of rpm's SQLite
// backend (table Packages(hnum INTEGER PRIMARY KEY, blob BLOB)), read-only.
func readRPMSQLite(p string) ([]Package, error) {
	// Refuse a FIFO or device swapped in after the stat above.
	f, err := tpmhost.OpenRegularFile(p)
	if err != nil {
		return nil, err
	}
	f.Close()
	dsn := (&url.URL{Scheme: "file", Path: p, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT blob FROM Packages ORDER BY hnum")
	if err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, err)
	}
	defer rows.Close()
	var out []Package
	for rows.Next() {
		var blob []byte
		if err := rows.Scan(&blob); err != nil {
			return nil, fmt.Errorf("inventory: %s: %w", p, err)
		}
		if len(out) == MaxPackages {
			return nil, fmt.Errorf("inventory: %s lists more than %d packages", p, MaxPackages)
		}
		pkg, err := parseRPMHeader(blob)
		if err != nil {
			return nil, fmt.Errorf("inventory: %s: %w", p, err)
		}
		out = append(out, pkg)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, err)
	}
	return out, nil
}

// readRPMBDB reads the Berkeley DB hash file Packages through go-rpmdb's
// page reader (the one rpm database library kept for Go; the version the
// module proxy serves reads Berkeley DB only, hence SQLite above). Every
// value is a header blob; the key pages (package numbers) are skipped by
// the reader.
func readRPMBDB(p string) ([]Package, error) {
	f, err := tpmhost.OpenRegularFile(p)
	if err != nil {
		return nil, err
	}
	f.Close()
	db, err := rpmbdb.Open(p)
	if err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, err)
	}
	// The reader has no Close: its file is closed by the garbage collector
	// once db is unreachable. Its goroutine ends once the channel is
	// drained, which the loop below always does.
	var out []Package
	var first error
	for e := range db.Read() {
		if first != nil {
			continue
		}
		if e.Err != nil {
			first = e.Err
			continue
		}
		if len(out) == MaxPackages {
			first = fmt.Errorf("more than %d packages", MaxPackages)
			continue
		}
		pkg, err := parseRPMHeader(e.Value)
		if err != nil {
			first = err
			continue
		}
		out = append(out, pkg)
	}
	if first != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, first)
	}
	return out, nil
}

// parseRPMHeader is the package of one header blob (rpmhdr.Parse).
func parseRPMHeader(blob []byte) (Package, error) {
	p, err := rpmhdr.Parse(blob)
	if err != nil {
		return Package{}, err
	}
	return Package{Manager: RPM, Name: p.Name, Version: p.Version, Arch: p.Arch}, nil
}
