package patnc

import "github.com/imchost/imchost/sdk/fmtlite"

// DHNonceParamsResp is the TCG D-H Nonce Parameters Response attribute
// (0x04000000), PTS IF-M Binding §3.8.2 (nonce first, public value last).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Reserved                       |   Nonce Len   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Selected D-H Group     |      Hash Algorithm Set       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         D-H Responder Nonce (Variable Length)                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         D-H Responder Public Value (Variable Length)          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// strongSwan's parser wants at least 16 value bytes (Invalid Parameter at
// 0); a nonce running past the end is Invalid Parameter at 3. strongSwan's
// IMC puts only the selected measurement algorithm into HashAlgs.
type DHNonceParamsResp struct {
	AttrFlags
	Group    DHGroups // the selected group (one bit)
	HashAlgs HashAlgs
	Nonce    []byte // at most 255 bytes
	Public   []byte // MODP big-endian padded, ECP X||Y without 0x04
}

// Type implements Attr.
func (a *DHNonceParamsResp) Type() Type { return TypeDHNonceParamsResp }

// MarshalValue implements Attr.
func (a *DHNonceParamsResp) MarshalValue(b *Builder) {
	switch {
	case len(a.Nonce) > 0xff:
		b.SetError(errf(TypeDHNonceParamsResp, "nonce of %d bytes", len(a.Nonce)))
		return
	case 8+len(a.Nonce)+len(a.Public) < 16:
		b.SetError(errf(TypeDHNonceParamsResp, "value shorter than 16 bytes"))
		return
	}
	b.AddUint24(0)
	b.AddUint8(uint8(len(a.Nonce)))
	b.AddUint16(uint16(a.Group))
	b.AddUint16(uint16(a.HashAlgs))
	b.AddBytes(a.Nonce)
	b.AddBytes(a.Public)
}

// UnmarshalValue implements Attr.
func (a *DHNonceParamsResp) UnmarshalValue(v []byte) error {
	if len(v) < 16 {
		return invalid(0, fmtlite.Sprintf("value of %d bytes, want at least 16", len(v)))
	}
	n := int(v[3])
	a.Group = DHGroups(uint16(v[4])<<8 | uint16(v[5]))
	a.HashAlgs = HashAlgs(uint16(v[6])<<8 | uint16(v[7]))
	if 8+n > len(v) {
		return invalid(3, fmtlite.Sprintf("nonce length %d", n))
	}
	a.Nonce, a.Public = v[8:8+n:8+n], v[8+n:]
	return nil
}
