package patnc

// Setting is one name/value pair of Settings.
type Setting struct {
	Name  string
	Value string
}

// ITASettings is the ITA-HSR Settings attribute (type 4).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Settings Count                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Name Length          |      Name (Variable Length)   ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Value Length         |      Value (Variable Length)  ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ITASettings struct {
	AttrFlags
	Settings []Setting
}

// Type implements Attr.
func (a *ITASettings) Type() Type { return TypeITASettings }

// MarshalValue implements Attr.
func (a *ITASettings) MarshalValue(b *Builder) {
	b.AddUint32(uint32(len(a.Settings)))
	for _, s := range a.Settings {
		add16(b, TypeITASettings, "name", []byte(s.Name))
		add16(b, TypeITASettings, "value", []byte(s.Value))
	}
}

// UnmarshalValue implements Attr.
func (a *ITASettings) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var count uint32
	if !r.s.ReadUint32(&count) {
		return invalid(0, "value shorter than 4 bytes")
	}
	a.Settings = make([]Setting, 0, capHint(uint64(count), len(r.s), 4))
	for i := uint32(0); i < count; i++ {
		var s Setting
		if err := r.string16(&s.Name, "setting name"); err != nil {
			return err
		}
		if err := r.string16(&s.Value, "setting value"); err != nil {
			return err
		}
		a.Settings = append(a.Settings, s)
	}
	return r.end()
}
