package patnc

import "fmt"

// Private Enterprise Numbers (24-bit vendor IDs) used in PA-TNC
// (RFC 5792 §4.1, IANA SMI Network Management Private Enterprise Codes).
const (
	PENIETF      uint32 = 0x000000
	PENRedHat    uint32 = 0x000908
	PENPWG       uint32 = 0x000a8b
	PENDebian    uint32 = 0x002572
	PENGoogle    uint32 = 0x002b79
	PENTCG       uint32 = 0x005597
	PENCanonical uint32 = 0x007132
	PENFedora    uint32 = 0x0076c1
	PENITA       uint32 = 0x00902a // ITA-HSR (strongSwan)
	PENReserved  uint32 = 0xffffff
)

// Type identifies an attribute: the 24-bit Attribute Vendor ID and the
// 32-bit Attribute Type of the attribute header.
type Type struct {
	Vendor uint32
	Type   uint32
}

// TypeReserved is the reserved attribute type 0xFFFFFFFF.
const TypeReserved uint32 = 0xffffffff

// IETF attribute types (RFC 5792 §4.2).
var (
	TypeTesting                 = Type{PENIETF, 0}
	TypeAttrRequest             = Type{PENIETF, 1}
	TypeProductInfo             = Type{PENIETF, 2}
	TypeNumericVersion          = Type{PENIETF, 3}
	TypeStringVersion           = Type{PENIETF, 4}
	TypeOpStatus                = Type{PENIETF, 5}
	TypePortFilter              = Type{PENIETF, 6}
	TypeInstalledPackages       = Type{PENIETF, 7}
	TypePATNCError              = Type{PENIETF, 8}
	TypeAssessmentResult        = Type{PENIETF, 9}
	TypeRemediationInstructions = Type{PENIETF, 10}
	TypeForwardingEnabled       = Type{PENIETF, 11}
	TypeFactoryDefaultPwd       = Type{PENIETF, 12}
)

// ITA-HSR attribute types (strongSwan's vendor attributes, PEN 36906).
var (
	TypeITACommand     = Type{PENITA, 1}
	TypeITADummy       = Type{PENITA, 2}
	TypeITAGetSettings = Type{PENITA, 3}
	TypeITASettings    = Type{PENITA, 4}
	TypeITAStartAngel  = Type{PENITA, 5}
	TypeITAStopAngel   = Type{PENITA, 6}
	TypeITAEcho        = Type{PENITA, 7}
	TypeITADeviceID    = Type{PENITA, 8}
	TypeITAGetSymlinks = Type{PENITA, 9}
	TypeITASymlinks    = Type{PENITA, 10}
)

// TCG IF-M segmentation attribute types (TCG IF-M Segmentation §5).
var (
	TypeSegContractRequest  = Type{PENTCG, 0x21}
	TypeSegContractResponse = Type{PENTCG, 0x22}
	TypeSegEnvelope         = Type{PENTCG, 0x23}
	TypeNextSegment         = Type{PENTCG, 0x24}
	TypeSegCancel           = Type{PENTCG, 0x25} // named only, no parser
	TypeSegOversized        = Type{PENTCG, 0x26} // named only, no parser
	TypeSegExemption        = Type{PENTCG, 0x27} // named only, no parser
)

// TCG PTS attribute types (PTS IF-M Binding §3.4, attribute enumeration).
var (
	TypeReqProtoCaps       = Type{PENTCG, 0x01000000}
	TypeProtoCaps          = Type{PENTCG, 0x02000000}
	TypeDHNonceParamsReq   = Type{PENTCG, 0x03000000}
	TypeDHNonceParamsResp  = Type{PENTCG, 0x04000000}
	TypeDHNonceFinish      = Type{PENTCG, 0x05000000}
	TypeMeasAlgoRequest    = Type{PENTCG, 0x06000000}
	TypeMeasAlgoSelection  = Type{PENTCG, 0x07000000}
	TypeGetTPMVersionInfo  = Type{PENTCG, 0x08000000}
	TypeTPMVersionInfo     = Type{PENTCG, 0x09000000}
	TypeReqTemplRefManiSet = Type{PENTCG, 0x0a000000} // named only, no parser
	TypeTemplRefManiSet    = Type{PENTCG, 0x0b000000} // named only, no parser
	TypeUpdateTemplRefMani = Type{PENTCG, 0x0c000000} // named only, no parser
	TypeGetAIK             = Type{PENTCG, 0x0d000000}
	TypeAIK                = Type{PENTCG, 0x0e000000}
	TypeReqFuncCompEvid    = Type{PENTCG, 0x00100000}
	TypeGenAttestEvid      = Type{PENTCG, 0x00200000}
	TypeSimpleCompEvid     = Type{PENTCG, 0x00300000}
	TypeSimpleEvidFinal    = Type{PENTCG, 0x00400000}
	TypeVerificationResult = Type{PENTCG, 0x00500000} // named only, no parser
	TypeIntegrityReport    = Type{PENTCG, 0x00600000} // named only, no parser
	TypeReqFileMeta        = Type{PENTCG, 0x00700000}
	TypeWinFileMeta        = Type{PENTCG, 0x00800000} // named only, no parser
	TypeUnixFileMeta       = Type{PENTCG, 0x00900000}
	TypeReqRegistryValue   = Type{PENTCG, 0x00a00000} // named only, no parser
	TypeRegistryValue      = Type{PENTCG, 0x00b00000} // named only, no parser
	TypeReqFileMeas        = Type{PENTCG, 0x00c00000}
	TypeFileMeas           = Type{PENTCG, 0x00d00000}
	TypeReqIntegMeasLog    = Type{PENTCG, 0x00e00000} // named only, no parser
	TypeIntegMeasLog       = Type{PENTCG, 0x00f00000} // named only, no parser
)

