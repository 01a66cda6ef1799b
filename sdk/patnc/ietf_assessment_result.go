package patnc

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
)

// AssessmentResultCode is the value of Assessment Result.
type AssessmentResultCode uint32

// Assessment results, RFC 5792 §4.2.9.
const (
	ResultCompliant         AssessmentResultCode = 0
	ResultNonCompliantMinor AssessmentResultCode = 1
	ResultNonCompliantMajor AssessmentResultCode = 2
	ResultError             AssessmentResultCode = 3
	ResultDontKnow          AssessmentResultCode = 4
)

// String returns strongSwan's wording, e.g. "non-compliant minor".
func (r AssessmentResultCode) String() string {
	if n := abi.AssessmentResultName(uint32(r)); n != "" {
		return n
	}
	return fmtlite.Sprintf("assessment result %d", uint32(r))
}

// AssessmentResult is the IETF Assessment Result attribute, RFC 5792
// §4.2.9 (exactly 4 bytes).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Assessment Result                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Values above 4 are kept (the receiver decides what they mean).
type AssessmentResult struct {
	AttrFlags
	Result AssessmentResultCode
}

// Type implements Attr.
func (a *AssessmentResult) Type() Type { return TypeAssessmentResult }

// MarshalValue implements Attr.
func (a *AssessmentResult) MarshalValue(b *Builder) { b.AddUint32(uint32(a.Result)) }

// UnmarshalValue implements Attr.
func (a *AssessmentResult) UnmarshalValue(v []byte) error {
	if err := fixedLen(v, 4); err != nil {
		return err
	}
	s := str(v)
	s.ReadUint32((*uint32)(&a.Result))
	return nil
}
