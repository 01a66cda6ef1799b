package wasmstop

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Module builders for hand-written test modules.

func name(s string) []byte { return appendName(nil, s) }

func vec(items ...[]byte) []byte {
	out := appendU32(nil, uint32(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func sec(id byte, content []byte) []byte {
	return append(append([]byte{id}, appendU32(nil, uint32(len(content)))...), content...)
}

func code(body ...byte) []byte { return append(appendU32(nil, uint32(len(body))), body...) }

func module(sections ...[]byte) []byte { return bytes.Join(append([][]byte{header}, sections...), nil) }

const i32 = 0x7f

// spinModule: func 0 "spin" loops forever; func 1 "fib" is the exponential
// recursion fib(n) with no loop at all; func 2 "count" counts down from its
// argument in a loop and returns 7; func 3 is the start function, which
// stores 1 at address 0 (read back by "started", func 4). Optional extras:
// an imported global before the defined one, and a custom DWARF section.
func spinModule(withStart, importGlobal, debug bool) []byte {
	types := vec([]byte{0x60, 0, 0}, []byte{0x60, 1, i32, 1, i32}, []byte{0x60, 0, 1, i32})
	var imports []byte
	if importGlobal {
		imports = sec(2, vec(bytes.Join([][]byte{name("env"), name("g"), {0x03, i32, 0x00}}, nil)))
	}
	funcs := sec(3, vec([]byte{0}, []byte{1}, []byte{1}, []byte{0}, []byte{2}))
	mem := sec(5, vec([]byte{0x00, 1}))
	globals := sec(6, vec([]byte{i32, 0x01, 0x41, 0x05, 0x0b})) // one global of its own
	exports := sec(7, vec(
		bytes.Join([][]byte{name("spin"), {0, 0}}, nil),
		bytes.Join([][]byte{name("fib"), {0, 1}}, nil),
		bytes.Join([][]byte{name("count"), {0, 2}}, nil),
		bytes.Join([][]byte{name("started"), {0, 4}}, nil),
	))
	codes := sec(10, vec(
		code(0, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b), // loop br 0 end end
		// if n < 2 then n else fib(n-1) + fib(n-2)
		code(0, 0x20, 0, 0x41, 2, 0x48, 0x04, i32, 0x20, 0, 0x05,
			0x20, 0, 0x41, 1, 0x6b, 0x10, 1, 0x20, 0, 0x41, 2, 0x6b, 0x10, 1, 0x6a, 0x0b, 0x0b),
		// loop: n = n - 1; br_if 0 (n != 0); end; i32.const 7
		code(0, 0x03, 0x40, 0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x41, 7, 0x0b),
		code(0, 0x41, 0, 0x41, 1, 0x36, 2, 0, 0x0b), // i32.store (0, 1)
		code(0, 0x41, 0, 0x28, 2, 0, 0x0b),          // i32.load (0)
	))
	parts := [][]byte{sec(1, types)}
	if imports != nil {
		parts = append(parts, imports)
	}
	parts = append(parts, funcs, mem, globals, exports)
	if withStart {
		parts = append(parts, sec(8, appendU32(nil, 3)))
	}
	parts = append(parts, codes)
	if debug {
		parts = append(parts, sec(0, append(name(".debug_info"), 1, 2, 3)))
	}
	parts = append(parts, sec(0, append(name("keep.me"), 9)))
	return module(parts...)
}

// instantiate compiles out with wazero's defaults minus the per-call
// watcher (as the host runs it), with env.g when imported.
func instantiate(t testing.TB, out []byte, importGlobal bool) (api.Module, func()) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	if importGlobal {
		// wazero's host modules export no globals: a wasm module does.
		g := module(sec(6, vec([]byte{i32, 0x00, 0x41, 0x01, 0x0b})), sec(7, vec(bytes.Join([][]byte{name("g"), {0x03, 0}}, nil))))
		if _, err := rt.InstantiateWithConfig(ctx, g, wazero.NewModuleConfig().WithName("env")); err != nil {
			t.Fatal(err)
		}
	}
	m, err := rt.InstantiateWithConfig(ctx, out, wazero.NewModuleConfig().WithName("m").WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	return m, func() { rt.Close(ctx) }
}

// stopAfter runs call; after d it forces a garbage collection (which must
// be able to stop the world while the module runs) and then stops the
// module. It returns how long the call took.
func stopAfter(t *testing.T, m api.Module, d time.Duration, call func() error) (time.Duration, error) {
	t.Helper()
	stop, ok1 := m.ExportedGlobal(StopGlobal).(api.MutableGlobal)
	fuel, ok2 := m.ExportedGlobal(FuelGlobal).(api.MutableGlobal)
	if !ok1 || !ok2 {
		t.Fatalf("no mutable %s and %s exports", StopGlobal, FuelGlobal)
	}
	gcDone := make(chan struct{})
	timer := time.AfterFunc(d, func() {
		runtime.GC()
		stop.Set(1)
		fuel.Set(0)
		close(gcDone) // after the stores: the test goroutine writes them next
	})
	defer timer.Stop()
	start := time.Now()
	err := call()
	select {
	case <-gcDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the garbage collector did not finish while the module ran")
	}
	return time.Since(start), err
}

func TestStopsLoopsAndRecursion(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		withStart, importGlobal, dw bool
	}{
		{"plain", false, false, false},
		{"start section, imported global, DWARF", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := spinModule(tc.withStart, tc.importGlobal, tc.dw)
			orig := bytes.Clone(in)
			out, res, err := Instrument(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, orig) {
				t.Fatal("Instrument modified its input")
			}
			if res.HasStart != tc.withStart || res.Checks != 5+2 { // 5 entries, 2 loops
				t.Fatalf("result %+v", res)
			}
			if bytes.Contains(out, []byte(".debug_info")) || !bytes.Contains(out, []byte("keep.me")) {
				t.Fatal("DWARF must go, other custom sections stay")
			}
			m, done := instantiate(t, out, tc.importGlobal)
			defer done()
			ctx := context.Background()

			if tc.withStart {
				// Not run by instantiation any more; run by name.
				if r, _ := m.ExportedFunction("started").Call(ctx); r[0] != 0 {
					t.Fatal("the start function ran during instantiation")
				}
				if _, err := m.ExportedFunction(StartExport).Call(ctx); err != nil {
					t.Fatal(err)
				}
				if r, _ := m.ExportedFunction("started").Call(ctx); r[0] != 1 {
					t.Fatal("the exported start function did not run")
				}
			} else if m.ExportedFunction(StartExport) != nil {
				t.Fatal("a start export without a start section")
			}
			// A loop that ends still works, and so does the recursion.
			if r, err := m.ExportedFunction("count").Call(ctx, 100000); err != nil || r[0] != 7 {
				t.Fatalf("count: %v %v", r, err)
			}
			if r, err := m.ExportedFunction("fib").Call(ctx, 20); err != nil || r[0] != 6765 {
				t.Fatalf("fib(20): %v %v", r, err)
			}
			// A fuel below zero (the host's store of 0 raced with the
			// module's decrement) still reaches the stop flag at once.
			stop, fuel := m.ExportedGlobal(StopGlobal).(api.MutableGlobal), m.ExportedGlobal(FuelGlobal).(api.MutableGlobal)
			stop.Set(1)
			fuel.Set(uint64(0xffffff00)) // -256
			if _, err := m.ExportedFunction("spin").Call(ctx); err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("negative fuel: %v", err)
			}
			stop.Set(0)
			for _, which := range []string{"spin", "fib"} {
				var args []uint64
				if which == "fib" {
					args = []uint64{60} // fib(60): centuries
				}
				took, err := stopAfter(t, m, 50*time.Millisecond, func() error {
					_, err := m.ExportedFunction(which).Call(ctx, args...)
					return err
				})
				if err == nil || !strings.Contains(err.Error(), "unreachable") {
					t.Fatalf("%s: %v", which, err)
				}
				if took > 5*time.Second {
					t.Fatalf("%s stopped only after %s", which, took)
				}
				m.ExportedGlobal(StopGlobal).(api.MutableGlobal).Set(0)
				if r, err := m.ExportedFunction("count").Call(ctx, uint64(3*FuelPerExit)); err != nil || r[0] != 7 {
					t.Fatalf("after a stop was cleared: %v %v", r, err)
				}
			}
		})
	}
}

