package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host/internal/wasmstop"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/tnccs"
)

// BenchmarkRoundTrip: one PA message host → module (write into the
// imc_alloc buffer, imc_receive) → host (the module's send reaches the
// SendFunc), with testdata/echo, which does nothing else.
func BenchmarkRoundTrip(b *testing.B) { benchRoundTrip(b, modPath("echo"), helloGrants) }

// BenchmarkRoundTripHello is the same with examples/hello, which parses the
// message and builds its answer with sdk/patnc and asks log_level.
func BenchmarkRoundTripHello(b *testing.B) { benchRoundTrip(b, modPath("hello"), helloGrants) }

func benchRoundTrip(b *testing.B, path string, grants []string) {
	cfg := &Config{IMCs: []IMCConfig{{Name: "Bench", Path: path, Grants: grants}}}
	h, err := New(cfg, Options{CompilationCache: testCache}) // no logger: measure the mechanism
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		b.Fatal(err)
	}
	n := 0
	c, err := h.OpenConn(ctx, 1, func(tnccs.PAMessage) error { n++; return nil })
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	m := helloMsg(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Receive(ctx, m)
	}
	b.StopTimer()
	if n != b.N {
		b.Fatalf("%d replies for %d messages", n, b.N)
	}
}

// BenchmarkInstantiate: open and close a connection with one IMC
// (instantiate, _initialize, imc_initialize, imc_terminate, close).
func BenchmarkInstantiate(b *testing.B) {
	h, _ := newTestHost(b, IMCConfig{Name: "Hello", Path: modPath("hello"), Grants: helloGrants})
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := h.OpenConn(ctx, 1, func(tnccs.PAMessage) error { return nil })
		if err != nil || len(c.IMCs()) != 1 {
			b.Fatal(err)
		}
		c.Close(ctx)
	}
}

// benchCompile compiles examples/hello as the host does: the wasmstop
// rewrite of the file (made once, outside the measurement).
func benchCompile(b *testing.B, cache func() wazero.CompilationCache) {
	raw, err := os.ReadFile(modPath("hello"))
	if err != nil {
		b.Fatal(err)
	}
	bin, _, err := wasmstop.Instrument(raw)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := cache()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCompilationCache(c))
		if _, err := rt.CompileModule(ctx, bin); err != nil {
			b.Fatal(err)
		}
		rt.Close(ctx)
		c.Close(ctx)
	}
}

// BenchmarkCompileCold: compile examples/hello with an empty cache.
func BenchmarkCompileCold(b *testing.B) {
	benchCompile(b, wazero.NewCompilationCache)
}

// BenchmarkCompileWarm: compile examples/hello from a filled file cache (a
// second start of the host).
func BenchmarkCompileWarm(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "cache")
	open := func() wazero.CompilationCache {
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	benchCompile(b, open) // fill
	b.ResetTimer()
	benchCompile(b, open)
}

// BenchmarkReloadSwap: Reload with a changed module file (read, hash,
// compile from the cache, check, probe, swap), alternating two modules.
func BenchmarkReloadSwap(b *testing.B) {
	path := filepath.Join(b.TempDir(), "imc.wasm")
	testutil.CopyFile(b, modPath("hello"), path)
	h, _ := newTestHost(b, IMCConfig{Name: "Vendor", Path: path, Grants: helloGrants})
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		b.Fatal(err)
	}
	srcs := []string{modPath("oversize"), modPath("hello")}
	for _, s := range srcs { // compile both once, outside the measurement
		testutil.CopyFile(b, s, path)
		h.Reload(ctx, nil)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		testutil.CopyFile(b, srcs[i%2], path)
		b.StartTimer()
		if err := h.Reload(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLifecycleCall: one trivial export call (imc_batch_ending, which
// hello answers at once): the floor of every host → module call.
func BenchmarkLifecycleCall(b *testing.B) {
	cfg := &Config{IMCs: []IMCConfig{{Name: "Hello", Path: modPath("hello"), Grants: helloGrants}}}
	h, err := New(cfg, Options{CompilationCache: testCache})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		b.Fatal(err)
	}
	c, err := h.OpenConn(ctx, 1, func(tnccs.PAMessage) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.BatchEnding(ctx)
	}
}

// BenchmarkDispatch is the cost of reaching a host function: wasm, a PA
// message into testdata/echo, whose send comes back through the wasm glue
// (guest memory in, dispatch, handler); native, capability.Session.Call of functions
// whose own work is small (config_get of a set key, hash of 32 bytes,
// random of 16, an unknown name), so that the lookup shows.
func BenchmarkDispatch(b *testing.B) {
	b.Run("wasm-send", func(b *testing.B) { benchRoundTrip(b, modPath("echo"), helloGrants) })
	s := capability.NewSession(capability.SessionConfig{IMCID: 1, Conn: 1, Settings: Settings{"greeting": "hello"}})
	defer s.Close()
	for _, c := range []struct {
		name, fn string
		in       []byte
		want     abi.Status
	}{
		{"config_get", abi.FnConfigGet, []byte("greeting"), abi.StatusOK},
		{"hash", abi.FnHash, abi.AppendHashRequest(nil, abi.HashRequest{Alg: abi.AlgSHA256, Data: make([]byte, 32)}), abi.StatusOK},
		{"random", abi.FnRandom, abi.AppendUint32(nil, 16), abi.StatusOK},
		{"unknown", "no_such_function", nil, abi.StatusInvalid},
	} {
		b.Run("native-"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, st := s.Call(c.fn, c.in); st != c.want {
					b.Fatal(st)
				}
			}
		})
	}
}
