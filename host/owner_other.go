//go:build !unix

package host

import (
	"io/fs"
	"os"
)

// fileOwner reports no owner where files have no uid.
func fileOwner(fs.FileInfo) (uid int, ok bool) { return 0, false }

// openNoFollow opens a cache file for reading.
func openNoFollow(path string) (*os.File, error) { return os.Open(path) }
