package patnc

// Segmentation Envelope flags.
const (
	SegFlagMore  uint8 = 0x80 // M: more segments follow
	SegFlagStart uint8 = 0x40 // S: first segment
)

// SegEnvelope is the TCG Segmentation Envelope attribute (0x23), TCG IF-M
// Segmentation §5.3. The value is at least 4 bytes.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|M|S| Reserved  |             Base Message ID                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              Segment Value (Variable Length)                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The first segment (S) starts with the complete 12-byte header of the
// base attribute, whose length is that of the whole attribute. Reserved
// bits are ignored on receipt.
type SegEnvelope struct {
	AttrFlags
	More      bool   // M
	Start     bool   // S
	BaseMsgID uint32 // 24 bits
	Segment   []byte
}

// Type implements Attr.
func (a *SegEnvelope) Type() Type { return TypeSegEnvelope }

// MarshalValue implements Attr.
func (a *SegEnvelope) MarshalValue(b *Builder) {
	var f uint8
	if a.More {
		f |= SegFlagMore
	}
	if a.Start {
		f |= SegFlagStart
	}
	b.AddUint8(f)
	addUint24(b, TypeSegEnvelope, "base message ID", a.BaseMsgID)
	b.AddBytes(a.Segment)
}

// UnmarshalValue implements Attr.
func (a *SegEnvelope) UnmarshalValue(v []byte) error {
	s := str(v)
	var f uint8
	if !s.ReadUint8(&f) || !s.ReadUint24(&a.BaseMsgID) {
		return invalid(0, "value shorter than 4 bytes")
	}
	a.More, a.Start, a.Segment = f&SegFlagMore != 0, f&SegFlagStart != 0, s
	return nil
}
