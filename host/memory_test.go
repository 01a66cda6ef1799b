package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental"

	"github.com/imchost/imchost/tnccs"
)

// TestLinearMemory: both linear memories grow keeping their contents,
// hand out zeroed bytes, refuse to pass their maximum and free once; the
// mapped one never moves.
func TestLinearMemory(t *testing.T) {
	const page = 65536
	var mapped atomic.Int64
	for _, c := range []struct {
		name   string
		make   func() experimental.LinearMemory
		stable bool
	}{
		{"mapped", func() experimental.LinearMemory {
			m, err := newLinearMemory(8*page, &mapped)
			if err != nil {
				t.Skipf("no mapping here: %v", err)
			}
			return m
		}, runtime.GOOS == "linux"},
		{"slice", func() experimental.LinearMemory {
			return &sliceMemory{buf: make([]byte, 0, page), max: 8 * page}
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := c.make()
			b := m.Reallocate(2 * page)
			if len(b) != 2*page {
				t.Fatalf("len %d", len(b))
			}
			for i := range b {
				if b[i] != 0 {
					t.Fatalf("byte %d is %d", i, b[i])
				}
			}
			b[0], b[2*page-1] = 1, 2
			g := m.Reallocate(7 * page)
			if len(g) != 7*page || g[0] != 1 || g[2*page-1] != 2 || g[2*page] != 0 || g[7*page-1] != 0 {
				t.Fatalf("after growing: len %d, contents %d %d %d %d", len(g), g[0], g[2*page-1], g[2*page], g[7*page-1])
			}
			if c.stable && unsafe.SliceData(g) != unsafe.SliceData(b) {
				t.Error("the mapped memory moved")
			}
			if m.Reallocate(9*page) != nil {
				t.Error("grew past its maximum")
			}
			m.Free()
			m.Free()
			if m.Reallocate(page) != nil {
				t.Error("a freed memory grew")
			}
			if n := mapped.Load(); n != 0 {
				t.Errorf("%d mappings left", n)
			}
		})
	}
}

// TestMemoryFreed: a module whose instantiation fails after its memory was
// made (a data segment beyond it) is refused and its memory unmapped, as
// are the memories of every instance of a well-behaved module.
func TestMemoryFreed(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "baddata.wasm")
	// i32.const 65536: one page past the end of its one-page memory.
	if err := os.WriteFile(bad, minimalEchoData([]byte{0x41, 0x80, 0x80, 0x04}), 0o600); err != nil {
		t.Fatal(err)
	}
	good := writeMinimalEcho(t)
	grants := []string{"send", "subscribe"}
	cfg := &Config{IMCs: []IMCConfig{
		{Name: "Minimal", Path: good, Grants: grants},
		{Name: "BadData", Path: bad, Grants: grants},
	}}
	h, err := New(cfg, Options{CompilationCache: testCache})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = h.LoadIMCs(ctx)
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), `IMC 2 "BadData"`) || !strings.Contains(err.Error(), "out of bounds") {
		t.Fatalf("load: %v", err)
	}
	if n := h.memMaps.Load(); n != 0 {
		t.Errorf("%d memories mapped after loading (the probe's and the refused module's must be gone)", n)
	}
	for id := range 3 {
		c, err := h.Open(ctx, tnccs.ConnID(1+id), func(tnccs.PAMessage) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if n := h.memMaps.Load(); n != 1 {
			t.Errorf("connection %d: %d memories mapped, want 1", id, n)
		}
		c.Close(ctx)
	}
	h.Close(ctx)
	if n := h.memMaps.Load(); n != 0 {
		t.Errorf("%d memories mapped after Close", n)
	}
}
