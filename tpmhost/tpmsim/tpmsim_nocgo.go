//go:build !cgo

package tpmsim

import (
	"errors"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/tpmhost"
)

// Open fails with tpmhost.ErrNotSupported: the simulator is C code and this
// build has no cgo.
func Open(hclog.Logger) (*tpmhost.TPM, error) {
	return nil, &tpmhost.TPMError{Op: "open simulator", Kind: tpmhost.ErrNotSupported,
		Err: errors.New("built without cgo, so there is no in-process TPM simulator")}
}
