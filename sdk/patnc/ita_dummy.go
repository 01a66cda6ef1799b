package patnc

// ITADummy is the ITA-HSR Dummy attribute (type 2): opaque padding used by
// strongSwan's tests.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Dummy Data (Variable Length)                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ITADummy struct {
	AttrFlags
	Data []byte
}

// Type implements Attr.
func (a *ITADummy) Type() Type { return TypeITADummy }

// MarshalValue implements Attr.
func (a *ITADummy) MarshalValue(b *Builder) { b.AddBytes(a.Data) }

// UnmarshalValue implements Attr.
func (a *ITADummy) UnmarshalValue(v []byte) error {
	a.Data = v
	return nil
}
