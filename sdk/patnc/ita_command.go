package patnc

// ITACommand is the ITA-HSR Command attribute (type 1): a command string
// for strongSwan's test IMC/IMV; the whole value is the string.
type ITACommand struct {
	AttrFlags
	Command string
}

// Type implements Attr.
func (a *ITACommand) Type() Type { return TypeITACommand }

// MarshalValue implements Attr.
func (a *ITACommand) MarshalValue(b *Builder) { b.AddBytes([]byte(a.Command)) }

// UnmarshalValue implements Attr.
func (a *ITACommand) UnmarshalValue(v []byte) error {
	a.Command = string(v)
	return nil
}

// ITADummy is the ITA-HSR Dummy attribute (type 2): opaque padding used by
// strongSwan's tests.
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
