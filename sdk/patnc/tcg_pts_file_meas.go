package patnc

import "github.com/imchost/imchost/sdk/fmtlite"

// FileMeasurement is one entry of File Measurement.
type FileMeasurement struct {
	Digest []byte // MeasLen bytes
	Name   string // relative name for a directory, basename for a file
}

// FileMeas is the TCG File Measurement attribute (0x00D00000),
// PTS IF-M Binding §3.19.2;
// strongSwan's IMC sends it with NOSKIP.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Number of Files included                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Number of Files included                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Request ID           |      Measurement Length       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Measurement #1 (Variable Length)            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Filename Length            | Filename (Variable Length)    ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                             ...                               |
//
// The count must match the entries exactly.
type FileMeas struct {
	AttrFlags
	RequestID uint16
	MeasLen   uint16 // digest size of every entry
	Files     []FileMeasurement
}

// Type implements Attr.
func (a *FileMeas) Type() Type { return TypeFileMeas }

// MarshalValue implements Attr.
func (a *FileMeas) MarshalValue(b *Builder) {
	b.AddUint64(uint64(len(a.Files)))
	b.AddUint16(a.RequestID)
	b.AddUint16(a.MeasLen)
	for _, f := range a.Files {
		if len(f.Digest) != int(a.MeasLen) {
			b.SetError(errf(TypeFileMeas, "digest of %d bytes, measurement length %d", len(f.Digest), a.MeasLen))
			return
		}
		b.AddBytes(f.Digest)
		add16(b, TypeFileMeas, "file name", []byte(f.Name))
	}
}

// UnmarshalValue implements Attr.
func (a *FileMeas) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var count uint64
	if !r.s.ReadUint64(&count) || !r.s.ReadUint16(&a.RequestID) || !r.s.ReadUint16(&a.MeasLen) {
		return invalid(0, "value shorter than 12 bytes")
	}
	a.Files = make([]FileMeasurement, 0, capHint(count, len(r.s), int(a.MeasLen)+2))
	for i := uint64(0); i < count; i++ {
		var f FileMeasurement
		at := r.off()
		if !r.s.ReadBytes(&f.Digest, int(a.MeasLen)) {
			return short(at, fmtlite.Sprintf("measurement %d", i))
		}
		if err := r.string16(&f.Name, "file name"); err != nil {
			return err
		}
		a.Files = append(a.Files, f)
	}
	return r.end()
}
