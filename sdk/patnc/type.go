package patnc

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
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
	TypeTesting                 = Type{abi.PENIETF, 0}
	TypeAttrRequest             = Type{abi.PENIETF, 1}
	TypeProductInfo             = Type{abi.PENIETF, 2}
	TypeNumericVersion          = Type{abi.PENIETF, 3}
	TypeStringVersion           = Type{abi.PENIETF, 4}
	TypeOpStatus                = Type{abi.PENIETF, 5}
	TypePortFilter              = Type{abi.PENIETF, 6}
	TypeInstalledPackages       = Type{abi.PENIETF, 7}
	TypePATNCError              = Type{abi.PENIETF, 8}
	TypeAssessmentResult        = Type{abi.PENIETF, 9}
	TypeRemediationInstructions = Type{abi.PENIETF, 10}
	TypeForwardingEnabled       = Type{abi.PENIETF, 11}
	TypeFactoryDefaultPwd       = Type{abi.PENIETF, 12}
)

// ITA-HSR attribute types (strongSwan's vendor attributes, PEN 36906).
var (
	TypeITACommand     = Type{abi.PENITAHSR, 1}
	TypeITADummy       = Type{abi.PENITAHSR, 2}
	TypeITAGetSettings = Type{abi.PENITAHSR, 3}
	TypeITASettings    = Type{abi.PENITAHSR, 4}
	TypeITAStartAngel  = Type{abi.PENITAHSR, 5}
	TypeITAStopAngel   = Type{abi.PENITAHSR, 6}
	TypeITAEcho        = Type{abi.PENITAHSR, 7}
	TypeITADeviceID    = Type{abi.PENITAHSR, 8}
	TypeITAGetSymlinks = Type{abi.PENITAHSR, 9}
	TypeITASymlinks    = Type{abi.PENITAHSR, 10}
)

// TCG IF-M segmentation attribute types (TCG IF-M Segmentation §5).
var (
	TypeSegContractRequest  = Type{abi.PENTCG, 0x21}
	TypeSegContractResponse = Type{abi.PENTCG, 0x22}
	TypeSegEnvelope         = Type{abi.PENTCG, 0x23}
	TypeNextSegment         = Type{abi.PENTCG, 0x24}
	TypeSegCancel           = Type{abi.PENTCG, 0x25} // named only, no parser
	TypeSegOversized        = Type{abi.PENTCG, 0x26} // named only, no parser
	TypeSegExemption        = Type{abi.PENTCG, 0x27} // named only, no parser
)

// TCG PTS attribute types (PTS IF-M Binding §3.4, attribute enumeration).
var (
	TypeReqProtoCaps       = Type{abi.PENTCG, 0x01000000}
	TypeProtoCaps          = Type{abi.PENTCG, 0x02000000}
	TypeDHNonceParamsReq   = Type{abi.PENTCG, 0x03000000}
	TypeDHNonceParamsResp  = Type{abi.PENTCG, 0x04000000}
	TypeDHNonceFinish      = Type{abi.PENTCG, 0x05000000}
	TypeMeasAlgoRequest    = Type{abi.PENTCG, 0x06000000}
	TypeMeasAlgoSelection  = Type{abi.PENTCG, 0x07000000}
	TypeGetTPMVersionInfo  = Type{abi.PENTCG, 0x08000000}
	TypeTPMVersionInfo     = Type{abi.PENTCG, 0x09000000}
	TypeReqTemplRefManiSet = Type{abi.PENTCG, 0x0a000000} // named only, no parser
	TypeTemplRefManiSet    = Type{abi.PENTCG, 0x0b000000} // named only, no parser
	TypeUpdateTemplRefMani = Type{abi.PENTCG, 0x0c000000} // named only, no parser
	TypeGetAIK             = Type{abi.PENTCG, 0x0d000000}
	TypeAIK                = Type{abi.PENTCG, 0x0e000000}
	TypeReqFuncCompEvid    = Type{abi.PENTCG, 0x00100000}
	TypeGenAttestEvid      = Type{abi.PENTCG, 0x00200000}
	TypeSimpleCompEvid     = Type{abi.PENTCG, 0x00300000}
	TypeSimpleEvidFinal    = Type{abi.PENTCG, 0x00400000}
	TypeVerificationResult = Type{abi.PENTCG, 0x00500000} // named only, no parser
	TypeIntegrityReport    = Type{abi.PENTCG, 0x00600000} // named only, no parser
	TypeReqFileMeta        = Type{abi.PENTCG, 0x00700000}
	TypeWinFileMeta        = Type{abi.PENTCG, 0x00800000} // named only, no parser
	TypeUnixFileMeta       = Type{abi.PENTCG, 0x00900000}
	TypeReqRegistryValue   = Type{abi.PENTCG, 0x00a00000} // named only, no parser
	TypeRegistryValue      = Type{abi.PENTCG, 0x00b00000} // named only, no parser
	TypeReqFileMeas        = Type{abi.PENTCG, 0x00c00000}
	TypeFileMeas           = Type{abi.PENTCG, 0x00d00000}
	TypeReqIntegMeasLog    = Type{abi.PENTCG, 0x00e00000} // named only, no parser
	TypeIntegMeasLog       = Type{abi.PENTCG, 0x00f00000} // named only, no parser
)

var ietfNames = [...]string{
	"Testing", "Attribute Request", "Product Information", "Numeric Version",
	"String Version", "Operational Status", "Port Filter", "Installed Packages",
	"PA-TNC Error", "Assessment Result", "Remediation Instructions",
	"Forwarding Enabled", "Factory Default Password Enabled",
	// RFC 8412 (SWIMA), types 13..21
	"SW Request", "SW Identifier Inventory", "SW Identifier Events",
	"SW Inventory", "SW Events", "SW Subscription Status Request",
	"SW Subscription Status Response", "SW Source Metadata Request",
	"SW Source Metadata Response",
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
	case abi.PENIETF:
		if t.Type < uint32(len(ietfNames)) {
			return ietfNames[t.Type]
		}
	case abi.PENITAHSR:
		if t.Type < uint32(len(itaNames)) {
			return itaNames[t.Type]
		}
	case abi.PENTCG:
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
	v := abi.PENName(t.Vendor)
	if v == "" {
		v = fmtlite.Sprintf("0x%06x", t.Vendor)
	}
	n := t.Name()
	if n == "" {
		n = fmtlite.Sprintf("0x%08x", t.Type)
	}
	return v + "/" + n
}

// String formats the type the way strongSwan logs attribute types:
// 'IETF/Product Information' 0x000000/0x00000002.
func (t Type) String() string {
	return fmtlite.Sprintf("'%s' 0x%06x/0x%08x", t.FullName(), t.Vendor, t.Type)
}
