package patnc

// StringVersion is the IETF String Version attribute, RFC 5792 §4.2.4:
// three uint8-length-prefixed strings.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version Len  |   Product Version Number (Variable Length)    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Build Len   |  Internal Build Number (Variable Length)      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Config. Len   | Configuration Version Number (Variable Length)|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// strongSwan's OS IMC sends `VERSION_ID + " " + uname -m` ("12 x86_64")
// and two empty strings.
type StringVersion struct {
	AttrFlags
	Version string // at most 255 bytes
	Build   string // at most 255 bytes
	Config  string // at most 255 bytes
}

// Type implements Attr.
func (a *StringVersion) Type() Type { return TypeStringVersion }

// MarshalValue implements Attr.
func (a *StringVersion) MarshalValue(b *Builder) {
	add8(b, TypeStringVersion, "version", a.Version)
	add8(b, TypeStringVersion, "build", a.Build)
	add8(b, TypeStringVersion, "configuration", a.Config)
}

// UnmarshalValue implements Attr.
func (a *StringVersion) UnmarshalValue(v []byte) error {
	r := newReader(v)
	if err := r.string8(&a.Version, "product version"); err != nil {
		return err
	}
	if err := r.string8(&a.Build, "build number"); err != nil {
		return err
	}
	if err := r.string8(&a.Config, "configuration version"); err != nil {
		return err
	}
	return r.end()
}
