package patnc

import (
	"github.com/imchost/imchost/sdk/fmtlite"
)

// FactoryDefaultPwdEnabled is the IETF Factory Default Password Enabled
// attribute, RFC 5792 §4.2.12 (exactly 4 bytes: 0 or 1; other values are
// Invalid Parameter at 0).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              Factory Default Password Enabled                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type FactoryDefaultPwdEnabled struct {
	AttrFlags
	Enabled bool
}

// Type implements Attr.
func (a *FactoryDefaultPwdEnabled) Type() Type { return TypeFactoryDefaultPwd }

// MarshalValue implements Attr.
func (a *FactoryDefaultPwdEnabled) MarshalValue(b *Builder) {
	var v uint32
	if a.Enabled {
		v = 1
	}
	b.AddUint32(v)
}

// UnmarshalValue implements Attr.
func (a *FactoryDefaultPwdEnabled) UnmarshalValue(v []byte) error {
	if err := fixedLen(v, 4); err != nil {
		return err
	}
	var x uint32
	s := str(v)
	s.ReadUint32(&x)
	if x > 1 {
		return invalid(0, fmtlite.Sprintf("factory default password value %d", x))
	}
	a.Enabled = x == 1
	return nil
}
