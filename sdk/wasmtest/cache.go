package wasmtest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/imchost/imchost/host"
)

var (
	cacheOnce sync.Once
	cache     wazero.CompilationCache
)

// sharedCache is one compilation cache for every NewWasm harness of the
// test binary (in memory, and on disk under the user's cache directory so
// that the next `go test` run does not compile the modules again).
func sharedCache(t testing.TB) wazero.CompilationCache {
	cacheOnce.Do(func() {
		dir := ""
		if ucd, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(ucd, "imchost", "imctest")
		}
		if dir != "" && os.MkdirAll(dir, 0o700) == nil {
			_, _, _ = host.PruneCache(dir) // kept between runs: pruned like a host's
			if c, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
				cache = c
				return
			}
		}
		cache = wazero.NewCompilationCache()
	})
	return cache
}
