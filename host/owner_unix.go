//go:build unix

package host

import (
	"io/fs"
	"os"
	"syscall"
)

// fileOwner returns a file's owner uid.
func fileOwner(fi fs.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// openNoFollow opens a cache file for reading, refusing a symbolic link
// (an entry must be the file in the cache directory, not a pointer to a
// file elsewhere that others may write).
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}
