package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/imchost/imchost/host/internal/wasmstop"
)

// Cache upkeep. wazero never removes an entry from its file cache: every
// module version ever loaded, and every wazero release, leaves ~14 MB of
// native code behind, and every wasmstop.Version a ~4 MB rewrite per
// module. After a load the host removes what no start is going to read.

const (
	// cacheMaxAge: an entry neither read nor written for this long goes.
	cacheMaxAge = 30 * 24 * time.Hour
	// cacheTempAge: a temporary file of a write this old was abandoned.
	cacheTempAge = time.Hour
)

// pruneCache removes from the cache directory dir: rewrites by another
// wasmstop version; temporary files (of wazero, of the rewrite cache, of the
// writability probe) older than cacheTempAge; and rewrites and compiled
// entries (of any wazero version) last read or written more than
// cacheMaxAge ago. Reading an entry refreshes its access time on Linux's
// default relatime mounts at least daily; where access times are not kept,
// an entry in use may go after cacheMaxAge and is compiled again once. It
// returns the files removed and their bytes; errors are joined, and the
// other files are still looked at.
func pruneCache(dir string, now time.Time) (files int, size int64, err error) {
	var errs []error
	remove := func(path string, fi fs.FileInfo) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			return
		}
		files++
		size += fi.Size()
	}
	stale := func(fi fs.FileInfo, age time.Duration) bool {
		last := fi.ModTime()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if at := time.Unix(st.Atim.Unix()); at.After(last) {
				last = at
			}
		}
		return now.Sub(last) > age
	}
	current := "wasmstop-v" + wasmstop.Version + "-"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ents {
		name, path := e.Name(), filepath.Join(dir, e.Name())
		if e.IsDir() {
			if strings.HasPrefix(name, "wazero-") {
				if err := pruneCompiled(path, stale, remove); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		switch {
		case strings.HasPrefix(name, ".wasmstop-"), strings.HasPrefix(name, ".probe-"):
			if stale(fi, cacheTempAge) {
				remove(path, fi)
			}
		case strings.HasPrefix(name, "wasmstop-v") && strings.HasSuffix(name, ".wasm"):
			if !strings.HasPrefix(name, current) || stale(fi, cacheMaxAge) {
				remove(path, fi)
			}
		}
	}
	return files, size, errors.Join(errs...)
}

// pruneCompiled is pruneCache in one of wazero's directories: its entries
// are named by their key in hex, its temporary files end in ".tmp".
func pruneCompiled(dir string, stale func(fs.FileInfo, time.Duration) bool, remove func(string, fs.FileInfo)) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		age := cacheMaxAge
		if strings.HasSuffix(e.Name(), ".tmp") {
			age = cacheTempAge
		}
		if stale(fi, age) {
			remove(filepath.Join(dir, e.Name()), fi)
		}
	}
	return nil
}

// touchIfOld sets a cache file's times to now when it was last modified
// more than a day ago, so that a rewrite in use never looks unused to
// pruneCache where access times are not kept.
func touchIfOld(path string, now time.Time) {
	if fi, err := os.Stat(path); err == nil && now.Sub(fi.ModTime()) > 24*time.Hour {
		_ = os.Chtimes(path, now, now)
	}
}

// PruneCache removes from a compilation cache directory what no start is
// going to read again, as a Host does after each load: rewrites by another
// version of the host's module rewriting, temporary files abandoned for an
// hour, and entries neither read nor written for 30 days. It is for caches
// a Host does not own (sdk/imctest's, kept between test runs). It returns
// the files removed and their bytes.
func PruneCache(dir string) (files int, bytes int64, err error) {
	return pruneCache(dir, time.Now())
}

// prune runs pruneCache on the host's cache directory, if it has one, and
// logs what it removed.
func (h *Host) prune() {
	if h.cacheDir == "" {
		return
	}
	n, b, err := pruneCache(h.cacheDir, time.Now())
	if n > 0 {
		h.wlog.Info(fmt.Sprintf("removed %d unused compilation cache files (%.1f MB) from '%s'", n, float64(b)/(1<<20), h.cacheDir))
	}
	if err != nil {
		h.wlog.Warn(fmt.Sprintf("pruning the compilation cache '%s': %v", h.cacheDir, err))
	}
}
