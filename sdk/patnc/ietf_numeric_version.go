package patnc

// NumericVersion is the IETF Numeric Version attribute, RFC 5792 §4.2.3
// (exactly 16 bytes).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Major Version Number                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Minor Version Number                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Build Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      Service Pack Major       |      Service Pack Minor       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type NumericVersion struct {
	AttrFlags
	Major, Minor, Build uint32
	SPMajor, SPMinor    uint16
}

// Type implements Attr.
func (a *NumericVersion) Type() Type { return TypeNumericVersion }

// MarshalValue implements Attr.
func (a *NumericVersion) MarshalValue(b *Builder) {
	b.AddUint32(a.Major)
	b.AddUint32(a.Minor)
	b.AddUint32(a.Build)
	b.AddUint16(a.SPMajor)
	b.AddUint16(a.SPMinor)
}

// UnmarshalValue implements Attr.
func (a *NumericVersion) UnmarshalValue(v []byte) error {
	if err := fixedLen(v, 16); err != nil {
		return err
	}
	s := str(v)
	s.ReadUint32(&a.Major)
	s.ReadUint32(&a.Minor)
	s.ReadUint32(&a.Build)
	s.ReadUint16(&a.SPMajor)
	s.ReadUint16(&a.SPMinor)
	return nil
}
