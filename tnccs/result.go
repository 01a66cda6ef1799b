package tnccs

import "github.com/imchost/imchost/tnccs/pb"

// Decision is what the IMVs decide for one connection; the server sends it
// in the RESULT batch.
type Decision struct {
	// Result is the PB-Assessment-Result (RFC 5793 Section 4.6).
	Result pb.AssessmentResult
	// Recommendation is the PB-Access-Recommendation (1..3). The zero value
	// is sent as Access Denied.
	Recommendation pb.Recommendation
	// Reasons become one PB-Reason-String each.
	Reasons []Reason
	// Remediation, when set, becomes a PB-Remediation-Parameters message.
	Remediation *Remediation
}

// Reason is a human-readable reason for a decision (PB-Reason-String).
type Reason struct {
	Text string // UTF-8
	Lang string // language code, e.g. "en"
}

// Remediation is PB-Remediation-Parameters in one of its IETF forms: a URI,
// or a text with its language.
type Remediation struct {
	URI  string // type 1 when set
	Text string // type 2 when URI is empty
	Lang string // language of Text
}

// Result is the outcome of one PB-TNC connection, as either side saw it.
type Result struct {
	// ConnID is the PB-TNC connection ID.
	ConnID ConnID
	// Decided reports that a RESULT batch was received (client) or sent
	// (server): only then are AssessmentResult and Recommendation meaningful.
	Decided bool
	// AssessmentResult is the PB-Assessment-Result.
	AssessmentResult pb.AssessmentResult
	// Recommendation is the PB-Access-Recommendation (RecommendationNone if
	// none was received).
	Recommendation pb.Recommendation
	// Reasons are the PB-Reason-Strings.
	Reasons []Reason
	// Remediation is the PB-Remediation-Parameters, if any.
	Remediation *Remediation
	// PDPReferral is the TCG PB-PDP-Referral received, if any (client).
	PDPReferral *pb.MsgPDPReferral
	// Errors are the PB-Error messages received from the peer.
	Errors []*pb.MsgError
	// BatchesSent and BatchesReceived count PB-TNC batches.
	BatchesSent, BatchesReceived int
	// Peer is the client (server side only).
	Peer Peer
	// Reassessment numbers the assessment within its PB-TNC connection:
	// 0 for the first, n for the n-th re-assessment (RFC 5793 Section
	// 3.2); RetryBy says who asked for it: "client" (CRETRY) or "server"
	// (SRETRY), empty for the first.
	Reassessment int
	RetryBy      string
}
