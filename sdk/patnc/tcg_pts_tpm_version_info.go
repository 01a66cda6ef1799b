package patnc

import (
	"encoding/binary"
)

// TPMVersionInfo is the TCG TPM Version Information attribute (0x09000000):
// the whole value is the version blob, at least 4 bytes (else Invalid
// Parameter at 0). For TPM 2.0 strongSwan sends its own 16-byte structure,
// see TPM2Version; for TPM 1.2 a TPM_CAP_VERSION_INFO.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              TPM Version Information (Variable Length)        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type TPMVersionInfo struct {
	AttrFlags
	Info []byte
}

// Type implements Attr.
func (a *TPMVersionInfo) Type() Type { return TypeTPMVersionInfo }

// MarshalValue implements Attr.
func (a *TPMVersionInfo) MarshalValue(b *Builder) {
	if len(a.Info) < 4 {
		b.SetError(errf(TypeTPMVersionInfo, "version info shorter than 4 bytes"))
		return
	}
	b.AddBytes(a.Info)
}

// UnmarshalValue implements Attr.
func (a *TPMVersionInfo) UnmarshalValue(v []byte) error {
	if len(v) < 4 {
		return invalid(0, "value shorter than 4 bytes")
	}
	a.Info = v
	return nil
}

// TPM2VersionTag is the tag of strongSwan's TPM 2.0 version structure.
const TPM2VersionTag = 0x0200

// TPM2Version is strongSwan's 16-byte TPM 2.0 version information
// (the TPM 2.0 form of PTS IF-M Binding §3.11).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Tag = 0x0200           |  Reserved=0   |   Locality    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Revision (TPM2_PT_REVISION, e.g. 138)          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Year (TPM2_PT_YEAR)                            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Manufacturer (4 ASCII bytes, e.g. "IBM\0")     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The locality seeds the IMV's shadow PCR 0, so it must be the locality the
// TPM really started at.
type TPM2Version struct {
	Locality     uint8
	Revision     uint32
	Year         uint32
	Manufacturer uint32 // big-endian ASCII, e.g. 0x49424d00 "IBM\0"
}

// Bytes encodes v as the 16-byte blob.
func (v TPM2Version) Bytes() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b, TPM2VersionTag)
	b[3] = v.Locality
	binary.BigEndian.PutUint32(b[4:], v.Revision)
	binary.BigEndian.PutUint32(b[8:], v.Year)
	binary.BigEndian.PutUint32(b[12:], v.Manufacturer)
	return b
}

// ParseTPM2Version decodes the 16-byte blob; false if b is not one.
func ParseTPM2Version(b []byte) (TPM2Version, bool) {
	if len(b) != 16 || binary.BigEndian.Uint16(b) != TPM2VersionTag {
		return TPM2Version{}, false
	}
	return TPM2Version{
		Locality:     b[3],
		Revision:     binary.BigEndian.Uint32(b[4:]),
		Year:         binary.BigEndian.Uint32(b[8:]),
		Manufacturer: binary.BigEndian.Uint32(b[12:]),
	}, true
}
