// Package inventory reads the package databases of a Linux machine natively
// (no wasm, no external tools): dpkg's status file, rpm's database (SQLite
// rpmdb.sqlite or Berkeley DB Packages) and apk's installed database. The
// OS IMC's Installed Packages attribute (TCG Attributes for IF-M OS) and the
// SWIMA inventory (RFC 8412) are both computed from it.
package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/imchost/imchost/tpmhost"
)

// Manager names the package manager that installed a package.
type Manager string

// The package managers read.
const (
	Dpkg Manager = "dpkg"
	RPM  Manager = "rpm"
	Apk  Manager = "apk"
)

// Package is one installed package.
type Package struct {
	Manager Manager
	Name    string
	// Version as the manager prints it: dpkg's Version field, rpm's
	// [epoch:]version-release (the epoch only when it is set and not 0),
	// apk's V: field.
	Version string
	// Arch is dpkg's Architecture, rpm's ARCH tag or apk's A: field ("" if
	// the database does not say).
	Arch string
}

// MaxPackages bounds the packages one database may list.
const MaxPackages = 200000

// maxTextDB bounds the dpkg and apk text databases.
const maxTextDB = 64 << 20

// ErrNoDatabase is returned by Read when none of the package databases
// exists under the root.
var ErrNoDatabase = errors.New("inventory: no dpkg, rpm or apk package database")

// Read lists the packages of every package database present under root ("/"
// in production, a fixture directory in tests), dpkg first, then rpm, then
// apk, each in its database's order. A database that exists but cannot be
// read is an error; none at all is ErrNoDatabase.
func Read(root string) ([]Package, error) {
	if root == "" {
		root = "/"
	}
	var out []Package
	found := false
	for _, read := range []func(string) ([]Package, error){ReadDpkg, ReadRPM, ReadApk} {
		pkgs, err := read(root)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		out = append(out, pkgs...)
	}
	if !found {
		return nil, ErrNoDatabase
	}
	return out, nil
}

// readFile reads a regular file of at most limit bytes under root: a named
// pipe, a device or a socket put in its place is refused without waiting.
func readFile(root, p string, limit int64) ([]byte, error) {
	name := filepath.Join(root, filepath.FromSlash(p))
	f, err := tpmhost.OpenRegularFile(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("inventory: %s is larger than %d bytes", name, limit)
	}
	return buf.Bytes(), nil
}
