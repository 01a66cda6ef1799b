package patnc

import (
	"encoding/binary"
	"errors"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
)

// Version is the PA-TNC version this package speaks.
const Version = 1

// Header sizes.
const (
	MsgHeaderLen  = 8  // PA-TNC message header
	AttrHeaderLen = 12 // attribute header
)

// MaxAttrValueLen bounds an attribute value this package encodes: the
// 32-bit attribute length counts the 12-byte header.
const MaxAttrValueLen = 1<<32 - 1 - AttrHeaderLen

// Message is a PA-TNC message, RFC 5792 §4.1.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Version    |                    Reserved                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Message Identifier                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  attributes (RFC 5792 §4.2) ...               |
type Message struct {
	// ID is the Message Identifier; strongSwan uses 4 random bytes.
	ID uint32
	// Attrs are the attributes in wire order.
	Attrs []Attr
}

// ParseMessage decodes a PA-TNC message. On failure it returns a *Error
// with the IETF error code and the offset from the start of b:
//   - fewer than 8 bytes: Invalid Parameter at 0;
//   - version not 1: Version Not Supported at 0;
//   - a truncated attribute header: Invalid Parameter at the attribute;
//   - vendor 0xFFFFFF / type 0xFFFFFFFF: Invalid Parameter at attr+1 / attr+4;
//   - length < 12 or past the end: Invalid Parameter at attr+8;
//   - an unknown attribute with NOSKIP: Attribute Type Not Supported;
//   - a malformed value: Invalid Parameter at value start + inner offset.
//
// Unknown attributes without NOSKIP are kept as *Unknown. The result owns
// its memory (b is copied once); b may be reused afterwards.
func ParseMessage(b []byte) (*Message, error) {
	var hdr [MsgHeaderLen]byte
	copy(hdr[:], b)
	if len(b) < MsgHeaderLen {
		return nil, &Error{Code: ErrInvalidParameter, Header: hdr, Reason: "message shorter than its header"}
	}
	if b[0] != Version {
		return nil, &Error{Code: ErrVersionNotSupported, Header: hdr,
			Reason: fmtlite.Sprintf("PA-TNC version %d", b[0])}
	}
	buf := make([]byte, len(b))
	copy(buf, b)
	m := &Message{ID: binary.BigEndian.Uint32(buf[4:8])}
	n, nSCE := countAttrs(buf)
	m.Attrs = make([]Attr, 0, n)
	var sl slab
	if nSCE > 1 {
		sl.sce = make([]SimpleCompEvid, nSCE) // evidence comes by the hundred: one allocation
	}
	for off := MsgHeaderLen; off < len(buf); {
		a, n, err := sl.parseAttrAt(buf, off)
		if err != nil {
			err.Header = hdr
			return nil, err
		}
		m.Attrs = append(m.Attrs, a)
		off += n
	}
	return m, nil
}

// countAttrs walks the attribute headers to size the Attrs slice and
// returns the number of attributes and of Simple Component Evidence among
// them; a malformed message just gives smaller counts.
func countAttrs(b []byte) (n, sce int) {
	for off := MsgHeaderLen; len(b)-off >= AttrHeaderLen; n++ {
		l := int(binary.BigEndian.Uint32(b[off+8:]))
		if l < AttrHeaderLen || l > len(b)-off {
			break
		}
		if binary.BigEndian.Uint32(b[off:])&0xffffff == abi.PENTCG && binary.BigEndian.Uint32(b[off+4:]) == TypeSimpleCompEvid.Type {
			sce++
		}
		off += l
	}
	return n, sce
}

// slab hands out preallocated attribute structs during one ParseMessage.
type slab struct{ sce []SimpleCompEvid }

func (s *slab) newAttr(t Type) Attr {
	if t == TypeSimpleCompEvid && len(s.sce) > 0 {
		a := &s.sce[0]
		s.sce = s.sce[1:]
		return a
	}
	return newAttr(t)
}

// parseAttrAt decodes the attribute starting at b[off:]; offsets in the
// returned error are relative to the start of b.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Flags     |          PA-TNC Attribute Vendor ID           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     PA-TNC Attribute Type                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    PA-TNC Attribute Length                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Attribute Value (Variable Length)             |
func parseAttrAt(b []byte, off int) (Attr, int, *Error) {
	var s slab
	return s.parseAttrAt(b, off)
}

