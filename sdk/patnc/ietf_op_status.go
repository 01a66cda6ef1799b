package patnc

import (
	"github.com/imchost/imchost/sdk/fmtlite"
)

// OpStatusCode is the Status field of Operational Status.
type OpStatusCode uint8

// Operational Status status values.
const (
	OpStatusUnknown      OpStatusCode = 0
	OpStatusNotInstalled OpStatusCode = 1
	OpStatusInstalled    OpStatusCode = 2
	OpStatusOperational  OpStatusCode = 3
)

// OpResult is the Result field of Operational Status.
type OpResult uint8

// Operational Status result values.
const (
	OpResultUnknown      OpResult = 0
	OpResultSuccessful   OpResult = 1
	OpResultErrored      OpResult = 2
	OpResultUnsuccessful OpResult = 3
)

// OpStatus is the IETF Operational Status attribute, RFC 5792 §4.2.5
// (exactly 24 bytes).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Status     |     Result    |           Reserved            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Last Use (20 octets)                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Status > 3 is Invalid Parameter at 0, result > 3 at 1, a malformed time
// at 4. The reserved field is ignored on receipt. strongSwan's OS IMC sends
// operational/successful and the last boot time.
type OpStatus struct {
	AttrFlags
	Status  OpStatusCode
	Result  OpResult
	LastUse DateTime
}

// Type implements Attr.
func (a *OpStatus) Type() Type { return TypeOpStatus }

// MarshalValue implements Attr.
func (a *OpStatus) MarshalValue(b *Builder) {
	if a.Status > OpStatusOperational || a.Result > OpResultUnsuccessful || !a.LastUse.wellFormed() {
		b.SetError(errf(TypeOpStatus, "status %d, result %d, last use %v", a.Status, a.Result, a.LastUse))
		return
	}
	b.AddUint8(uint8(a.Status))
	b.AddUint8(uint8(a.Result))
	b.AddUint16(0)
	b.AddBytes(a.LastUse[:])
}

// UnmarshalValue implements Attr.
func (a *OpStatus) UnmarshalValue(v []byte) error {
	if err := fixedLen(v, 24); err != nil {
		return err
	}
	a.Status, a.Result = OpStatusCode(v[0]), OpResult(v[1])
	copy(a.LastUse[:], v[4:])
	switch {
	case a.Status > OpStatusOperational:
		return invalid(0, fmtlite.Sprintf("status %d", a.Status))
	case a.Result > OpResultUnsuccessful:
		return invalid(1, fmtlite.Sprintf("result %d", a.Result))
	case !a.LastUse.wellFormed():
		return invalid(4, "malformed last use time")
	}
	return nil
}
