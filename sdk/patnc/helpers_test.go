package patnc

import "fmt"

// sscan reads "(vendor 0x%x type 0x%x) len=%d" from the start of s.
func sscan(s string, vendor, typ *uint32, n *int) (int, error) {
	return fmt.Sscanf(s, " (vendor 0x%x type 0x%x) len=%d", vendor, typ, n)
}
