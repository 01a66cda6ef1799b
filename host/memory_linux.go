//go:build linux

package host

import (
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapMemory is a module instance's linear memory in its own anonymous
// mapping, reserved at the module's maximum size once. The kernel hands out
// zeroed pages on first touch, so growing costs nothing and pages a module
// never touches never count against the process: wazero's default, a Go
// slice grown by append, copies and clears the whole memory on each
// growth and keeps the old copy until the next collection.
type mmapMemory struct {
	mu    sync.Mutex
	buf   []byte        // the whole reservation; nil once freed
	count *atomic.Int64 // mappings alive, may be nil
}

// newLinearMemory reserves max bytes (the module's or the runtime's memory
// limit, which the host keeps far below the address space); count, when
// set, counts the mapping until it is freed.
func newLinearMemory(max uint64, count *atomic.Int64) (experimental.LinearMemory, error) {
	if max == 0 {
		return &mmapMemory{}, nil
	}
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, err
	}
	if count != nil {
		count.Add(1)
	}
	return &mmapMemory{buf: b, count: count}, nil
}

// Reallocate implements experimental.LinearMemory.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if size > uint64(len(m.buf)) {
		return nil // beyond the reservation, or freed
	}
	return m.buf[:size:size]
}

// Free implements experimental.LinearMemory.
func (m *mmapMemory) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buf != nil {
		if syscall.Munmap(m.buf) == nil && m.count != nil {
			m.count.Add(-1)
		}
		m.buf = nil
	}
}

var _ experimental.LinearMemory = (*mmapMemory)(nil)
