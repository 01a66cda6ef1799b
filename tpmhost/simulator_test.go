//go:build cgo

package tpmhost

import (
	"github.com/google/go-tpm-tools/simulator"
	"github.com/hashicorp/go-hclog"
)

// startSimulator starts go-tpm-tools' simulator for this package's own
// tests, which cannot use tpmsim (it imports tpmhost).
func startSimulator(log hclog.Logger) (*TPM, error) {
	s, err := simulator.Get()
	if err != nil {
		return nil, err
	}
	return OpenReadWriter(SimulatorSpec, s, log), nil
}
