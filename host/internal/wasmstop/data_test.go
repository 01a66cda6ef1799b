package wasmstop

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// goModules returns Go-compiled IMC modules: those `make test` built
// ($IMCHOST_WASM_DIR), else examples/hello built here.
func goModules(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if dir := os.Getenv("IMCHOST_WASM_DIR"); dir != "" {
		paths, _ := filepath.Glob(filepath.Join(dir, "imc-*.wasm"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(p)] = b
		}
	}
	if len(out) == 0 {
		p := filepath.Join(t.TempDir(), "hello.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", p, "../../../examples/hello")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building examples/hello: %v\n%s", err, b)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out["hello.wasm"] = b
	}
	return out
}

// stubImports instantiates, in rt, host functions that return zeros for
// every function bin imports (no start function runs: they are never
// called).
func stubImports(t *testing.T, rt wazero.Runtime, bin []byte) {
	t.Helper()
	ctx := context.Background()
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close(ctx)
	mods := map[string]wazero.HostModuleBuilder{}
	var order []string
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		b, ok := mods[mod]
		if !ok {
			b = rt.NewHostModuleBuilder(mod)
			mods[mod] = b
			order = append(order, mod)
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			clear(stack)
		}), f.ParamTypes(), f.ResultTypes()).Export(name)
	}
	for _, mod := range order {
		if _, err := mods[mod].Instantiate(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// memoryAfterInstantiation instantiates bin (no start functions called)
// with memories of at most 64 MiB and returns its memory, or the error.
func memoryAfterInstantiation(t testing.TB, rt wazero.Runtime, bin []byte) ([]byte, error) {
	t.Helper()
	ctx := context.Background()
	m, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, err
	}
	defer m.Close(ctx)
	if m.Memory() == nil {
		return nil, nil
	}
	b, _ := m.Memory().Read(0, m.Memory().Size())
	return bytes.Clone(b), nil
}

// TestMergeDataGoModules: the tens of thousands of data segments of a Go
// module become a handful, and the memory after instantiation is the same
// byte for byte.
func TestMergeDataGoModules(t *testing.T) {
	ctx := context.Background()
	for name, in := range goModules(t) {
		t.Run(name, func(t *testing.T) {
			// No code runs: the interpreter spares compiling megabytes twice.
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithMemoryLimitPages(1024))
			defer rt.Close(ctx)
			stubImports(t, rt, in)
			out, res, err := Instrument(in)
			if err != nil {
				t.Fatal(err)
			}
			if before, after := res.DataSegments[0], res.DataSegments[1]; before < 1000 || after > 20 {
				t.Errorf("data segments %d -> %d", before, after)
			}
			want, err := memoryAfterInstantiation(t, rt, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := memoryAfterInstantiation(t, rt, out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("memory differs after instantiation (%d and %d bytes)", len(got), len(want))
			}
		})
	}
}

// dataModule is a module with one memory of pages pages, an optional data
// count section, an optional function using memory.init, and the data
// segments given as raw entries.
func dataModule(pages byte, dataCount, memInit bool, segs ...[]byte) []byte {
	var parts [][]byte
	if memInit {
		parts = append(parts, sec(1, vec([]byte{0x60, 0, 0})), sec(3, vec([]byte{0})))
	}
	parts = append(parts, sec(5, vec([]byte{0x00, pages})))
	if dataCount {
		parts = append(parts, sec(12, appendU32(nil, uint32(len(segs)))))
	}
	if memInit {
		// memory.init 0 (dst 0, src 0, len 1)
		parts = append(parts, sec(10, vec(code(0, 0x41, 0, 0x41, 0, 0x41, 1, 0xfc, 8, 0, 0, 0x0b))))
	}
	return module(append(parts, sec(11, vec(segs...)))...)
}

// active is an active data segment of memory 0 at an i32.const offset.
func active(off int32, data ...byte) []byte {
	b := append([]byte{0, 0x41}, appendS32(nil, off)...)
	b = append(b, 0x0b)
	b = appendU32(b, uint32(len(data)))
	return append(b, data...)
}

// TestMergeData: segments are joined only where the memory comes out the
// same; where they cannot be (overlaps, passive segments, offsets from
// globals, instructions naming segments) they are left alone; an
// instantiation that fails, fails joined too.
func TestMergeData(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	kilo := bytes.Repeat([]byte{7}, MaxDataGap)
	passive := append([]byte{1}, appendU32(nil, 2)...)
	passive = append(passive, 9, 9)
	for _, tc := range []struct {
		name  string
		in    []byte
		after uint32 // segments after; 0: left alone
		fails bool   // the instantiation fails (both)
	}{
		{"neighbours", dataModule(1, false, false, active(8, 1, 2), active(12, 3), active(20, 4)), 1, false},
		{"two runs out of address order", dataModule(1, false, false,
			active(100, 1), active(110, 2), active(8, 3), active(16, 4)), 2, false},
		{"gap too wide", dataModule(1, false, false, active(0, 1), active(1+MaxDataGap+1, 2)), 2, false},
		// (A kilobyte of data first: the zeros may at most double the section.)
		{"widest gap joined", dataModule(1, false, false, active(0, kilo...), active(2*MaxDataGap, 2)), 1, false},
		{"empty segments", dataModule(1, false, false, active(4, 1), active(5), active(5, 2), active(9)), 1, false},
		// A segment of the other run lies in the gap: joining 0 and 20
		// would zero it.
		{"a segment in the gap", dataModule(1, false, false, active(0, 1), active(20, 2), active(10, 7)), 0, false},
		// Joining the last two would write a zero over the 4 of the first.
		{"overlap", dataModule(1, false, false, active(0, 1, 2, 3, 4, 5, 6), active(2, 9), active(4, 8)), 0, false},
		{"data count section", dataModule(1, true, false, active(0, 1), active(4, 2)), 0, false},
		{"memory.init", dataModule(1, false, true, active(0, 1), active(4, 2)), 0, false},
		{"passive segment", dataModule(1, true, false, active(0, 1), passive, active(4, 2)), 0, false},
		{"offset from a global", module(sec(5, vec([]byte{0x00, 1})),
			sec(11, vec(active(0, 1), []byte{0, 0x23, 0, 0x0b, 1, 5}))), 0, true},
		{"last segment out of bounds", dataModule(1, false, false, active(65530, 1), active(65534, 2, 3, 4)), 1, true},
		{"high offset", dataModule(1, false, false, active(0, 1), active(-8, 2)), 2, true},
		{"one segment", dataModule(1, false, false, active(0, 1)), 0, false},
		// Five empty segments a gap apart would be 4 KiB of zeros from a
		// 30-byte section: more than doubling it, so left alone.
		{"zeros beyond the section's size", dataModule(1, false, false,
			active(0), active(MaxDataGap), active(2*MaxDataGap), active(3*MaxDataGap), active(4*MaxDataGap)), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, res, err := Instrument(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			before, after := res.DataSegments[0], res.DataSegments[1]
			if tc.after == 0 && after != before || tc.after != 0 && after != tc.after {
				t.Errorf("segments %d -> %d, want %d", before, after, tc.after)
			}
			if tc.name == "memory.init" {
				return // invalid without a data count section: only the decision matters
			}
			want, werr := memoryAfterInstantiation(t, rt, tc.in)
			got, gerr := memoryAfterInstantiation(t, rt, out)
			if (werr != nil) != tc.fails || (gerr != nil) != tc.fails {
				t.Fatalf("instantiation errors: original %v, rewritten %v", werr, gerr)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("memory differs after instantiation")
			}
		})
	}
}
