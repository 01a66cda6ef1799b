package patnc

// ITACommand is the ITA-HSR Command attribute (type 1): a command string
// for strongSwan's test IMC/IMV; the whole value is the string.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Command (Variable Length)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
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
