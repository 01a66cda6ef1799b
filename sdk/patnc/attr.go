package patnc

import "github.com/imchost/imchost/abi"

// FlagNoSkip is the NOSKIP bit of the attribute header's flags byte: a
// receiver that does not implement the attribute must not skip it but
// answer Attribute Type Not Supported.
const FlagNoSkip uint8 = 0x80

// AttrFlags holds the attribute header flags. Every attribute type embeds
// it, so a.NoSkip reads and sets NOSKIP on any concrete attribute.
type AttrFlags struct {
	// NoSkip is the NOSKIP flag (0x80). The other flag bits are reserved:
	// sent as zero, ignored on receipt (RFC 5792 §4.2).
	NoSkip bool
}

func (f *AttrFlags) attrFlags() *AttrFlags { return f }

// Attr is one PA-TNC attribute. The catalog's types (ProductInfo,
// SimpleCompEvid, ...) implement it; a vendor may implement its own by
// embedding AttrFlags and encoding through Unknown-like raw values.
type Attr interface {
	// Type returns the attribute's vendor and type.
	Type() Type
	// MarshalValue appends the attribute value (without the 12-byte
	// header). A value the decoder would reject is reported with
	// b.SetError.
	MarshalValue(b *Builder)
	// UnmarshalValue parses the attribute value. Errors are *Error with an
	// offset relative to the start of the value. Byte slices in the result
	// may alias v.
	UnmarshalValue(v []byte) error

	attrFlags() *AttrFlags
}

// NoSkip reports whether a carries the NOSKIP flag.
func NoSkip(a Attr) bool { return a.attrFlags().NoSkip }

// WithNoSkip sets NOSKIP on a and returns it, for building requests the way
// strongSwan's IMVs send them:
//
//	patnc.WithNoSkip(&patnc.GetAIK{})
func WithNoSkip[A Attr](a A) A {
	a.attrFlags().NoSkip = true
	return a
}

// DefaultNoSkip reports whether strongSwan sends attributes of type t with
// NOSKIP (RFC 5792 §4.2): the IMV's PTS requests (protocol capabilities,
// measurement algorithm, D-H nonce parameters and finish, TPM version, AIK,
// functional component evidence, attestation evidence, file measurement and
// metadata requests) and the IMC's File Measurement and Unix-Style File
// Metadata. Everything else goes without.
func DefaultNoSkip(t Type) bool {
	switch t {
	case TypeReqProtoCaps, TypeMeasAlgoRequest, TypeDHNonceParamsReq, TypeDHNonceFinish,
		TypeGetTPMVersionInfo, TypeGetAIK, TypeReqFuncCompEvid, TypeGenAttestEvid,
		TypeReqFileMeas, TypeReqFileMeta, TypeFileMeas, TypeUnixFileMeta:
		return true
	}
	return false
}

// Unknown is an attribute the catalog does not implement, kept as raw bytes
// so that it re-encodes unchanged (like miekg/dns RFC3597).
type Unknown struct {
	AttrFlags
	T     Type
	Value []byte
}

// Type implements Attr.
func (a *Unknown) Type() Type { return a.T }

// MarshalValue implements Attr.
func (a *Unknown) MarshalValue(b *Builder) {
	if a.T.Vendor > 0xffffff || a.T.Vendor == abi.PENReserved || a.T.Type == TypeReserved {
		b.SetError(errf(a.T, "reserved or out-of-range vendor/type"))
		return
	}
	b.AddBytes(a.Value)
}

// UnmarshalValue implements Attr.
func (a *Unknown) UnmarshalValue(v []byte) error {
	a.Value = v
	return nil
}

// newAttr returns a zero attribute of the catalog's Go type for t, or nil
// if the catalog has no parser for t.
func newAttr(t Type) Attr {
	switch t.Vendor {
	case abi.PENIETF:
		switch t.Type {
		case 1:
			return &AttrRequest{}
		case 2:
			return &ProductInfo{}
		case 3:
			return &NumericVersion{}
		case 4:
			return &StringVersion{}
		case 5:
			return &OpStatus{}
		case 6:
			return &PortFilter{}
		case 7:
			return &InstalledPackages{}
		case 8:
			return &PATNCError{}
		case 9:
			return &AssessmentResult{}
		case 10:
			return &RemediationInstructions{}
		case 11:
			return &ForwardingEnabled{}
		case 12:
			return &FactoryDefaultPwdEnabled{}
		case 13:
			return &SWRequest{}
		case 14:
			return &SWInventory{IDsOnly: true}
		case 15:
			return &SWEvents{IDsOnly: true}
		case 16:
			return &SWInventory{}
		case 17:
			return &SWEvents{}
		case 18:
			return &SubscriptionStatusRequest{}
		case 19:
			return &SubscriptionStatusResponse{}
		case 20:
			return &SourceMetadataRequest{}
		case 21:
			return &SourceMetadataResponse{}
		}
	case abi.PENITAHSR:
		switch t.Type {
		case 1:
			return &ITACommand{}
		case 2:
			return &ITADummy{}
		case 3:
			return &ITAGetSettings{}
		case 4:
			return &ITASettings{}
		case 5:
			return &ITAAngel{Start: true}
		case 6:
			return &ITAAngel{}
		case 8:
			return &ITADeviceID{}
		case 9:
			return &ITAGetSymlinks{}
		case 10:
			return &ITASymlinks{}
		}
	case abi.PENTCG:
		switch t.Type {
		case 0x21:
			return &SegContractRequest{}
		case 0x22:
			return &SegContractResponse{}
		case 0x23:
			return &SegEnvelope{}
		case 0x24:
			return &NextSegment{}
		case 0x01000000:
			return &ReqProtoCaps{}
		case 0x02000000:
			return &ProtoCaps{}
		case 0x03000000:
			return &DHNonceParamsReq{}
		case 0x04000000:
			return &DHNonceParamsResp{}
		case 0x05000000:
			return &DHNonceFinish{}
		case 0x06000000:
			return &MeasAlgoRequest{}
		case 0x07000000:
			return &MeasAlgoSelection{}
		case 0x08000000:
			return &GetTPMVersionInfo{}
		case 0x09000000:
			return &TPMVersionInfo{}
		case 0x0d000000:
			return &GetAIK{}
		case 0x0e000000:
			return &AIK{}
		case 0x00100000:
			return &ReqFuncCompEvid{}
		case 0x00200000:
			return &GenAttestEvid{}
		case 0x00300000:
			return &SimpleCompEvid{}
		case 0x00400000:
			return &SimpleEvidFinal{}
		case 0x00700000:
			return &ReqFileMeta{}
		case 0x00900000:
			return &UnixFileMeta{}
		case 0x00c00000:
			return &ReqFileMeas{}
		case 0x00d00000:
			return &FileMeas{}
		}
	}
	return nil
}

// Known reports whether the catalog has a parser for t (strongSwan's notion
// of "known": a NOSKIP attribute of any other type is answered with
// Attribute Type Not Supported).
func Known(t Type) bool { return newAttr(t) != nil }
