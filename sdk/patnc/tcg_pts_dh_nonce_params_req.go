package patnc

// MinNonceLen is the shortest nonce strongSwan accepts (PTS_MIN_NONCE_LEN).
const MinNonceLen = 17

// DHNonceParamsReq is the TCG D-H Nonce Parameters Request attribute
// (0x03000000, exactly 4 bytes),
// PTS IF-M Binding §3.8.1; sent by the IMV with NOSKIP.
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
