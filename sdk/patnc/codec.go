package patnc

import (
	"strings"

	"github.com/imchost/imchost/sdk/fmtlite"
)

// Offset conventions of the value decoders (all offsets relative to the
// value start; ParseMessage adds the value's position in the message):
//   - a fixed-size value that is too short: offset 0 (strongSwan's
//     "insufficient data");
//   - a variable field that runs past the end: the offset of that field;
//   - bytes left over after the last field: the offset of the first one;
//   - an invalid field value: the offset of that field.

// fixedLen checks that v is exactly n bytes long.
func fixedLen(v []byte, n int) error {
	switch {
	case len(v) < n:
		return invalid(0, fmtlite.Sprintf("value of %d bytes, want %d", len(v), n))
	case len(v) > n:
		return invalid(n, fmtlite.Sprintf("value of %d bytes, want %d", len(v), n))
	}
	return nil
}

// reader wraps str and remembers the value length, so that
// the current offset is always known.
type reader struct {
	s str
	n int
}

func newReader(v []byte) *reader { return &reader{s: str(v), n: len(v)} }

// off returns the offset of the next unread byte.
func (r *reader) off() int { return r.n - len(r.s) }

// end fails with the offset of the first left-over byte.
func (r *reader) end() error {
	if !r.s.Empty() {
		return invalid(r.off(), fmtlite.Sprintf("%d trailing bytes", len(r.s)))
	}
	return nil
}

// short reports a field that runs past the end, at the given offset.
func short(off int, field string) error {
	return invalid(off, "truncated "+field)
}

// string8 reads a uint8-length-prefixed string.
func (r *reader) string8(out *string, field string) error {
	at := r.off()
	var c str
	if !r.s.ReadUint8LengthPrefixed(&c) {
		return short(at, field)
	}
	*out = string(c)
	return nil
}

// string16 reads a uint16-length-prefixed string.
func (r *reader) string16(out *string, field string) error {
	at := r.off()
	var c str
	if !r.s.ReadUint16LengthPrefixed(&c) {
		return short(at, field)
	}
	*out = string(c)
	return nil
}

// bytes16 reads a uint16-length-prefixed byte string (aliasing the input).
func (r *reader) bytes16(out *[]byte, field string) error {
	at := r.off()
	var c str
	if !r.s.ReadUint16LengthPrefixed(&c) {
		return short(at, field)
	}
	*out = c
	return nil
}

// bytes32 reads a uint32-length-prefixed byte string (aliasing the input).
func (r *reader) bytes32(out *[]byte, field string) error {
	at := r.off()
	var n uint32
	if !r.s.ReadUint32(&n) || uint64(n) > uint64(len(r.s)) || !r.s.ReadBytes(out, int(n)) {
		return short(at, field)
	}
	return nil
}

// rest returns the unread bytes.
func (r *reader) rest() []byte {
	v := []byte(r.s)
	r.s = nil
	return v
}

// add8 appends a uint8-length-prefixed string, failing if it is too long.
func add8(b *Builder, t Type, field, s string) {
	if len(s) > 0xff {
		b.SetError(errf(t, "%s longer than 255 bytes", field))
		return
	}
	b.AddUint8(uint8(len(s)))
	b.AddBytes([]byte(s))
}

// add16 appends a uint16-length-prefixed byte string, failing if too long.
func add16(b *Builder, t Type, field string, v []byte) {
	if len(v) > 0xffff {
		b.SetError(errf(t, "%s longer than 65535 bytes", field))
		return
	}
	b.AddUint16(uint16(len(v)))
	b.AddBytes(v)
}

// add32 appends a uint32-length-prefixed byte string.
func add32(b *Builder, t Type, field string, v []byte) {
	if int64(len(v)) > MaxAttrValueLen {
		b.SetError(errf(t, "%s too long", field))
		return
	}
	b.AddUint32(uint32(len(v)))
	b.AddBytes(v)
}

// addUint24 appends a 24-bit value, failing if it does not fit.
func addUint24(b *Builder, t Type, field string, v uint32) {
	if v > 0xffffff {
		b.SetError(errf(t, "%s wider than 24 bits", field))
		return
	}
	b.AddUint24(v)
}

// hasNUL reports whether s contains a NUL byte.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// capHint bounds a slice capacity taken from a count field by what the
// remaining bytes can hold (each entry at least minEntry bytes).
func capHint(count uint64, remaining, minEntry int) int {
	max := uint64(remaining / minEntry)
	if count > max {
		return int(max)
	}
	return int(count)
}
