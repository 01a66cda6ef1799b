package patnc

// File request flags and delimiters.
const (
	FileFlagDirectory  uint8  = 0x80 // the path is a directory
	DelimiterSlash     uint32 = '/'
	DelimiterBackslash uint32 = '\\'
)

// ReqFileMeas is the TCG Request File Measurement attribute (0x00C00000),
// PTS IF-M Binding §3.19.1; sent by the IMV with NOSKIP. Fewer than 8 bytes is Invalid
// Parameter at 0; reserved bits are ignored on receipt. The IMC checks the
// delimiter and path (TCG errors Invalid Delimiter, File Not Found, ...).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|D|  Reserved   |   Reserved    |          Request ID           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Delimiter                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~           Fully Qualified File Pathname (Variable Length)     ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ReqFileMeas struct {
	AttrFlags
	Directory bool
	RequestID uint16
	Delimiter uint32 // '/' or '\\'
	Path      string
}

// Type implements Attr.
func (a *ReqFileMeas) Type() Type { return TypeReqFileMeas }

// MarshalValue implements Attr.
func (a *ReqFileMeas) MarshalValue(b *Builder) {
	var f uint8
	if a.Directory {
		f = FileFlagDirectory
	}
	b.AddUint8(f)
	b.AddUint8(0)
	b.AddUint16(a.RequestID)
	b.AddUint32(a.Delimiter)
	b.AddBytes([]byte(a.Path))
}

// UnmarshalValue implements Attr.
func (a *ReqFileMeas) UnmarshalValue(v []byte) error {
	s := str(v)
	var f, rsvd uint8
	if !s.ReadUint8(&f) || !s.ReadUint8(&rsvd) || !s.ReadUint16(&a.RequestID) || !s.ReadUint32(&a.Delimiter) {
		return invalid(0, "value shorter than 8 bytes")
	}
	a.Directory, a.Path = f&FileFlagDirectory != 0, string(s)
	return nil
}
