package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/imchost/imchost/host/internal/wasmstop"
)

// BenchmarkModuleLoad measures, per module file, what a module's size
// costs a start (issue 22): compile-cold is the wasmstop rewrite's
// compilation with an empty cache (the first start after an install),
// compile-warm the same from a filled file cache (decode, validate, read
// the native code: every later start), instantiate a fresh instance with
// _initialize (the data segments copied in; mem-KiB is its linear memory
// afterwards). The files are $IMCHOST_BENCH_MODULES (comma-separated), by
// default the shipped modules in ../out/wasm (make wasm). To compare two
// builds side by side, list them alternately several times (old,new,old,
// new,...): they run in that order (-count would repeat each in place),
// the repeats named #01, #02.
func BenchmarkModuleLoad(b *testing.B) {
	var files []string
	if env := os.Getenv("IMCHOST_BENCH_MODULES"); env != "" {
		files = strings.Split(env, ",")
	} else {
		for _, n := range []string{"os", "attestation", "swima"} {
			files = append(files, filepath.Join("..", "out", "wasm", "imc-"+n+".wasm"))
		}
	}
	ctx := context.Background()
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Skipf("%v (make wasm, or set IMCHOST_BENCH_MODULES)", err)
		}
		bin, _, err := wasmstop.Instrument(raw)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(filepath.Dir(f)) + "/" + strings.TrimSuffix(filepath.Base(f), ".wasm")
		compile := func(b *testing.B, cache wazero.CompilationCache) (wazero.Runtime, wazero.CompiledModule) {
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCompilationCache(cache))
			cm, err := rt.CompileModule(ctx, bin)
			if err != nil {
				b.Fatal(err)
			}
			return rt, cm
		}
		b.Run(name+"/compile-cold", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				c := wazero.NewCompilationCache()
				rt, _ := compile(b, c)
				rt.Close(ctx)
				c.Close(ctx)
			}
			// CPU time is what a loaded machine distorts least.
			reportCPU(b, cpu0)
		})
		b.Run(name+"/compile-warm", func(b *testing.B) {
			dir := b.TempDir()
			open := func() wazero.CompilationCache {
				c, err := wazero.NewCompilationCacheWithDir(dir)
				if err != nil {
					b.Fatal(err)
				}
				return c
			}
			c := open()
			rt, _ := compile(b, c) // fill
			rt.Close(ctx)
			c.Close(ctx)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				c := open()
				rt, _ := compile(b, c)
				rt.Close(ctx)
				c.Close(ctx)
			}
			reportCPU(b, cpu0)
		})
		b.Run(name+"/instantiate", func(b *testing.B) {
			c := wazero.NewCompilationCache()
			defer c.Close(ctx)
			rt, cm := compile(b, c)
			defer rt.Close(ctx)
			wasi_snapshot_preview1.MustInstantiate(ctx, rt)
			stubImports(b, ctx, rt, cm)
			mc := wazero.NewModuleConfig().WithName("").WithStartFunctions().WithSysWalltime().WithSysNanotime()
			var mem uint32
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				mod, err := rt.InstantiateModule(ctx, cm, mc)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := mod.ExportedFunction("_initialize").Call(ctx); err != nil {
					b.Fatal(err)
				}
				mem = mod.Memory().Size()
				mod.Close(ctx)
			}
			reportCPU(b, cpu0)
			b.ReportMetric(float64(mem)/1024, "mem-KiB")
		})
	}
}

// reportCPU reports the process's CPU time since cpu0 per operation.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// stubImports defines every imchost function the module imports, each
// returning zeros: _initialize calls none of them.
func stubImports(b *testing.B, ctx context.Context, rt wazero.Runtime, cm wazero.CompiledModule) {
	hb := rt.NewHostModuleBuilder("imchost")
	n := 0
	for _, d := range cm.ImportedFunctions() {
		mod, fn, _ := d.Import()
		if mod != "imchost" {
			continue
		}
		results := d.ResultTypes()
		hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			for i := range results {
				stack[i] = 0
			}
		}), d.ParamTypes(), results).Export(fn)
		n++
	}
	if n > 0 {
		if _, err := hb.Instantiate(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
