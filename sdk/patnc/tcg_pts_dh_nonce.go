package patnc

import (
	"fmt"
)

// MinNonceLen is the shortest nonce strongSwan accepts (PTS_MIN_NONCE_LEN).
const MinNonceLen = 17

// DHNonceParamsReq is the TCG D-H Nonce Parameters Request attribute
// (0x03000000, exactly 4 bytes), pts.md §3.3; sent by the IMV with NOSKIP.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Reserved    |  Min. Nonce   |         D-H Group Set         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type DHNonceParamsReq struct {
	AttrFlags
	MinNonceLen uint8 // 0: no minimum
	Groups      DHGroups
}

// Type implements Attr.
func (a *DHNonceParamsReq) Type() Type { return TypeDHNonceParamsReq }

// MarshalValue implements Attr.
func (a *DHNonceParamsReq) MarshalValue(b *Builder) {
	b.AddUint8(0)
	b.AddUint8(a.MinNonceLen)
	b.AddUint16(uint16(a.Groups))
}

// UnmarshalValue implements Attr.
func (a *DHNonceParamsReq) UnmarshalValue(v []byte) error {
	if err := fixedLen(v, 4); err != nil {
		return err
	}
	a.MinNonceLen, a.Groups = v[1], DHGroups(uint16(v[2])<<8|uint16(v[3]))
	return nil
}

// DHNonceParamsResp is the TCG D-H Nonce Parameters Response attribute
// (0x04000000), pts.md §3.4 (gotcha 6: nonce first, public value last).
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
		return invalid(0, fmt.Sprintf("value of %d bytes, want at least 16", len(v)))
	}
	n := int(v[3])
	a.Group = DHGroups(uint16(v[4])<<8 | uint16(v[5]))
	a.HashAlgs = HashAlgs(uint16(v[6])<<8 | uint16(v[7]))
	if 8+n > len(v) {
		return invalid(3, fmt.Sprintf("nonce length %d", n))
	}
	a.Nonce, a.Public = v[8:8+n:8+n], v[8+n:]
	return nil
}

// DHNonceFinish is the TCG D-H Nonce Finish attribute (0x05000000),
// pts.md §3.5 (gotcha 6: public value first, nonce last); sent by the IMV
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
		return invalid(0, fmt.Sprintf("value of %d bytes, want at least 12", len(v)))
	}
	n := int(v[1])
	a.HashAlg = HashAlgs(uint16(v[2])<<8 | uint16(v[3]))
	if 4+n > len(v) {
		return invalid(1, fmt.Sprintf("nonce length %d", n))
	}
	p := len(v) - n
	a.Public, a.Nonce = v[4:p:p], v[p:]
	return nil
}
