//go:build !linux

package host

import (
	"io/fs"
	"time"
)

// fileTimes reports no access or status-change times outside Linux: the
// cache ages by modification time and the event log reports its
// modification time.
func fileTimes(fs.FileInfo) (atime, ctime time.Time, ok bool) {
	return time.Time{}, time.Time{}, false
}
