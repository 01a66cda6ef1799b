package patnc

// Symlink is one entry of Symlinks: a link below the requested directory
// and '/' + its target (ITA-HSR vendor attribute, as strongSwan
// defines it).
type Symlink struct {
	Path   string // e.g. "/bin"
	Target string // e.g. "/usr/bin"
}

// ITASymlinks is the ITA-HSR Symlinks attribute (type 10).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Number of Links                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|       Symlink Length          |  Symlink Path (Variable Len)  ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Target Dir Length          |  Target Dir (Variable Len)    ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ITASymlinks struct {
	AttrFlags
	Links []Symlink
}

// Type implements Attr.
func (a *ITASymlinks) Type() Type { return TypeITASymlinks }

// MarshalValue implements Attr.
func (a *ITASymlinks) MarshalValue(b *Builder) {
	b.AddUint32(uint32(len(a.Links)))
	for _, l := range a.Links {
		add16(b, TypeITASymlinks, "symlink", []byte(l.Path))
		add16(b, TypeITASymlinks, "target", []byte(l.Target))
	}
}

// UnmarshalValue implements Attr.
func (a *ITASymlinks) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var count uint32
	if !r.s.ReadUint32(&count) {
		return invalid(0, "value shorter than 4 bytes")
	}
	a.Links = make([]Symlink, 0, capHint(uint64(count), len(r.s), 4))
	for i := uint32(0); i < count; i++ {
		var l Symlink
		if err := r.string16(&l.Path, "symlink"); err != nil {
			return err
		}
		if err := r.string16(&l.Target, "target"); err != nil {
			return err
		}
		a.Links = append(a.Links, l)
	}
	return r.end()
}
