package patnc

// AttrRequest is the IETF Attribute Request attribute, RFC 5792 §4.2.1: the
// list of attribute types the sender wants.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Reserved   |       PA-TNC Attribute Vendor ID              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     PA-TNC Attribute Type                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                             ...                               |
//
// The value length must be a multiple of 8 (else Invalid Parameter at 0);
// the reserved byte is ignored on receipt.
type AttrRequest struct {
	AttrFlags
	Types []Type
}

// Type implements Attr.
func (a *AttrRequest) Type() Type { return TypeAttrRequest }

// MarshalValue implements Attr.
func (a *AttrRequest) MarshalValue(b *Builder) {
	for _, t := range a.Types {
		b.AddUint8(0)
		addUint24(b, TypeAttrRequest, "vendor ID", t.Vendor)
		b.AddUint32(t.Type)
	}
}

// UnmarshalValue implements Attr.
func (a *AttrRequest) UnmarshalValue(v []byte) error {
	if len(v)%8 != 0 {
		return invalid(0, "length not a multiple of 8")
	}
	a.Types = make([]Type, 0, len(v)/8)
	s := str(v)
	for !s.Empty() {
		var rsvd uint8
		var t Type
		s.ReadUint8(&rsvd)
		s.ReadUint24(&t.Vendor)
		s.ReadUint32(&t.Type)
		a.Types = append(a.Types, t)
	}
	return nil
}
