//go:build !linux

package host

import "errors"

// mmapMemory is not used outside Linux; newLinearMemory always fails and
// the host falls back to sliceMemory.
type mmapMemory struct{ sliceMemory }

func newLinearMemory(uint64) (*mmapMemory, error) {
	return nil, errors.New("no anonymous mappings on this platform")
}
