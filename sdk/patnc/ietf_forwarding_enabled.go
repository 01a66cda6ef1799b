package patnc

import (
	"github.com/imchost/imchost/sdk/fmtlite"
)

// ForwardingStatus is the value of Forwarding Enabled.
type ForwardingStatus uint32

// Forwarding Enabled values, RFC 5792 §4.2.11.
const (
	ForwardingStatusDisabled ForwardingStatus = 0
	ForwardingStatusEnabled  ForwardingStatus = 1
	ForwardingStatusUnknown  ForwardingStatus = 2
)

// ForwardingEnabled is the IETF Forwarding Enabled attribute, RFC 5792
// §4.2.11 (exactly 4 bytes; values above 2 are Invalid Parameter at 0).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Forwarding Enabled                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type ForwardingEnabled struct {
	AttrFlags
	Status ForwardingStatus
}

// Type implements Attr.
func (a *ForwardingEnabled) Type() Type { return TypeForwardingEnabled }

// MarshalValue implements Attr.
func (a *ForwardingEnabled) MarshalValue(b *Builder) {
	if a.Status > ForwardingStatusUnknown {
		b.SetError(errf(TypeForwardingEnabled, "status %d", a.Status))
		return
	}
	b.AddUint32(uint32(a.Status))
}

// UnmarshalValue implements Attr.
func (a *ForwardingEnabled) UnmarshalValue(v []byte) error {
	if err := fixedLen(v, 4); err != nil {
		return err
	}
	s := str(v)
	s.ReadUint32((*uint32)(&a.Status))
	if a.Status > ForwardingStatusUnknown {
		return invalid(0, fmtlite.Sprintf("forwarding status %d", a.Status))
	}
	return nil
}
