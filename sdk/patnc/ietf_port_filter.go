package patnc

// PortFilterEntry is one entry of Port Filter.
type PortFilterEntry struct {
	Blocked  bool
	Protocol uint8 // IANA protocol number (6 TCP, 17 UDP)
	Port     uint16
}

// PortFilter is the IETF Port Filter attribute, RFC 5792 §4.2.6.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Reserved  |B|    Protocol   |         Port Number           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Reserved  |B|    Protocol   |         Port Number           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The value length must be a multiple of 4 (else Invalid Parameter at 0);
// reserved bits are ignored on receipt.
type PortFilter struct {
	AttrFlags
	Entries []PortFilterEntry
}

// Type implements Attr.
func (a *PortFilter) Type() Type { return TypePortFilter }

// MarshalValue implements Attr.
func (a *PortFilter) MarshalValue(b *Builder) {
	for _, e := range a.Entries {
		var f uint8
		if e.Blocked {
			f = 1
		}
		b.AddUint8(f)
		b.AddUint8(e.Protocol)
		b.AddUint16(e.Port)
	}
}

// UnmarshalValue implements Attr.
func (a *PortFilter) UnmarshalValue(v []byte) error {
	if len(v)%4 != 0 {
		return invalid(0, "length not a multiple of 4")
	}
	a.Entries = make([]PortFilterEntry, 0, len(v)/4)
	s := str(v)
	for !s.Empty() {
		var f uint8
		var e PortFilterEntry
		s.ReadUint8(&f)
		s.ReadUint8(&e.Protocol)
		s.ReadUint16(&e.Port)
		e.Blocked = f&1 != 0
		a.Entries = append(a.Entries, e)
	}
	return nil
}