// TestModulesWithoutGlobalsOrExports: the sections are created, in order.
func TestModulesWithoutGlobalsOrExports(t *testing.T) {
	types := sec(1, vec([]byte{0x60, 0, 0}))
	funcs := sec(3, vec([]byte{0}))
	start := sec(8, appendU32(nil, 0))
	codes := sec(10, vec(code(0, 0x03, 0x40, 0x0b, 0x0b)))
	data := sec(11, vec())
	mem := sec(5, vec([]byte{0x00, 0}))
	for _, in := range [][]byte{
		module(types, funcs, codes),
		module(types, funcs, start, codes),
		module(types, funcs, mem, codes, data),
		module(sec(5, vec())), // a memory section with no memory
		module(),
	} {
		out, _, err := Instrument(in)
		if err != nil {
			t.Fatal(err)
		}
		m, done := instantiate(t, out, false)
		if m.ExportedGlobal(StopGlobal) == nil {
			t.Fatal("no stop global")
		}
		done()
	}
}

// richModule uses an instruction of each immediate shape: block types,
// if/else, br_table, typed select, memory and table indices, 0xfc and SIMD
// prefixes, constants of each width, and a loop with a value type.
func richModule() []byte {
	types := sec(1, vec([]byte{0x60, 0, 0}, []byte{0x60, 1, i32, 1, i32}))
	return module(types, sec(3, vec([]byte{1})), sec(4, vec([]byte{0x70, 0x00, 1})), sec(5, vec([]byte{0x00, 1})),
		sec(10, vec(code(1, 1, 0x7b, // one v128 local
			0x02, 0x40, 0x20, 0, 0x04, 0x40, 0x01, 0x05, 0x01, 0x0b, 0x0b, // block { if {} else {} }
			0x02, 0x40, 0x41, 0, 0x0e, 1, 0, 0, 0x0b, // block { br_table 0 0 }
			0x20, 0, 0x20, 0, 0x20, 0, 0x1c, 1, i32, 0x1a, // select (result i32)
			0x41, 0, 0x41, 0, 0x41, 4, 0xfc, 11, 0, // memory.fill
			0x3f, 0, 0x1a, // memory.size
			0xfc, 16, 0, 0x1a, // table.size 0
			0x41, 0, 0xfd, 0, 4, 0, 0x21, 1, // v128.load; local.set
			0x20, 1, 0xfd, 21, 3, 0x1a, // i8x16.extract_lane_s 3
			0xfd, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0x1a, // v128.const
			0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f, 0x1a, // i64.const min
			0x43, 0, 0, 0x80, 0x3f, 0x1a, 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x1a, // f32/f64.const
			0x03, i32, 0x41, 3, 0x0b, 0x1a, // loop (result i32)
			0x41, 0, 0xc0, 0x1a, // i32.extend8_s
			0xd0, 0x70, 0xd1, 0x1a, // ref.null func; ref.is_null
			0x20, 0, 0x0b))))
}

