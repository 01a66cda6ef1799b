package wasmstop

import (
	"bytes"
	"context"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// depthModule exports:
//
//	rec(n i32) -> i32   recursion n deep, returning n (by return from an if)
//	abs(x i32) -> i32   return -x from inside two blocks when x < 0
//	pick(x i32) -> i32  br_if to the function's label with 7, else 9
//	pair(x i32) -> (i32, i32)  return (x, x+1) from inside a block
//	forever()           recursion without end
func depthModule() []byte {
	types := sec(1, vec(
		[]byte{0x60, 1, i32, 1, i32},      // 0: (i32) -> i32
		[]byte{0x60, 1, i32, 2, i32, i32}, // 1: (i32) -> (i32, i32)
		[]byte{0x60, 0, 0},                // 2: () -> ()
	))
	funcs := sec(3, vec([]byte{0}, []byte{0}, []byte{0}, []byte{1}, []byte{2}))
	exp := func(n string, i byte) []byte { return bytes.Join([][]byte{name(n), {0x00, i}}, nil) }
	exports := sec(7, vec(exp("rec", 0), exp("abs", 1), exp("pick", 2), exp("pair", 3), exp("forever", 4)))
	codes := sec(10, vec(
		// rec: if n == 0 { return 0 }; rec(n-1) + 1
		code(0, 0x20, 0, 0x45, 0x04, 0x40, 0x41, 0, 0x0f, 0x0b,
			0x20, 0, 0x41, 1, 0x6b, 0x10, 0, 0x41, 1, 0x6a, 0x0b),
		// abs: block { block { if x < 0 { return 0 - x } } }; x
		code(0, 0x02, 0x40, 0x02, 0x40, 0x20, 0, 0x41, 0, 0x48, 0x04, 0x40,
			0x41, 0, 0x20, 0, 0x6b, 0x0f, 0x0b, 0x0b, 0x0b, 0x20, 0, 0x0b),
		// pick: i32.const 7; x; br_if 0; drop; i32.const 9
		code(0, 0x41, 7, 0x20, 0, 0x0d, 0, 0x1a, 0x41, 9, 0x0b),
		// pair: block { x; x+1; return }; unreachable
		code(0, 0x02, 0x40, 0x20, 0, 0x20, 0, 0x41, 1, 0x6a, 0x0f, 0x0b, 0x00, 0x0b),
		// forever: call forever
		code(0, 0x10, 4, 0x0b),
	))
	return module(types, funcs, exports, codes)
}

// TestCallDepth: calls nest up to MaxCallDepth and no deeper, the count
// comes back down by every way out of a function (return inside blocks, a
// branch to the function's label, falling off the end, several results),
// and endless recursion traps at once instead of growing wazero's stack.
func TestCallDepth(t *testing.T) {
	in := depthModule()
	out, _, err := Instrument(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	for _, bin := range [][]byte{in, out} { // the same answers before and after
		m, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName("").WithStartFunctions())
		if err != nil {
			t.Fatal(err)
		}
		call := func(name string, args ...uint64) []uint64 {
			t.Helper()
			r, err := m.ExportedFunction(name).Call(ctx, args...)
			if err != nil {
				t.Fatalf("%s%v: %v", name, args, err)
			}
			return r
		}
		for range 3 { // repeatedly: the depth must not creep up
			if r := call("rec", MaxCallDepth-10); r[0] != MaxCallDepth-10 {
				t.Fatalf("rec = %d", r[0])
			}
			if r := call("abs", api.EncodeI32(-5)); r[0] != 5 {
				t.Fatalf("abs(-5) = %d", int32(r[0]))
			}
			if r := call("abs", 6); r[0] != 6 {
				t.Fatalf("abs(6) = %d", r[0])
			}
			if r := call("pick", 1); r[0] != 7 {
				t.Fatalf("pick(1) = %d", r[0])
			}
			if r := call("pick", 0); r[0] != 9 {
				t.Fatalf("pick(0) = %d", r[0])
			}
			if r := call("pair", 4); r[0] != 4 || r[1] != 5 {
				t.Fatalf("pair(4) = %v", r)
			}
		}
		if bytes.Equal(bin, out) {
			if _, err := m.ExportedFunction("rec").Call(ctx, MaxCallDepth+10); err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("rec past the depth: %v", err)
			}
		}
		m.Close(ctx)
	}
	// Endless recursion: trapped by the depth, with a native stack of a
	// few MB, not wazero's stack overflow at hundreds.
	m, err := rt.InstantiateWithConfig(ctx, out, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(allocs)
	before := allocs[0].Value.Uint64()
	if _, err := m.ExportedFunction("forever").Call(ctx); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("endless recursion: %v", err)
	}
	metrics.Read(allocs)
	if n := allocs[0].Value.Uint64() - before; n > 32<<20 {
		t.Errorf("endless recursion allocated %d MB (wazero's stack)", n>>20)
	}
}
