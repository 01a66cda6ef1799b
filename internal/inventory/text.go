package inventory

import (
	"fmt"
	"path/filepath"

	"github.com/imchost/imchost/internal/inventory/apk"
	"github.com/imchost/imchost/internal/inventory/dpkg"
)

// The text databases, where under the root they are.
const (
	dpkgStatus   = "var/lib/dpkg/status"
	apkInstalled = "lib/apk/db/installed"
)

// ReadDpkg lists the installed packages of root/var/lib/dpkg/status
// (dpkg.ParseStatus).
func ReadDpkg(root string) ([]Package, error) {
	b, err := readFile(root, dpkgStatus, maxTextDB)
	if err != nil {
		return nil, err
	}
	pkgs, err := dpkg.ParseStatus(b)
	if err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", filepath.Join(root, dpkgStatus), err)
	}
	out := make([]Package, len(pkgs))
	for i, p := range pkgs {
		out[i] = Package{Manager: Dpkg, Name: p.Name, Version: p.Version, Arch: p.Arch}
	}
	return out, nil
}

// ReadApk lists the packages of root/lib/apk/db/installed
// (apk.ParseInstalled).
func ReadApk(root string) ([]Package, error) {
	b, err := readFile(root, apkInstalled, maxTextDB)
	if err != nil {
		return nil, err
	}
	pkgs, err := apk.ParseInstalled(b)
	if err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", filepath.Join(root, apkInstalled), err)
	}
	out := make([]Package, len(pkgs))
	for i, p := range pkgs {
		out[i] = Package{Manager: Apk, Name: p.Name, Version: p.Version, Arch: p.Arch}
	}
	return out, nil
}
