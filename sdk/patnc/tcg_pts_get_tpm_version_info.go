package patnc

// GetTPMVersionInfo is the TCG Get TPM Version Information attribute
// (0x08000000), sent by the IMV with NOSKIP.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                            Reserved                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The value is exactly 4 reserved bytes, sent as zero and ignored on
// receipt (other lengths are Invalid Parameter).
type GetTPMVersionInfo struct{ AttrFlags }

// Type implements Attr.
func (a *GetTPMVersionInfo) Type() Type { return TypeGetTPMVersionInfo }

// MarshalValue implements Attr.
func (a *GetTPMVersionInfo) MarshalValue(b *Builder) { b.AddUint32(0) }

// UnmarshalValue implements Attr.
func (a *GetTPMVersionInfo) UnmarshalValue(v []byte) error { return fixedLen(v, 4) }
