//go:build cgo

package tpmhost

import (
	"testing"

	"github.com/google/go-tpm-tools/simulator"
)

// simTPM starts go-tpm-tools' simulator for this package's own tests,
// which cannot use tpmsim (it imports tpmhost); it is closed when t ends.
func simTPM(t testing.TB) *TPM {
	t.Helper()
	s, err := simulator.Get()
	if err != nil {
		t.Fatal(err)
	}
	tpm := OpenReadWriter(SimulatorSpec, s, nil)
	t.Cleanup(func() { tpm.Close() })
	return tpm
}