// TestRichModule: wazero compiles richModule, before and after, and the
// decoder found its two checks (entry, loop).
func TestRichModule(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	in := richModule()
	if _, err := rt.CompileModule(ctx, in); err != nil {
		t.Fatalf("the test module itself: %v", err)
	}
	out, res, err := Instrument(in)
	if err != nil || res.Checks != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Fatal(err)
	}
}

func TestRefused(t *testing.T) {
	types := sec(1, vec([]byte{0x60, 0, 0}))
	funcs := sec(3, vec([]byte{0}))
	body := func(b ...byte) []byte { return module(types, funcs, sec(10, vec(code(b...)))) }
	for _, tc := range []struct {
		name, want string
		in         []byte
	}{
		{"empty", "header", nil},
		{"wasm 2", "header", []byte("\x00asm\x02\x00\x00\x00")},
		{"truncated section", "declared", append(module(), 1, 10, 0)},
		{"out of order", "out of order", module(funcs, types)},
		{"unknown section", "unknown section", module(sec(14, nil))},
		{"reserved export", "reserves", module(sec(7, vec(bytes.Join([][]byte{name(StopGlobal), {0, 0}}, nil))))},
		{"atomics", "0xfe", body(0, 0xfe, 0x03, 0x00, 0x0b)},
		{"try", "0x06", body(0, 0x06, 0x40, 0x0b, 0x0b)},
		{"no end", "end", body(0, 0x01)},
		{"end before the last byte", "end of the function before its last byte", body(0, 0x0b, 0x01, 0x0b)},
		{"block left open", "function body without its end", body(0, 0x02, 0x40, 0x0b)},
		{"truncated immediate", "unexpected end", body(0, 0x41)},
		{"multi-memory", "multiple memories", body(0, 0x41, 0, 0x28, 0x40, 0, 0, 0x1a, 0x0b)},
		{"long u32", "u32", body(0, 0x20, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x0b)},
		{"tag section", "exception", module(sec(13, vec()))},
		{"import count", "vector of", module(sec(2, []byte{0xff, 0xff, 0xff, 0x7f, 0}))},
		{"type params", "vector of", module(sec(1, []byte{1, 0x60, 0xff, 0xff, 0x0f, 0}))},
		{"locals", "locals", module(types, funcs, sec(10, vec(code(1, 0xff, 0xff, 0xff, 0xff, 0x0f, i32, 0x0b))))},
		{"locals in all", "declare 75009 locals, more than the 50011 a code section of 22 bytes may", func() []byte {
			// Three functions of 25003 locals each, in 7 bytes each.
			f := code(1, 0xab, 0xc3, 0x01, i32, 0x0b)
			return module(types, sec(3, vec([]byte{0}, []byte{0}, []byte{0})), sec(10, vec(f, f, f)))
		}()},
		{"data size", "vector of", module(sec(11, []byte{1, 1, 0xff, 0xff, 0xff, 0x7f}))},
		{"element count", "vector of", module(sec(9, []byte{1, 1, 0, 0xff, 0xff, 0x7f}))},
		{"function names", "vector of", module(sec(0, append(name("name"), 1, 4, 0xff, 0xff, 0xff, 0x7f)))},
		{"data count", "data count", module(sec(12, []byte{0xff, 0xff, 0x03}))},
		{"function type index", "function 1 has type 5 of 1", module(types, sec(3, vec([]byte{0}, []byte{5})))},
		// 0x63 (ref null ...) then heap type 0: wazero then reads the vector
		// count 268435455 that this decoder, taking 0x63 for one byte,
		// would not (FuzzInstrument's memory bomb).
		{"typed reference in an element segment", "reference type 0x63",
			module(sec(9, []byte{1, 7, 0x63, 0x00, 0xff, 0xff, 0xff, 0x7f}))},
		{"typed reference parameter", "value type 0x64", module(sec(1, vec([]byte{0x60, 1, 0x64, 0x00, 0})))},
		{"typed reference local", "value type 0x63", body(1, 1, 0x63, 0x00, 0x0b)},
		{"exnref global", "value type 0x69", module(sec(6, vec([]byte{0x69, 0, 0xd0, 0x69, 0x0b})))},
		{"table with an initialiser", "reference type 0x40", module(sec(4, vec([]byte{0x40, 0, 0x70, 0, 1, 0xd0, 0x70, 0x0b})))},
		{"ref.null of a heap type", "reference type 0x00", body(0, 0xd0, 0x00, 0x1a, 0x0b)},
		{"element kind", "element kind 0x01", module(sec(9, vec([]byte{1, 0x01, 0})))},
		{"imported function type index", "imported function 0 has type 1 of 1",
			module(types, sec(2, vec(bytes.Join([][]byte{name("env"), name("f"), {0x00, 1}}, nil))))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Instrument(tc.in)
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an Error about %q", err, tc.want)
			}
		})
	}
}

