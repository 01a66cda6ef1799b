package testutil

import (
	"bytes"
	"encoding/binary"
)

// PAMsg is a PA-TNC message (RFC 5792 Section 4.1) of the given
// attributes, with message identifier 1.
func PAMsg(attrs ...[]byte) []byte {
	return append([]byte{1, 0, 0, 0, 0, 0, 0, 1}, bytes.Join(attrs, nil)...)
}

// PAAttr is one PA-TNC attribute (RFC 5792 Section 4.2) without flags.
func PAAttr(vendor, typ uint32, value []byte) []byte {
	h := make([]byte, 12, 12+len(value))
	h[1], h[2], h[3] = byte(vendor>>16), byte(vendor>>8), byte(vendor)
	binary.BigEndian.PutUint32(h[4:], typ)
	binary.BigEndian.PutUint32(h[8:], uint32(12+len(value)))
	return append(h, value...)
}
