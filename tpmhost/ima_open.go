package tpmhost

import (
	"fmt"
	"os"
)

// OpenRegularFile opens path for reading without blocking on a FIFO or a
// device, and refuses anything but a regular file: a named pipe put where
// a log is expected would otherwise hang the reader.
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
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, st.Mode().Type())
	}
	return f, nil
}
