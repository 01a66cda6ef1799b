//go:build !linux

package cli

// trimText does nothing where madvise(MADV_PAGEOUT) does not exist.
func trimText() {}
