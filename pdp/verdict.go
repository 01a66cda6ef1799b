package pdp

import (
	"fmt"

	"github.com/imchost/imchost/abi"
)

// Result is an IMV evaluation result, numbered as the IETF Assessment Result
// attribute (RFC 5792 §4.2.10) and PB-Assessment-Result (RFC 5793 §4.6).
type Result uint32

// Evaluation results.
const (
	Compliant         Result = 0
	NonCompliantMinor Result = 1
	NonCompliantMajor Result = 2
	ResultError       Result = 3
	DontKnow          Result = 4
)

// String gives strongSwan's wording.
func (r Result) String() string {
	if n := abi.AssessmentResultName(uint32(r)); n != "" {
		return n
	}
	return fmt.Sprintf("result(%d)", uint32(r))
}

// Recommendation is an IMV action recommendation (TNC IF-IMV numbering).
type Recommendation uint32

// Action recommendations.
const (
	Allow            Recommendation = 0
	NoAccess         Recommendation = 1
	Isolate          Recommendation = 2
	NoRecommendation Recommendation = 3
)

var recNames = [...]string{"allow", "no access", "isolate", "no recommendation"}

// String gives strongSwan's wording.
func (r Recommendation) String() string {
	if int(r) < len(recNames) {
		return recNames[r]
	}
	return fmt.Sprintf("recommendation(%d)", uint32(r))
}

// Access is a PB-Access-Recommendation value (RFC 5793 §4.7).
type Access uint16

// PB-Access-Recommendation values.
const (
	AccessAllowed Access = 1
	AccessDenied  Access = 2
	Quarantined   Access = 3
)

// String gives strongSwan's wording.
func (a Access) String() string {
	if n := abi.AccessRecommendationName(uint16(a)); n != "" {
		return n
	}
	return fmt.Sprintf("access(%d)", uint16(a))
}

// Access maps an action recommendation to the PB-Access-Recommendation
// strongSwan's server sends: allow → Access Allowed, isolate → Quarantined,
// no access and no recommendation → Access Denied.
func (r Recommendation) Access() Access {
	switch r {
	case Allow:
		return AccessAllowed
	case Isolate:
		return Quarantined
	}
	return AccessDenied
}

// Remediation is one remediation instruction: a string with its language
// (IETF Remediation Instructions, string form) or a URI.
type Remediation struct {
	Title string // e.g. "IP Packet Forwarding"
	Text  string // e.g. "Please disable the forwarding of IP packets"
	Lang  string // e.g. "en"
	URI   string // URI form, when set
}

// IMVVerdict is what one IMV decided for a connection.
type IMVVerdict struct {
	IMV            string // "OS" or "Attestation"
	ID             uint16 // IMV ID
	Recommendation Recommendation
	Result         Result
	Reasons        []string // reason strings, in English
	Remediation    []Remediation
	// Info is a line for the operator beyond the verdict, e.g. the SWIMA
	// IMV's "738 software records, 2 events since last time".
	Info string
}

// Verdict is the combined decision for one PB-TNC connection.
type Verdict struct {
	Result         Result         // PB-Assessment-Result
	Recommendation Recommendation // combined action recommendation
	Access         Access         // PB-Access-Recommendation
	Reasons        []string       // PB-Reason-String values (language "en")
	Remediation    []Remediation
	IMVs           []IMVVerdict
	Device         string // ITA Device ID, if reported
	Product        string // product key, if reported
}

// Combine merges the IMVs' verdicts with strongSwan's recommendation policy
// "default": no access beats isolate beats allow beats no recommendation;
// error beats non-compliant major beats minor beats compliant beats don't
// know. With no recommendation at all the result is "no recommendation" /
// "don't know" → Access Denied.
func Combine(vs []IMVVerdict) Verdict {
	rec, res := NoRecommendation, DontKnow
	var out Verdict
	for _, v := range vs {
		switch v.Recommendation {
		case NoAccess:
			rec = NoAccess
		case Isolate:
			if rec != NoAccess {
				rec = Isolate
			}
		case Allow:
			if rec == NoRecommendation {
				rec = Allow
			}
		}
		switch v.Result {
		case ResultError:
			res = ResultError
		case NonCompliantMajor:
			if res != ResultError {
				res = NonCompliantMajor
			}
		case NonCompliantMinor:
			if res != ResultError && res != NonCompliantMajor {
				res = NonCompliantMinor
			}
		case Compliant:
			if res == DontKnow {
				res = Compliant
			}
		}
		out.Reasons = append(out.Reasons, v.Reasons...)
		out.Remediation = append(out.Remediation, v.Remediation...)
	}
	out.Result, out.Recommendation, out.Access = res, rec, rec.Access()
	out.IMVs = vs
	return out
}
