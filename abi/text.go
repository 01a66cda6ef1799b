package abi

import "strconv"

// Text without fmt: abi is linked into every module, and fmt (with the os
// and time packages it brings) would add about 760 KB to each.

func itoa(v int) string    { return strconv.Itoa(v) }
func utoa(v uint64) string { return strconv.FormatUint(v, 10) }

// wrapError is fmt.Errorf's "...: %w": its text, unwrapping to err.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

const hexDigits = "0123456789abcdef"

// hexString is hex.EncodeToString (encoding/hex imports fmt).
func hexString(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = hexDigits[c>>4], hexDigits[c&0xf]
	}
	return string(out)
}

// isHex reports whether s is n bytes in hex digits of either case (what
// hex.DecodeString accepts, of that length).
func isHex(s string, n int) bool {
	if len(s) != 2*n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
