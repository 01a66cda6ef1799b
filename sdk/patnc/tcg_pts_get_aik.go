package patnc

// GetAIK is the TCG Get Attestation Identity Key attribute (0x0D000000),
// sent by the IMV with NOSKIP.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                            Reserved                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The value is exactly 4 reserved bytes, sent as zero and ignored on
// receipt (other lengths are Invalid Parameter).
type GetAIK struct{ AttrFlags }

// Type implements Attr.
func (a *GetAIK) Type() Type { return TypeGetAIK }

// MarshalValue implements Attr.
func (a *GetAIK) MarshalValue(b *Builder) { b.AddUint32(0) }

// UnmarshalValue implements Attr.
func (a *GetAIK) UnmarshalValue(v []byte) error { return fixedLen(v, 4) }
