package patnc

import (
	"strings"
)

// ITADeviceID is the ITA-HSR Device ID attribute (type 8): the whole value
// is the ID, without length or NUL (a NUL anywhere is Invalid Parameter at
// its offset). strongSwan's OS IMC sends the AIK key ID: SHA-1 of the DER
// SubjectPublicKeyInfo as 40 lower-case hex characters.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Device ID (Variable Length)                 ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ITADeviceID struct {
	AttrFlags
	ID string
}

// Type implements Attr.
func (a *ITADeviceID) Type() Type { return TypeITADeviceID }

// MarshalValue implements Attr.
func (a *ITADeviceID) MarshalValue(b *Builder) {
	if hasNUL(a.ID) {
		b.SetError(errf(TypeITADeviceID, "NUL in device ID"))
		return
	}
	b.AddBytes([]byte(a.ID))
}

// UnmarshalValue implements Attr.
func (a *ITADeviceID) UnmarshalValue(v []byte) error {
	a.ID = string(v)
	if i := strings.IndexByte(a.ID, 0); i >= 0 {
		return invalid(i, "NUL in device ID")
	}
	return nil
}
