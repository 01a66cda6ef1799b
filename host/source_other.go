//go:build !linux

package host

import (
	"os"
	"sync/atomic"
)

// mapSource reads a cached rewrite into the heap: no mappings here. The
// file must pass strict modes (see mapSource on Linux).
func mapSource(path string, _ *atomic.Int64) (*source, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if err := strictMode(path, fi, false); err != nil {
		return nil, err
	}
	b, err := readModule(path)
	if err != nil {
		return nil, err
	}
	return heapSource(b), nil
}

func (s *source) drop()  {}
func (s *source) close() {}
