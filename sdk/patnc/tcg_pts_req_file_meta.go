package patnc

// ReqFileMeta is the TCG Request File Metadata attribute (0x00700000),
// PTS IF-M Binding §3.17.1; sent by the IMV with NOSKIP. Fewer than 4 bytes is Invalid
// Parameter at 0; reserved bits are ignored on receipt.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|D|  Reserved   |   Delimiter   |           Reserved            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~           Fully Qualified File Pathname (Variable Length)     ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ReqFileMeta struct {
	AttrFlags
	Directory bool
	Delimiter uint8 // '/' or '\\'
	Path      string
}

// Type implements Attr.
func (a *ReqFileMeta) Type() Type { return TypeReqFileMeta }

// MarshalValue implements Attr.
func (a *ReqFileMeta) MarshalValue(b *Builder) {
	var f uint8
	if a.Directory {
		f = FileFlagDirectory
	}
	b.AddUint8(f)
	b.AddUint8(a.Delimiter)
	b.AddUint16(0)
	b.AddBytes([]byte(a.Path))
}

// UnmarshalValue implements Attr.
func (a *ReqFileMeta) UnmarshalValue(v []byte) error {
	s := str(v)
	var f uint8
	var rsvd uint16
	if !s.ReadUint8(&f) || !s.ReadUint8(&a.Delimiter) || !s.ReadUint16(&rsvd) {
		return invalid(0, "value shorter than 4 bytes")
	}
	a.Directory, a.Path = f&FileFlagDirectory != 0, string(s)
	return nil
}
