package host

import (
	"context"
	"fmt"
	"github.com/imchost/imchost/internal/testutil"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
)

// Test modules: examples/hello (from $IMCHOST_WASM_DIR/imc-hello.wasm when
// set, as `make test` builds it) and the hostile modules of
// testdata/hostile, built once here. All tests share one compilation cache,
// so each module is compiled once per test binary.
var (
	wasmDir   string
	testCache wazero.CompilationCache
)

var testModules = map[string]string{
	"hello":       "../examples/hello",
	"loop":        "./testdata/hostile/loop",
	"alloc":       "./testdata/hostile/alloc",
	"trap":        "./testdata/hostile/trap",
	"ungranted":   "./testdata/hostile/ungranted",
	"oversize":    "./testdata/hostile/oversize",
	"noabi":       "./testdata/hostile/noabi",
	"wrongabi":    "./testdata/hostile/wrongabi",
	"nosubscribe": "./testdata/hostile/nosubscribe",
	"lanes":       "./testdata/hostile/lanes",
	"facts":       "./testdata/facts",
	"echo":        "./testdata/echo",
	"spin":        "./testdata/spin",
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "imchost-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	wasmDir = dir
	if err := buildModules(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// One cache for the whole test binary, kept under the user's cache
	// directory so that the next run does not compile the modules again.
	cacheDir := filepath.Join(dir, "cache")
	if ucd, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(ucd, "imchost", "host-test")
	}
	// Kept, and so pruned like a host's (modules change with every edit).
	_, _, _ = PruneCache(cacheDir)
	testCache, err = wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testCache.Close(context.Background())
	return m.Run()
}

// buildModules builds the test modules into dir (two at a time: the CPU is
// shared), taking prebuilt ones from $IMCHOST_WASM_DIR.
func buildModules(dir string) error {
	pre := os.Getenv("IMCHOST_WASM_DIR")
	var wg sync.WaitGroup
	sem := make(chan struct{}, min(2, runtime.NumCPU()))
	errs := make(chan error, len(testModules))
	for name, src := range testModules {
		out := filepath.Join(dir, name+".wasm")
		if pre != "" && !strings.HasPrefix(src, "./testdata") {
			if b, err := os.ReadFile(filepath.Join(pre, "imc-"+name+".wasm")); err == nil {
				if err := os.WriteFile(out, b, 0o644); err != nil {
					return err
				}
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := testutil.BuildWasm(out, src); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// modPath returns the built module's path.
func modPath(name string) string { return filepath.Join(wasmDir, name+".wasm") }
