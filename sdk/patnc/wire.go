package patnc

// This file holds the two wire primitives of the package: Builder for
// encoding and str for decoding. They follow golang.org/x/crypto/cryptobyte
// (same method names and semantics, big-endian, sticky first error) but are
// written here because cryptobyte links math/big and encoding/asn1, which
// add about 260 KB to every wasm IMC that imports this package.

// Builder appends big-endian wire data to a buffer. The first error set
// with SetError sticks; later Add calls are then ignored, and Bytes
// returns the error. Attribute encoders receive one (Attr.MarshalValue).
type Builder struct {
	buf []byte
	err error
}

// NewBuilder returns a Builder that appends to buf.
func NewBuilder(buf []byte) *Builder { return &Builder{buf: buf} }

// SetError records err if no error was recorded before.
func (b *Builder) SetError(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Bytes returns the buffer (sharing its memory) or the recorded error.
func (b *Builder) Bytes() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.buf, nil
}

// AddUint8 appends v.
func (b *Builder) AddUint8(v uint8) {
	if b.err == nil {
		b.buf = append(b.buf, v)
	}
}

// AddUint16 appends v, big-endian.
func (b *Builder) AddUint16(v uint16) {
	if b.err == nil {
		b.buf = append(b.buf, byte(v>>8), byte(v))
	}
}

// AddUint24 appends the low 24 bits of v, big-endian.
func (b *Builder) AddUint24(v uint32) {
	if b.err == nil {
		b.buf = append(b.buf, byte(v>>16), byte(v>>8), byte(v))
	}
}

// AddUint32 appends v, big-endian.
func (b *Builder) AddUint32(v uint32) {
	if b.err == nil {
		b.buf = append(b.buf, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// AddUint64 appends v, big-endian.
func (b *Builder) AddUint64(v uint64) {
	b.AddUint32(uint32(v >> 32))
	b.AddUint32(uint32(v))
}

// AddBytes appends v.
func (b *Builder) AddBytes(v []byte) {
	if b.err == nil {
		b.buf = append(b.buf, v...)
	}
}

// str is input being decoded; each Read advances it and reports whether
// enough bytes were there (a failed read leaves it unchanged).
type str []byte

// read consumes n bytes, or returns nil if fewer are left.
func (s *str) read(n int) []byte {
	if n < 0 || len(*s) < n {
		return nil
	}
	v := (*s)[:n:n]
	*s = (*s)[n:]
	return v
}

// Empty reports whether nothing is left.
func (s *str) Empty() bool { return len(*s) == 0 }

// ReadUint8 reads one byte.
func (s *str) ReadUint8(out *uint8) bool {
	v := s.read(1)
	if v == nil {
		return false
	}
	*out = v[0]
	return true
}

// ReadUint16 reads a big-endian uint16.
func (s *str) ReadUint16(out *uint16) bool {
	v := s.read(2)
	if v == nil {
		return false
	}
	*out = uint16(v[0])<<8 | uint16(v[1])
	return true
}

// ReadUint24 reads a big-endian 24-bit value.
func (s *str) ReadUint24(out *uint32) bool {
	v := s.read(3)
	if v == nil {
		return false
	}
	*out = uint32(v[0])<<16 | uint32(v[1])<<8 | uint32(v[2])
	return true
}

// ReadUint32 reads a big-endian uint32.
func (s *str) ReadUint32(out *uint32) bool {
	v := s.read(4)
	if v == nil {
		return false
	}
	*out = uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	return true
}

// ReadUint64 reads a big-endian uint64.
func (s *str) ReadUint64(out *uint64) bool {
	var hi, lo uint32
	if len(*s) < 8 {
		return false
	}
	s.ReadUint32(&hi)
	s.ReadUint32(&lo)
	*out = uint64(hi)<<32 | uint64(lo)
	return true
}

// ReadBytes reads n bytes into out (aliasing the input).
func (s *str) ReadBytes(out *[]byte, n int) bool {
	v := s.read(n)
	if v == nil {
		return false
	}
	*out = v
	return true
}

// CopyBytes fills out from the input.
func (s *str) CopyBytes(out []byte) bool {
	v := s.read(len(out))
	if v == nil {
		return false
	}
	copy(out, v)
	return true
}

// ReadUint8LengthPrefixed reads a uint8 length and that many bytes.
func (s *str) ReadUint8LengthPrefixed(out *str) bool {
	if len(*s) < 1 || len(*s)-1 < int((*s)[0]) {
		return false
	}
	var n uint8
	s.ReadUint8(&n)
	*out = s.read(int(n))
	return true
}

// ReadUint16LengthPrefixed reads a uint16 length and that many bytes.
func (s *str) ReadUint16LengthPrefixed(out *str) bool {
	if len(*s) < 2 || len(*s)-2 < int((*s)[0])<<8|int((*s)[1]) {
		return false
	}
	var n uint16
	s.ReadUint16(&n)
	*out = s.read(int(n))
	return true
}
