package patnc

import "github.com/imchost/imchost/abi"

// Remediation parameter types (IETF namespace), RFC 5793 §4.10.
const (
	RemediationURI    uint32 = 1
	RemediationString uint32 = 2
)

// RemediationInstructions is the IETF Remediation Instructions attribute,
// RFC 5792 §4.2.10, whose value has the layout of PB-Remediation-Parameters
// (RFC 5793 §4.10).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Reserved   |       Remediation Parameters Vendor ID        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Remediation Parameters Type                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Remediation Parameters (Variable Length)           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// IETF type 1 (URI): the parameters are the URI. IETF type 2 (String):
//
//	|                 Remediation String Length (32)                |
//	|                 Remediation String (Variable Length)          |
//	| Lang Code Len |  Remediation String Lang Code (Variable Len)  |
//
// Other parameter types keep their bytes in Params.
type RemediationInstructions struct {
	AttrFlags
	ParamsVendor uint32 // 24 bits; abi.PENIETF for URI and String
	ParamsType   uint32 // RemediationURI or RemediationString for IETF
	URI          string // IETF URI
	Text         string // IETF String
	Lang         string // IETF String language tag (at most 255 bytes), e.g. "en"
	Params       []byte // any other parameter type
}

// Type implements Attr.
func (a *RemediationInstructions) Type() Type { return TypeRemediationInstructions }

// MarshalValue implements Attr.
func (a *RemediationInstructions) MarshalValue(b *Builder) {
	b.AddUint8(0)
	addUint24(b, TypeRemediationInstructions, "parameters vendor ID", a.ParamsVendor)
	b.AddUint32(a.ParamsType)
	switch {
	case a.ParamsVendor == abi.PENIETF && a.ParamsType == RemediationURI:
		b.AddBytes([]byte(a.URI))
	case a.ParamsVendor == abi.PENIETF && a.ParamsType == RemediationString:
		add32(b, TypeRemediationInstructions, "remediation string", []byte(a.Text))
		add8(b, TypeRemediationInstructions, "language code", a.Lang)
	default:
		b.AddBytes(a.Params)
	}
}

// UnmarshalValue implements Attr.
func (a *RemediationInstructions) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var rsvd uint8
	if !r.s.ReadUint8(&rsvd) || !r.s.ReadUint24(&a.ParamsVendor) || !r.s.ReadUint32(&a.ParamsType) {
		return invalid(0, "value shorter than 8 bytes")
	}
	switch {
	case a.ParamsVendor == abi.PENIETF && a.ParamsType == RemediationURI:
		a.URI = string(r.rest())
	case a.ParamsVendor == abi.PENIETF && a.ParamsType == RemediationString:
		var text []byte
		if err := r.bytes32(&text, "remediation string"); err != nil {
			return err
		}
		a.Text = string(text)
		if err := r.string8(&a.Lang, "language code"); err != nil {
			return err
		}
		return r.end()
	default:
		a.Params = r.rest()
	}
	return nil
}
