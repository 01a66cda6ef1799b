package patnc

// ITAGetSettings is the ITA-HSR Get Settings attribute (type 3): the names
// of the settings wanted (strongSwan's OS IMC answers names below /etc/,
// /proc/, /sys/ and /var/ with file contents).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Settings Count                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Name Length          |      Name (Variable Length)   ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ITAGetSettings struct {
	AttrFlags
	Names []string
}

// Type implements Attr.
func (a *ITAGetSettings) Type() Type { return TypeITAGetSettings }

// MarshalValue implements Attr.
func (a *ITAGetSettings) MarshalValue(b *Builder) {
	b.AddUint32(uint32(len(a.Names)))
	for _, n := range a.Names {
		add16(b, TypeITAGetSettings, "name", []byte(n))
	}
}

// UnmarshalValue implements Attr.
func (a *ITAGetSettings) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var count uint32
	if !r.s.ReadUint32(&count) {
		return invalid(0, "value shorter than 4 bytes")
	}
	a.Names = make([]string, 0, capHint(uint64(count), len(r.s), 2))
	for i := uint32(0); i < count; i++ {
		var n string
		if err := r.string16(&n, "setting name"); err != nil {
			return err
		}
		a.Names = append(a.Names, n)
	}
	return r.end()
}
