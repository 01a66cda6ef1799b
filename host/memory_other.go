//go:build !linux

package host

import (
	"errors"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// newLinearMemory has no mapping to offer outside Linux: the host falls
// back to sliceMemory.
func newLinearMemory(uint64, *atomic.Int64) (experimental.LinearMemory, error) {
	return nil, errors.New("no anonymous mappings on this platform")
}