// parseAttrAt is parseAttrAt taking attribute structs from s.
func (sl *slab) parseAttrAt(b []byte, off int) (Attr, int, *Error) {
	s := str(b[off:])
	var flags uint8
	var vendor, typ, length uint32
	if !s.ReadUint8(&flags) || !s.ReadUint24(&vendor) || !s.ReadUint32(&typ) || !s.ReadUint32(&length) {
		return nil, 0, &Error{Code: ErrInvalidParameter, Offset: uint32(off), Reason: "truncated attribute header"}
	}
	t := Type{vendor, typ}
	switch {
	case vendor == abi.PENReserved:
		return nil, 0, &Error{Code: ErrInvalidParameter, Offset: uint32(off + 1), Attr: t, AttrFlags: flags,
			Reason: "reserved attribute vendor ID"}
	case typ == TypeReserved:
		return nil, 0, &Error{Code: ErrInvalidParameter, Offset: uint32(off + 4), Attr: t, AttrFlags: flags,
			Reason: "reserved attribute type"}
	case length < AttrHeaderLen || int64(length) > int64(len(b)-off):
		return nil, 0, &Error{Code: ErrInvalidParameter, Offset: uint32(off + 8), Attr: t, AttrFlags: flags,
			Reason: fmtlite.Sprintf("attribute length %d", length)}
	}
	value := b[off+AttrHeaderLen : off+int(length) : off+int(length)]
	a := sl.newAttr(t)
	if a == nil {
		if flags&FlagNoSkip != 0 {
			return nil, 0, &Error{Code: ErrAttrTypeNotSupported, Offset: uint32(off), Attr: t, AttrFlags: flags,
				Reason: "unsupported attribute with NOSKIP"}
		}
		a = &Unknown{T: t}
	}
	if err := a.UnmarshalValue(value); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: ErrInvalidParameter, Reason: err.Error()}
		}
		e2 := *e
		e2.Offset += uint32(off + AttrHeaderLen)
		e2.Attr, e2.AttrFlags = t, flags
		return nil, 0, &e2
	}
	a.attrFlags().NoSkip = flags&FlagNoSkip != 0
	return a, int(length), nil
}

// ParseAttr decodes one complete attribute (header and value), e.g. one
// reassembled from segments. It returns the attribute and the number of
// bytes used; error offsets are relative to b.
func ParseAttr(b []byte) (Attr, int, error) {
	a, n, err := parseAttrAt(b, 0)
	if err != nil {
		return nil, 0, err
	}
	return a, n, nil
}

// Marshal encodes m. It fails if an attribute holds a value the decoder
// would reject.
func (m *Message) Marshal() ([]byte, error) {
	n := MsgHeaderLen
	for range m.Attrs {
		n += AttrHeaderLen + 16
	}
	return m.AppendMarshal(make([]byte, 0, n))
}

// AppendMarshal appends the encoding of m to dst.
func (m *Message) AppendMarshal(dst []byte) ([]byte, error) {
	dst = append(dst, Version, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, m.ID)
	b := NewBuilder(dst) // one Builder for all attributes
	for i, a := range m.Attrs {
		if a == nil {
			return nil, fmtlite.Errorf("patnc: attribute %d is nil", i)
		}
		if err := appendAttr(b, a); err != nil {
			return nil, err
		}
	}
	return b.Bytes()
}

// AppendAttr appends the encoding of one attribute (header and value) to dst.
func AppendAttr(dst []byte, a Attr) ([]byte, error) {
	b := NewBuilder(dst)
	if err := appendAttr(b, a); err != nil {
		return nil, err
	}
	return b.Bytes()
}

// appendAttr writes header and value to b and patches the length field in
// place (b.Bytes shares b's buffer).
func appendAttr(b *Builder, a Attr) error {
	t := a.Type()
	if t.Vendor > 0xffffff {
		return errf(t, "vendor ID wider than 24 bits")
	}
	cur, err := b.Bytes()
	if err != nil {
		return err
	}
	start := len(cur)
	var flags uint8
	if a.attrFlags().NoSkip {
		flags = FlagNoSkip
	}
	b.AddUint8(flags)
	b.AddUint24(t.Vendor)
	b.AddUint32(t.Type)
	b.AddUint32(0) // length, patched below
	a.MarshalValue(b)
	out, err := b.Bytes()
	if err != nil {
		return err
	}
	l := len(out) - start
	if int64(l) > int64(MaxAttrValueLen)+AttrHeaderLen {
		return errf(t, "value too long")
	}
	binary.BigEndian.PutUint32(out[start+8:], uint32(l))
	return nil
}

// MarshalAttr encodes one attribute (header and value).
func MarshalAttr(a Attr) ([]byte, error) { return AppendAttr(nil, a) }