// FuzzInstrument: never a panic; a module Instrument accepts, wazero can
// decode without running out of memory, and what it compiles before, it
// compiles after.
func FuzzInstrument(f *testing.F) {
	f.Add(spinModule(false, false, false))
	f.Add(spinModule(true, true, true))
	f.Add(richModule())
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	f.Cleanup(func() { rt.Close(ctx) })
	small := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithMemoryLimitPages(16))
	f.Cleanup(func() { small.Close(ctx) })
	f.Add(dataModule(1, false, false, active(8, 1, 2), active(12, 3), active(100, 4), active(2, 5)))
	f.Add(dataModule(1, false, false, active(0, 1, 2, 3, 4, 5, 6), active(2, 9), active(4, 8)))
	f.Fuzz(func(t *testing.T, in []byte) {
		// The host's order: Instrument first, wazero only on what it
		// accepted (wazero sizes allocations from unchecked counts).
		out, res, err := Instrument(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		// What Instrument accepts must not make wazero allocate out of
		// proportion (the memory bombs fuzzing found sized gigabytes).
		allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
		metrics.Read(allocs)
		before := allocs[0].Value.Uint64()
		defer func() {
			metrics.Read(allocs)
			if n := allocs[0].Value.Uint64() - before; n > 64<<20 {
				t.Fatalf("wazero allocated %d MB for a %d-byte module", n>>20, len(in))
			}
		}()
		cm, cerr := rt.CompileModule(ctx, in)
		if cerr != nil {
			return
		}
		defer cm.Close(ctx)
		cm2, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("instrumented module does not compile: %v", err)
		}
		defer cm2.Close(ctx)
		if len(cm2.ExportedFunctions()) < len(cm.ExportedFunctions()) {
			t.Fatal("exports lost")
		}
		// Joined data segments leave the same memory (or the same failure).
		// Only where instantiating runs no code and allocates little: no
		// start function, no imports, no tables, memories of ≤ 16 pages.
		if res.DataSegments[0] == res.DataSegments[1] || res.HasStart || hasSection(in, 2) || hasSection(in, 4) {
			return
		}
		want, werr := memoryAfterInstantiation(t, small, in)
		got, gerr := memoryAfterInstantiation(t, small, out)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("joined data segments changed the instance: errors %v / %v, memories equal %v", werr, gerr, bytes.Equal(got, want))
		}
	})
}

// hasSection reports whether a module Instrument accepted has a section id.
func hasSection(bin []byte, id byte) bool { return sectionBody(bin, id) != nil }

// sectionBody returns the contents of a module's section id (nil when it
// has none).
func sectionBody(bin []byte, id byte) []byte {
	r := &reader{b: bin, off: len(header)}
	for r.off < len(bin) && r.err == nil {
		sid := r.byte()
		body := r.bytes(int(r.u32()))
		if sid == id && r.err == nil {
			return append([]byte{}, body...)
		}
	}
	return nil
}
