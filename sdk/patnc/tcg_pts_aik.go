package patnc

// AIKFlagNaked marks a naked public key (DER SubjectPublicKeyInfo) rather
// than an X.509 certificate.
const AIKFlagNaked uint8 = 0x80

// AIK is the TCG Attestation Identity Key attribute (0x0E000000),
// PTS IF-M Binding §3.13. The value is at least the flags byte (else Invalid Parameter at 0);
// the reserved flag bits are ignored on receipt.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|C|  Reserved   |  Attestation Identity Key (Variable Length)   ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// (strongSwan calls the 0x80 bit "naked public key"; when clear the blob is
// a certificate.) The Device ID the OS IMC sends is SHA-1 of the SPKI DER.
type AIK struct {
	AttrFlags
	Naked bool   // true: DER SubjectPublicKeyInfo; false: DER X.509 certificate
	DER   []byte // the key or certificate, kept as received
}

// Type implements Attr.
func (a *AIK) Type() Type { return TypeAIK }

// MarshalValue implements Attr.
func (a *AIK) MarshalValue(b *Builder) {
	var f uint8
	if a.Naked {
		f = AIKFlagNaked
	}
	b.AddUint8(f)
	b.AddBytes(a.DER)
}

// UnmarshalValue implements Attr.
func (a *AIK) UnmarshalValue(v []byte) error {
	if len(v) < 1 {
		return invalid(0, "empty value")
	}
	a.Naked, a.DER = v[0]&AIKFlagNaked != 0, v[1:]
	return nil
}
