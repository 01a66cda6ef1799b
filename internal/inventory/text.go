package inventory

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// ReadDpkg lists the installed packages of root/var/lib/dpkg/status.
func ReadDpkg(root string) ([]Package, error) {
	b, err := readFile(root, "var/lib/dpkg/status", maxTextDB)
	if err != nil {
		return nil, err
	}
	return ParseDpkgStatus(b)
}

// ReadApk lists the packages of root/lib/apk/db/installed.
func ReadApk(root string) ([]Package, error) {
	b, err := readFile(root, "lib/apk/db/installed", maxTextDB)
	if err != nil {
		return nil, err
	}
	return ParseApkInstalled(b)
}

// ParseDpkgStatus lists the stanzas of a dpkg status file (deb-control(5)
// paragraphs) whose Status ends in "installed" ("install ok installed",
// "hold ok installed"); removed packages whose configuration files remain
// are left out. Continuation lines (leading space) are skipped.
func ParseDpkgStatus(b []byte) ([]Package, error) {
	var out []Package
	var p Package
	installed := false
	flush := func() error {
		if installed && p.Name != "" {
			if len(out) == MaxPackages {
				return fmt.Errorf("inventory: dpkg status lists more than %d packages", MaxPackages)
			}
			p.Manager = Dpkg
			out = append(out, p)
		}
		p, installed = Package{}, false
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "Package":
			p.Name = val
		case "Version":
			p.Version = val
		case "Architecture":
			p.Arch = val
		case "Status":
			installed = strings.HasSuffix(val, " installed")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("inventory: dpkg status: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseApkInstalled lists the records of apk's installed database (blank-line
// separated records of one-letter fields: P: name, V: version, A: arch).
func ParseApkInstalled(b []byte) ([]Package, error) {
	var out []Package
	var p Package
	flush := func() error {
		if p.Name != "" {
			if len(out) == MaxPackages {
				return fmt.Errorf("inventory: apk database lists more than %d packages", MaxPackages)
			}
			p.Manager = Apk
			out = append(out, p)
		}
		p = Package{}
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case strings.HasPrefix(line, "P:"):
			p.Name = line[2:]
		case strings.HasPrefix(line, "V:"):
			p.Version = line[2:]
		case strings.HasPrefix(line, "A:"):
			p.Arch = line[2:]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("inventory: apk database: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}
