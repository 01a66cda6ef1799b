//go:build !cgo

package tpmhost

import "testing"

// simTPM: the simulator is C code; without cgo there is none, and the test
// is skipped.
func simTPM(t testing.TB) *TPM {
	t.Skip("the TPM simulator needs cgo")
	return nil
}
