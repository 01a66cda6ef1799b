package host

import (
	"encoding/binary"
	"io/fs"
	"syscall"
)

// fileStamp is what identifies one state of a file: device, inode, size,
// modification and change times (ns). A write, a rename over it or a
// chmod changes the change time, which no one but root can set.
func fileStamp(fi fs.FileInfo) ([]byte, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, false
	}
	var b [40]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(st.Dev))
	binary.LittleEndian.PutUint64(b[8:], uint64(st.Ino))
	binary.LittleEndian.PutUint64(b[16:], uint64(st.Size))
	binary.LittleEndian.PutUint64(b[24:], uint64(st.Mtim.Nano()))
	binary.LittleEndian.PutUint64(b[32:], uint64(st.Ctim.Nano()))
	return b[:], true
}
