// Package pb is the PB-TNC (RFC 5793, TCG IF-TNCCS 2.0) codec: batches, the
// message header and every message type strongSwan knows, with the per-type
// validity rules of strongSwan's pb_tnc_msg_infos as a table (rules.go).
//
// Parsing checks syntax and the message-level rules (lengths, NOSKIP flags,
// reserved values); every failure is a *Error carrying the PB-TNC error code
// and the byte offset into the batch, ready to be sent back as a PB-Error in
// a CLOSE batch. Which batch types are legal in which state is the business
// of the state machine in package tnccs.
//
// See https://www.rfc-editor.org/rfc/rfc5793.
package pb

import (
	"fmt"

	"github.com/imchost/imchost/abi"
)

// Version is the only PB-TNC version (RFC 5793 Section 4.1).
const Version = 2

// Header sizes in bytes.
const (
	BatchHeaderLen   = 8  // RFC 5793 Section 4.1
	MsgHeaderLen     = 12 // RFC 5793 Section 4.2
	PAHeaderLen      = 12 // PB-PA value header, RFC 5793 Section 4.5
	LanguagePrefix   = "Accept-Language: "
	reservedVendorID = 0xffffff
	reservedMsgType  = 0xffffffff
	flagD            = 0x80 // batch directionality: set by the server
	flagNoSkip       = 0x80 // message header NOSKIP
	flagExcl         = 0x80 // PB-PA EXCL
	flagFatal        = 0x80 // PB-Error FATAL
)

// Vendor IDs (SMI Private Enterprise Numbers, 24 bits on the wire).
const (
	VendorIETF uint32 = 0x000000
	VendorTCG  uint32 = 0x005597
	VendorITA  uint32 = 0x00902a
)

// Default limits: IF-T for EAP sizes, as strongSwan's tnccs_20.c
// (max batch 4*16384-14; max PA-TNC message = batch - 8 - 12 - 12).
const (
	DefaultMaxBatchSize   = 65522
	DefaultMaxMessageSize = 65490
)

// Limits over PT-TLS (RFC 6876), as strongSwan's tnccs_20.c sets them for
// IF-T for TLS: a batch of up to 128 TLS records of 16384 bytes less 16
// (the PT-TLS message header), and a PA-TNC message as large as fits in it
// (max batch - 8 - 12 - 12).
const (
	PTTLSMaxBatchSize   = 128*16384 - 16
	PTTLSMaxMessageSize = PTTLSMaxBatchSize - BatchHeaderLen - MsgHeaderLen - PAHeaderLen
)

// PTTLSLimits are the limits of a PB-TNC connection carried by PT-TLS.
var PTTLSLimits = Limits{MaxBatchSize: PTTLSMaxBatchSize, MaxMessageSize: PTTLSMaxMessageSize}

// Limits bounds what a parser accepts and a builder produces.
type Limits struct {
	// MaxBatchSize is the largest batch, header included. 0 means
	// DefaultMaxBatchSize.
	MaxBatchSize int
	// MaxMessageSize is the largest PA-TNC message carried in one PB-PA
	// (the limit IMCs and IMVs are told). 0 means DefaultMaxMessageSize.
	MaxMessageSize int
}

// Batch returns the effective maximum batch size.
func (l Limits) Batch() int {
	if l.MaxBatchSize <= 0 {
		return DefaultMaxBatchSize
	}
	return l.MaxBatchSize
}

// Over returns l with the limits it leaves at 0 taken from base (a
// transport's own): a batch limit set alone also bounds the message limit
// to what fits in one batch.
func (l Limits) Over(base Limits) Limits {
	if l.MaxBatchSize <= 0 {
		l.MaxBatchSize = base.Batch()
	}
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = min(base.Message(), l.MaxBatchSize-BatchHeaderLen-MsgHeaderLen-PAHeaderLen)
	}
	return l
}

// Message returns the effective maximum PA-TNC message size.
func (l Limits) Message() int {
	if l.MaxMessageSize <= 0 {
		return DefaultMaxMessageSize
	}
	return l.MaxMessageSize
}

// BatchType is the B-Type of a batch header (RFC 5793 Section 4.1).
type BatchType uint8

// Batch types.
const (
	BatchNone   BatchType = 0 // never valid on the wire
	BatchCDATA  BatchType = 1 // client data
	BatchSDATA  BatchType = 2 // server data
	BatchRESULT BatchType = 3 // server result
	BatchCRETRY BatchType = 4 // client retry
	BatchSRETRY BatchType = 5 // server retry
	BatchCLOSE  BatchType = 6 // either side
)

var batchTypeNames = [...]string{"NONE", "CDATA", "SDATA", "RESULT", "CRETRY", "SRETRY", "CLOSE"}

// String returns strongSwan's name of the batch type ("CDATA").
func (t BatchType) String() string {
	if int(t) < len(batchTypeNames) {
		return batchTypeNames[t]
	}
	return fmt.Sprintf("BATCH(%d)", uint8(t))
}

// MsgType identifies a PB-TNC message: vendor and type (RFC 5793 Section 4.2).
type MsgType struct {
	Vendor uint32 // 24 bits
	Type   uint32
}

// Known message types.
var (
	TypeExperimental          = MsgType{VendorIETF, 0}
	TypePA                    = MsgType{VendorIETF, 1}
	TypeAssessmentResult      = MsgType{VendorIETF, 2}
	TypeAccessRecommendation  = MsgType{VendorIETF, 3}
	TypeRemediationParameters = MsgType{VendorIETF, 4}
	TypeError                 = MsgType{VendorIETF, 5}
	TypeLanguagePreference    = MsgType{VendorIETF, 6}
	TypeReasonString          = MsgType{VendorIETF, 7}
	TypePDPReferral           = MsgType{VendorTCG, 1}
	TypeMutualCapability      = MsgType{VendorITA, 1}
)

// String returns strongSwan's log name ("IETF/PB-PA") or the numbers.
func (t MsgType) String() string {
	if in, ok := msgInfos[t]; ok {
		return in.name
	}
	return fmt.Sprintf("0x%06x/0x%08x", t.Vendor, t.Type)
}

// AssessmentResult is the PB-Assessment-Result value (RFC 5793 Section 4.6).
type AssessmentResult uint32

// Assessment results.
const (
	ResultCompliant          AssessmentResult = 0
	ResultNonCompliantMinor  AssessmentResult = 1
	ResultNonCompliantMajor  AssessmentResult = 2
	ResultError              AssessmentResult = 3
	ResultDontKnow           AssessmentResult = 4
	maxAssessmentResultValue                  = ResultDontKnow
)

// String returns strongSwan's name ("compliant").
func (r AssessmentResult) String() string {
	if n := abi.AssessmentResultName(uint32(r)); n != "" {
		return n
	}
	return fmt.Sprintf("result(%d)", uint32(r))
}

// Recommendation is the PB-Access-Recommendation value (RFC 5793 Section 4.7).
type Recommendation uint16

// Access recommendations. RecommendationNone (0) is not valid on the wire;
// it stands for "none received".
const (
	RecommendationNone        Recommendation = 0
	RecommendationAllowed     Recommendation = 1
	RecommendationDenied      Recommendation = 2
	RecommendationQuarantined Recommendation = 3
)

// String returns strongSwan's name ("Access Allowed"), "none" for
// RecommendationNone.
func (r Recommendation) String() string {
	if r == RecommendationNone {
		return "none"
	}
	if n := abi.AccessRecommendationName(uint16(r)); n != "" {
		return n
	}
	return fmt.Sprintf("recommendation(%d)", uint16(r))
}
