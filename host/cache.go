package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imchost/imchost/capability"
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
	walkErr := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			errs = append(errs, err)
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if path == dir || filepath.Dir(rel) == "." && strings.HasPrefix(rel, "wazero-") {
				return nil
			}
			return fs.SkipDir // not the cache's
		}
		age, ok := cacheRule(rel)
		if !ok {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		if age > 0 && now.Sub(lastUse(fi)) <= age {
			return nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			return nil
		}
		files++
		size += fi.Size()
		return nil
	})
	if walkErr != nil {
		return 0, 0, walkErr
	}
	return files, size, errors.Join(errs...)
}

// cacheRule says how long the cache file at rel (relative to the cache
// directory) may go unused: 0 for at once, ok false for never (not a
// file of the cache's).
func cacheRule(rel string) (age time.Duration, ok bool) {
	dir, name := filepath.Split(rel)
	switch {
	case dir != "": // in a wazero-* directory: entries named by their key, temporary files *.tmp
		if strings.HasSuffix(name, ".tmp") {
			return cacheTempAge, true
		}
		return cacheMaxAge, true
	case strings.HasPrefix(name, ".wasmstop-"), strings.HasPrefix(name, ".probe-"):
		return cacheTempAge, true
	case strings.HasPrefix(name, stampPrefix):
		return cacheMaxAge, true
	case strings.HasPrefix(name, "imc-record-v"):
		if !strings.HasPrefix(name, recordPrefix) {
			return 0, true // another format's
		}
		return cacheMaxAge, true
	case strings.HasPrefix(name, "wasmstop-v") && strings.HasSuffix(name, ".wasm"):
		if !strings.HasPrefix(name, rewritePrefix) {
			return 0, true // another version's
		}
		return cacheMaxAge, true
	}
	return 0, false
}

// lastUse is the later of a file's modification and access times.
func lastUse(fi fs.FileInfo) time.Time {
	last := fi.ModTime()
	if at, _, ok := capability.FileTimes(fi); ok && at.After(last) {
		last = at
	}
	return last
}

// rewritePrefix starts the cache file names of the wasmstop rewrites made
// by the rewriting's current version.
const rewritePrefix = "wasmstop-v" + wasmstop.Version + "-"

// rewriteName is the cache file name of the rewrite of a module file with
// that sha256 (hex).
func rewriteName(sha string) string { return rewritePrefix + sha + ".wasm" }

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
