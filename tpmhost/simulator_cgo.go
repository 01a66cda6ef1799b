//go:build cgo

package tpmhost

import (
	"io"

	"github.com/google/go-tpm-tools/simulator"
)

// openSimulator starts the in-process reference TPM (powered on, started).
func openSimulator() (io.ReadWriteCloser, error) {
	return simulator.Get()
}
