//go:build linux

package host

import (
	"fmt"
	"sync/atomic"
	"syscall"
)

// mapSource maps a cached rewrite read-only (or reads it, where the file
// system cannot map it). The cache's files are written whole under a
// temporary name and renamed, never rewritten in place, so the mapped file
// does not change under the mapping (another start may replace or prune
// it: the mapping keeps the old file). The file opened must pass strict
// modes (no symbolic link, this user's or root's, writable by no one
// else): only those can then change the bytes the caller authenticates in
// the mapping before compiling them.
func mapSource(path string, count *atomic.Int64) (*source, error) {
	f, fi, err := openStrict(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > maxModuleSize {
		return nil, fmt.Errorf("'%s' is not a regular file of 1 to %d bytes", path, maxModuleSize)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		// A file system that cannot map files: read it as before.
		if b, err = readModule(path); err != nil {
			return nil, err
		}
		return heapSource(b), nil
	}
	count.Add(1)
	return &source{b: b, mapped: true, count: count}, nil
}

// drop gives the pages read so far back: they are clean copies of the file.
func (s *source) drop() {
	if s != nil && s.mapped && s.b != nil {
		_ = syscall.Madvise(s.b, syscall.MADV_DONTNEED)
	}
}

// close unmaps a mapped source; only once nothing can read it any more
// (its compiled module is closed, or compiling failed).
func (s *source) close() {
	if s != nil && s.mapped && s.b != nil {
		if syscall.Munmap(s.b) == nil {
			s.count.Add(-1)
		}
		s.b = nil
	}
}
