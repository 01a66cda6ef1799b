package patnc

// ReqProtoCaps is the TCG Request PTS Protocol Capabilities attribute
// (0x01000000, exactly 4 bytes), PTS IF-M Binding §3.7; strongSwan's IMV
// sends V|T|D (0x000E) with NOSKIP.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Reserved           |        Reserved     |C|V|D|T|X|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The first 16 reserved bits are ignored on receipt; the low 16 bits are
// kept as they are in Caps.
type ReqProtoCaps struct {
	AttrFlags
	Caps Caps
}

// Type implements Attr.
func (a *ReqProtoCaps) Type() Type { return TypeReqProtoCaps }

// MarshalValue implements Attr.
func (a *ReqProtoCaps) MarshalValue(b *Builder) { marshalU16Pair(b, 0, uint16(a.Caps)) }

// UnmarshalValue implements Attr.
func (a *ReqProtoCaps) UnmarshalValue(v []byte) error { return unmarshalLow16(v, (*uint16)(&a.Caps)) }
