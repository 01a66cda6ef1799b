//go:build !cgo

package tpmhost

import (
	"errors"
	"io"
)

// openSimulator fails: the simulator is C code and needs cgo.
func openSimulator() (io.ReadWriteCloser, error) {
	return nil, errors.New("this imchost was built without cgo, so the in-process TPM simulator is not available")
}
