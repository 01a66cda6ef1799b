package patnc

// The three PTS requests below have a value of exactly 4 reserved bytes,
// sent as zero and ignored on receipt:
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                            Reserved                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// GetTPMVersionInfo is the TCG Get TPM Version Information attribute
// (0x08000000), sent by the IMV with NOSKIP.
type GetTPMVersionInfo struct{ AttrFlags }

// Type implements Attr.
func (a *GetTPMVersionInfo) Type() Type { return TypeGetTPMVersionInfo }

// MarshalValue implements Attr.
func (a *GetTPMVersionInfo) MarshalValue(b *Builder) { b.AddUint32(0) }

// UnmarshalValue implements Attr.
func (a *GetTPMVersionInfo) UnmarshalValue(v []byte) error { return fixedLen(v, 4) }

// GetAIK is the TCG Get Attestation Identity Key attribute (0x0D000000),
// sent by the IMV with NOSKIP.
type GetAIK struct{ AttrFlags }

// Type implements Attr.
func (a *GetAIK) Type() Type { return TypeGetAIK }

// MarshalValue implements Attr.
func (a *GetAIK) MarshalValue(b *Builder) { b.AddUint32(0) }

// UnmarshalValue implements Attr.
func (a *GetAIK) UnmarshalValue(v []byte) error { return fixedLen(v, 4) }

// GenAttestEvid is the TCG Generate Attestation Evidence attribute
// (0x00200000), sent by the IMV with NOSKIP. The IMC answers with its cached
// Simple Component Evidence attributes and one Simple Evidence Final.
type GenAttestEvid struct{ AttrFlags }

// Type implements Attr.
func (a *GenAttestEvid) Type() Type { return TypeGenAttestEvid }

// MarshalValue implements Attr.
func (a *GenAttestEvid) MarshalValue(b *Builder) { b.AddUint32(0) }

// UnmarshalValue implements Attr.
func (a *GenAttestEvid) UnmarshalValue(v []byte) error { return fixedLen(v, 4) }
