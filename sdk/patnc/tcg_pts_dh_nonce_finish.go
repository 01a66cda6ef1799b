package patnc

import "github.com/imchost/imchost/sdk/fmtlite"

// DHNonceFinish is the TCG D-H Nonce Finish attribute (0x05000000),
// PTS IF-M Binding §3.8.3 (public value first, nonce last); sent by the IMV
// with NOSKIP.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Reserved    |   Nonce Len   |   Selected Hash Algorithm     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         D-H Initiator Public Value (Variable Length)          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         D-H Initiator Nonce (Variable Length)                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// strongSwan's parser wants at least 12 value bytes (Invalid Parameter at
// 0); a nonce longer than what follows the header is Invalid Parameter at 1.
type DHNonceFinish struct {
	AttrFlags
	HashAlg HashAlgs // the selected hash algorithm (one bit)
	Public  []byte
	Nonce   []byte // at most 255 bytes
}

// Type implements Attr.
func (a *DHNonceFinish) Type() Type { return TypeDHNonceFinish }

// MarshalValue implements Attr.
func (a *DHNonceFinish) MarshalValue(b *Builder) {
	switch {
	case len(a.Nonce) > 0xff:
		b.SetError(errf(TypeDHNonceFinish, "nonce of %d bytes", len(a.Nonce)))
		return
	case 4+len(a.Nonce)+len(a.Public) < 12:
		b.SetError(errf(TypeDHNonceFinish, "value shorter than 12 bytes"))
		return
	}
	b.AddUint8(0)
	b.AddUint8(uint8(len(a.Nonce)))
	b.AddUint16(uint16(a.HashAlg))
	b.AddBytes(a.Public)
	b.AddBytes(a.Nonce)
}

// UnmarshalValue implements Attr.
func (a *DHNonceFinish) UnmarshalValue(v []byte) error {
	if len(v) < 12 {
		return invalid(0, fmtlite.Sprintf("value of %d bytes, want at least 12", len(v)))
	}
	n := int(v[1])
	a.HashAlg = HashAlgs(uint16(v[2])<<8 | uint16(v[3]))
	if 4+n > len(v) {
		return invalid(1, fmtlite.Sprintf("nonce length %d", n))
	}
	p := len(v) - n
	a.Public, a.Nonce = v[4:p:p], v[p:]
	return nil
}
