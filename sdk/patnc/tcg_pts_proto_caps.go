package patnc

// ProtoCaps is the TCG PTS Protocol Capabilities attribute (0x02000000),
// same layout as ReqProtoCaps; strongSwan's IMC answers with its own flags
// intersected with the requested ones.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Reserved           |        Reserved     |C|V|D|T|X|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ProtoCaps struct {
	AttrFlags
	Caps Caps
}

// Type implements Attr.
func (a *ProtoCaps) Type() Type { return TypeProtoCaps }

// MarshalValue implements Attr.
func (a *ProtoCaps) MarshalValue(b *Builder) { marshalU16Pair(b, 0, uint16(a.Caps)) }

// UnmarshalValue implements Attr.
func (a *ProtoCaps) UnmarshalValue(v []byte) error { return unmarshalLow16(v, (*uint16)(&a.Caps)) }

func marshalU16Pair(b *Builder, hi, lo uint16) {
	b.AddUint16(hi)
	b.AddUint16(lo)
}

// unmarshalLow16 reads a 4-byte value `Reserved(16) | field(16)`.
func unmarshalLow16(v []byte, out *uint16) error {
	if err := fixedLen(v, 4); err != nil {
		return err
	}
	*out = uint16(v[2])<<8 | uint16(v[3])
	return nil
}
