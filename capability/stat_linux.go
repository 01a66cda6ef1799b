//go:build linux

package capability

import (
	"io/fs"
	"syscall"
	"time"
)

// FileTimes returns a file's access and status-change times, where the
// file system keeps them.
func FileTimes(fi fs.FileInfo) (atime, ctime time.Time, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(st.Atim.Unix()), time.Unix(st.Ctim.Unix()), true
}
