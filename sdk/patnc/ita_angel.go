package patnc

// ITAAngel is the ITA-HSR Start Angel (type 5, Start true) or Stop Angel
// (type 6) attribute. Its value is empty; anything else is Invalid
// Parameter at 0.
//
//	(no value)
type ITAAngel struct {
	AttrFlags
	Start bool
}

// Type implements Attr.
func (a *ITAAngel) Type() Type {
	if a.Start {
		return TypeITAStartAngel
	}
	return TypeITAStopAngel
}

// MarshalValue implements Attr.
func (a *ITAAngel) MarshalValue(b *Builder) {}

// UnmarshalValue implements Attr.
func (a *ITAAngel) UnmarshalValue(v []byte) error { return fixedLen(v, 0) }
