package tpmhost

import (
	"fmt"
	"os"
)

// OpenRegularFile opens path for reading if it is a regular file, and
// refuses anything else — a named pipe, a device, a socket, a directory —
// without waiting: the file is opened with O_NONBLOCK (so that open(2) of a
// FIFO without a writer returns at once) and checked with fstat before a
// byte is read. Reads of a regular file ignore O_NONBLOCK.
func OpenRegularFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNonBlock, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fileKind(st.Mode()))
	}
	return f, nil
}

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	}
	return "mode " + m.String()
}
