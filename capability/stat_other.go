//go:build !linux

package capability

import (
	"io/fs"
	"time"
)

// FileTimes reports no access or status-change times outside Linux: the
// cache ages by modification time and the event log reports its
// modification time.
func FileTimes(fs.FileInfo) (atime, ctime time.Time, ok bool) {
	return time.Time{}, time.Time{}, false
}
