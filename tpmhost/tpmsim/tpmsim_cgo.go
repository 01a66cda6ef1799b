//go:build cgo

package tpmsim

import (
	"io"

	"github.com/google/go-tpm-tools/simulator"

	"github.com/imchost/imchost/tpmhost"
)

func init() {
	tpmhost.RegisterSimulator(open)
}

// open starts the simulator powered on and started. go-tpm-tools keeps its
// state in C globals: a second open blocks until the first is closed.
func open() (io.ReadWriteCloser, error) {
	return simulator.Get()
}
