package host

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// memories is the experimental.MemoryAllocator of one instantiation: it
// remembers what it handed out, so that a failed instantiation (wazero does
// not free the memory of a module that fails after its memory was built)
// can be freed by the host.
type memories struct {
	made  []experimental.LinearMemory
	count *atomic.Int64 // the host's count of mapped memories
}

// Allocate implements experimental.MemoryAllocator. Where no mapping can
// be had it returns a Go slice, as wazero does by itself.
func (a *memories) Allocate(capacity, max uint64) experimental.LinearMemory {
	lm, err := newLinearMemory(max, a.count)
	if err != nil {
		lm = &sliceMemory{buf: make([]byte, 0, capacity), max: max}
	}
	a.made = append(a.made, lm)
	return lm
}

// free frees every memory handed out (after a failed instantiation).
func (a *memories) free() {
	for _, m := range a.made {
		m.Free()
	}
	a.made = nil
}

// sliceMemory is the fallback linear memory: a Go slice grown by copying.
type sliceMemory struct {
	buf []byte
	max uint64
}

// Reallocate implements experimental.LinearMemory.
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size > uint64(cap(m.buf)) {
		nb := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.max))
		copy(nb, m.buf)
		m.buf = nb
	}
	m.buf = m.buf[:size]
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *sliceMemory) Free() { m.buf, m.max = nil, 0 }
