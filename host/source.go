package host

import "sync/atomic"

// A source is the bytes wazero compiles a module from. A rewrite read back
// from the cache is mapped from its file rather than copied into the Go
// heap (on Linux): once compiled, its pages leave the process (drop) while
// the mapping stays valid, so whatever the compiled module might still read
// of it faults back in from the file; the mapping goes with the compiled
// module (close). A copy in the heap would stay resident as garbage until
// the next collection, and loading two modules at once made the process's
// peak 4 MB higher for it.
type source struct {
	b      []byte
	mapped bool          // b is a file mapping (see mapSource)
	count  *atomic.Int64 // the host's count of mapped sources
}

// heapSource is a source in the Go heap (a fresh rewrite).
func heapSource(b []byte) *source { return &source{b: b} }
