// Package dpkg reads the installed packages of dpkg's status file
// (/var/lib/dpkg/status). It imports the standard library only, so that
// its fuzz target runs at full speed (inside internal/inventory, whose
// instrumented build carries the pure-Go SQLite, it did not).
package dpkg

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// MaxPackages bounds the packages one status file may list
// (inventory.MaxPackages).
const MaxPackages = 200000

// Package is one installed package as its stanza gives it.
type Package struct {
	Name    string // Package field
	Version string // Version field, as dpkg prints it
	Arch    string // Architecture field, "" if the stanza has none
}

// ParseStatus lists the stanzas of a dpkg status file (deb-control(5)
// paragraphs) whose Status ends in "installed" ("install ok installed",
// "hold ok installed"), in the file's order; removed packages whose
// configuration files remain are left out, and so is a stanza without a
// Package field. Continuation lines (leading space or tab) are skipped. A
// line longer than 1 MiB or more than MaxPackages packages is an error.
func ParseStatus(b []byte) ([]Package, error) {
	var out []Package
	var p Package
	installed := false
	flush := func() error {
		if installed && p.Name != "" {
			if len(out) == MaxPackages {
				return fmt.Errorf("dpkg status lists more than %d packages", MaxPackages)
			}
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
		return nil, fmt.Errorf("dpkg status: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}
