package patnc

// NextSegment is the TCG Next Segment attribute (0x24, exactly 4 bytes),
// TCG IF-M Segmentation §5.4.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|C|  Reserved   |             Base Message ID                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type NextSegment struct {
	AttrFlags
	Cancel    bool   // C: cancel the remaining segments
	BaseMsgID uint32 // 24 bits
}

// Type implements Attr.
func (a *NextSegment) Type() Type { return TypeNextSegment }

// MarshalValue implements Attr.
func (a *NextSegment) MarshalValue(b *Builder) {
	var f uint8
	if a.Cancel {
		f = 0x80
	}
	b.AddUint8(f)
	addUint24(b, TypeNextSegment, "base message ID", a.BaseMsgID)
}

// UnmarshalValue implements Attr.
func (a *NextSegment) UnmarshalValue(v []byte) error {
	if err := fixedLen(v, 4); err != nil {
		return err
	}
	s := str(v)
	var f uint8
	s.ReadUint8(&f)
	s.ReadUint24(&a.BaseMsgID)
	a.Cancel = f&0x80 != 0
	return nil
}
