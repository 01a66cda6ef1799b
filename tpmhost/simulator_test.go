//go:build cgo

package tpmhost

import (
	"io"

	"github.com/google/go-tpm-tools/simulator"
)

// This package's tests cannot import tpmsim (it imports tpmhost), so they
// register the simulator themselves.
func init() {
	RegisterSimulator(func() (io.ReadWriteCloser, error) { return simulator.Get() })
}
