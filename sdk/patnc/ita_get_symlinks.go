package patnc

// ITAGetSymlinks is the ITA-HSR Get Symlinks attribute (type 9): the whole
// value is the directory to scan; strongSwan's IMV sends "/".
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Directory (Variable Length)                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ITAGetSymlinks struct {
	AttrFlags
	Dir string
}

// Type implements Attr.
func (a *ITAGetSymlinks) Type() Type { return TypeITAGetSymlinks }

// MarshalValue implements Attr.
func (a *ITAGetSymlinks) MarshalValue(b *Builder) { b.AddBytes([]byte(a.Dir)) }

// UnmarshalValue implements Attr.
func (a *ITAGetSymlinks) UnmarshalValue(v []byte) error {
	a.Dir = string(v)
	return nil
}
