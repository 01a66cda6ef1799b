package inventory

import (
	"fmt"

	"github.com/imchost/imchost/internal/inventory/rpmndb"
	"github.com/imchost/imchost/tpmhost"
)

// readRPMNDB reads the packages of the ndb database file p.
func readRPMNDB(p string) ([]Package, error) {
	f, err := tpmhost.OpenRegularFile(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, err)
	}
	var out []Package
	err = rpmndb.Walk(f, st.Size(), func(blob []byte) error {
		pkg, err := parseRPMHeader(blob)
		if err != nil {
			return err
		}
		out = append(out, pkg)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, err)
	}
	return out, nil
}
