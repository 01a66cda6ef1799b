package patnc

// GenAttestEvid is the TCG Generate Attestation Evidence attribute
// (0x00200000), sent by the IMV with NOSKIP. The IMC answers with its cached
// Simple Component Evidence attributes and one Simple Evidence Final.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                            Reserved                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The value is exactly 4 reserved bytes, sent as zero and ignored on
// receipt (other lengths are Invalid Parameter).
type GenAttestEvid struct{ AttrFlags }

// Type implements Attr.
func (a *GenAttestEvid) Type() Type { return TypeGenAttestEvid }

// MarshalValue implements Attr.
func (a *GenAttestEvid) MarshalValue(b *Builder) { b.AddUint32(0) }

// UnmarshalValue implements Attr.
func (a *GenAttestEvid) UnmarshalValue(v []byte) error { return fixedLen(v, 4) }
