//go:build !cgo

package tpmhost

import (
	"errors"

	"github.com/hashicorp/go-hclog"
)

// startSimulator: the simulator is C code; without cgo there is none.
func startSimulator(hclog.Logger) (*TPM, error) {
	return nil, &TPMError{Op: "open simulator", Kind: ErrNotSupported, Err: errors.New("built without cgo")}
}