// VendorName returns strongSwan's name of a PEN ("IETF", "TCG", "ITA-HSR",
// ...), or "" if it has none.
func VendorName(pen uint32) string {
	switch pen {
	case PENIETF:
		return "IETF"
	case 0x000002:
		return "IBM"
	case 0x000137:
		return "Microsoft"
	case PENRedHat:
		return "Red Hat"
	case PENPWG:
		return "PWG"
	case PENDebian:
		return "Debian"
	case PENGoogle:
		return "Google"
	case 0x002358:
		return "OSC"
	case PENTCG:
		return "TCG"
	case PENCanonical:
		return "Canonical"
	case PENFedora:
		return "Fedora"
	case 0x0080ab:
		return "FHH"
	case PENITA:
		return "ITA-HSR"
	case 0x00950e:
		return "OpenPTS"
	case PENReserved:
		return "Reserved"
	}
	return ""
}

var ietfNames = [...]string{
	"Testing", "Attribute Request", "Product Information", "Numeric Version",
	"String Version", "Operational Status", "Port Filter", "Installed Packages",
	"PA-TNC Error", "Assessment Result", "Remediation Instructions",
	"Forwarding Enabled", "Factory Default Password Enabled",
	// RFC 8412 (SWIMA), types 13..17
	"SW Request", "SW Identifier Inventory", "SW Identifier Events",
	"SW Inventory", "SW Events", "Subscription Status Request",
	"Subscription Status Response",
}

var itaNames = [...]string{
	1: "Command", "Dummy", "Get Settings", "Settings", "Start Angel",
	"Stop Angel", "Echo", "Device ID", "Get Symlinks", "Symlinks",
}

// tcgNames holds strongSwan's names of the TCG attribute types.
var tcgNames = []struct {
	t    uint32
	name string
}{
	{0x01, "SCAP References"}, {0x02, "SCAP Capabilities and Inventory"},
	{0x03, "SCAP Content"}, {0x04, "SCAP Assessment"}, {0x05, "SCAP Results"},
	{0x06, "SCAP Summary Results"},
	{0x11, "SWID Request"}, {0x12, "SWID Tag Identifier Inventory"},
	{0x13, "SWID Tag Identifier Events"}, {0x14, "SWID Tag Inventory"},
	{0x15, "SWID Tag Events"}, {0x16, "SWID Subscription Status Request"},
	{0x17, "SWID Subscription Status Response"},
	{0x21, "Segmentation Contract Request"}, {0x22, "Segmentation Contract Response"},
	{0x23, "Segment Envelope"}, {0x24, "Next Segment"}, {0x25, "Cancel"},
	{0x26, "Oversized Message"}, {0x27, "Contract Exemption"},
	{0x00100000, "Request Functional Component Evidence"},
	{0x00200000, "Generate Attestation Evidence"},
	{0x00300000, "Simple Component Evidence"},
	{0x00400000, "Simple Evidence Final"},
	{0x00500000, "Verification Result"},
	{0x00600000, "Integrity Report"},
	{0x00700000, "Request File Metadata"},
	{0x00800000, "Windows-Style File Metadata"},
	{0x00900000, "Unix-Style File Metadata"},
	{0x00a00000, "Request Registry Value"},
	{0x00b00000, "Registry Value"},
	{0x00c00000, "Request File Measurement"},
	{0x00d00000, "File Measurement"},
	{0x00e00000, "Request Integrity Measurement Log"},
	{0x00f00000, "Integrity Measurement Log"},
	{0x01000000, "Request PTS Protocol Capabilities"},
	{0x02000000, "PTS Protocol Capabilities"},
	{0x03000000, "DH Nonce Parameters Request"},
	{0x04000000, "DH Nonce Parameters Response"},
	{0x05000000, "DH Nonce Finish"},
	{0x06000000, "PTS Measurement Algorithm Request"},
	{0x07000000, "PTS Measurement Algorithm"},
	{0x08000000, "Get TPM Version Information"},
	{0x09000000, "TPM Version Information"},
	{0x0a000000, "Request Template Reference Manifest Set Metadata"},
	{0x0b000000, "Template Reference Manifest Set Metadata"},
	{0x0c000000, "Update Template Reference Manifest"},
	{0x0d000000, "Get Attestation Identity Key"},
	{0x0e000000, "Attestation Identity Key"},
}

// Name returns strongSwan's name of the attribute type without the vendor,
// e.g. "Product Information", or "" if the type has no name.
func (t Type) Name() string {
	switch t.Vendor {
	case PENIETF:
		if t.Type < uint32(len(ietfNames)) {
			return ietfNames[t.Type]
		}
	case PENITA:
		if t.Type < uint32(len(itaNames)) {
			return itaNames[t.Type]
		}
	case PENTCG:
		for _, e := range tcgNames {
			if e.t == t.Type {
				return e.name
			}
		}
	}
	return ""
}

// FullName returns "<vendor>/<name>" as strongSwan logs it, e.g.
// "IETF/Product Information" or "TCG/Simple Component Evidence". A type
// without a name gives "<vendor>/0x<type>" and an unknown vendor
// "0x<vendor>/0x<type>".
func (t Type) FullName() string {
	v := VendorName(t.Vendor)
	if v == "" {
		v = fmt.Sprintf("0x%06x", t.Vendor)
	}
	n := t.Name()
	if n == "" {
		n = fmt.Sprintf("0x%08x", t.Type)
	}
	return v + "/" + n
}

// String formats the type the way strongSwan logs attribute types:
// 'IETF/Product Information' 0x000000/0x00000002.
func (t Type) String() string {
	return fmt.Sprintf("'%s' 0x%06x/0x%08x", t.FullName(), t.Vendor, t.Type)
}
