// Package apk reads the packages of apk's installed database
// (/lib/apk/db/installed). It imports the standard library only, so that
// its fuzz target runs at full speed (inside internal/inventory, whose
// instrumented build carries the pure-Go SQLite, it did not).
package apk

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// MaxPackages bounds the packages one database may list
// (inventory.MaxPackages).
const MaxPackages = 200000

// Package is one installed package as its record gives it.
type Package struct {
	Name    string // P: field
	Version string // V: field
	Arch    string // A: field, "" if the record has none
}

// ParseInstalled lists the records of apk's installed database (blank-line
// separated records of one-letter fields: P: name, V: version, A: arch), in
// the file's order; a record without a name is left out. A line longer than
// 1 MiB or more than MaxPackages packages is an error.
func ParseInstalled(b []byte) ([]Package, error) {
	var out []Package
	var p Package
	flush := func() error {
		if p.Name != "" {
			if len(out) == MaxPackages {
				return fmt.Errorf("apk database lists more than %d packages", MaxPackages)
			}
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
		return nil, fmt.Errorf("apk database: %w", err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}
