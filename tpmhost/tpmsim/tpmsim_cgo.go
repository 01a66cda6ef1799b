//go:build cgo

package tpmsim

import (
	"github.com/google/go-tpm-tools/simulator"
	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/tpmhost"
)

// Open starts the simulator, powered on and started (TPM2_Startup at
// locality 0, which its platform layer fixes), as a TPM named
// tpmhost.SimulatorSpec; log may be nil. go-tpm-tools keeps the simulator's
// state in C globals: a second Open blocks until the first TPM is closed.
func Open(log hclog.Logger) (*tpmhost.TPM, error) {
	s, err := simulator.Get()
	if err != nil {
		return nil, &tpmhost.TPMError{Op: "open simulator", Kind: tpmhost.ErrNotSupported, Err: err}
	}
	return tpmhost.OpenReadWriter(tpmhost.SimulatorSpec, s, log), nil
}
