package pb

// The validity rules, one row per known message type: strongSwan's
// pb_tnc_msg_infos[] plus who may send what (RFC 5793 Sections 4.5-4.10,
// TCG PDP Discovery and Validation, strongSwan's ITA extension).
//
//	type                     min   exact RESULT NOSKIP      client server
//	IETF/PB-Experimental       12  -     -      forbidden*  yes    yes
//	IETF/PB-PA                 24  -     -      required    yes    yes
//	IETF/PB-Assessment-Result  16  yes   yes    required    -      yes
//	IETF/PB-Access-Rec.        16  yes   yes    forbidden   -      yes
//	IETF/PB-Remediation-Par.   20  -     yes    forbidden   -      yes
//	IETF/PB-Error              20  -     -      required    yes    yes
//	IETF/PB-Language-Pref.     12  -     -      forbidden   yes    yes
//	IETF/PB-Reason-String      17  -     yes    forbidden   -      yes
//	TCG/PB-PDP-Referral        20  -     -      forbidden   -      yes
//	ITA/PB-Mutual-Capability   16  -     -      forbidden   yes    yes
//
// (*) PB-Experimental with NOSKIP is refused as Unsupported Mandatory Message.
// Every other rule violation is Invalid Parameter at the message's offset.
// "RESULT" messages outside a RESULT batch are ignored by a client and fatal
// for a server (a client never sends them); a message the sender's side may
// not send is fatal Invalid Parameter.

// NoSkipRule says how the NOSKIP flag of a message type must be set.
type NoSkipRule uint8

// NOSKIP rules.
const (
	NoSkipAny       NoSkipRule = iota // either
	NoSkipRequired                    // must be set
	NoSkipForbidden                   // must be clear
)

// Rule is one row of the validity table.
type Rule struct {
	Name       string     // strongSwan's log name, e.g. "IETF/PB-PA"
	MinLen     int        // minimum message length, header included
	Exact      bool       // MinLen is the only allowed length
	ResultOnly bool       // only meaningful inside a RESULT batch
	NoSkip     NoSkipRule // NOSKIP requirement
	FromClient bool       // a client may send it
	FromServer bool       // a server may send it
}

type msgInfo struct {
	Rule
	name   string
	newMsg func() Message
}

func info(r Rule, f func() Message) msgInfo { return msgInfo{Rule: r, name: r.Name, newMsg: f} }

// msgInfos is read-only after package initialisation.
var msgInfos = map[MsgType]msgInfo{
	TypeExperimental: info(Rule{"IETF/PB-Experimental", 12, false, false, NoSkipForbidden, true, true},
		func() Message { return new(MsgExperimental) }),
	TypePA: info(Rule{"IETF/PB-PA", 24, false, false, NoSkipRequired, true, true},
		func() Message { return new(MsgPA) }),
	TypeAssessmentResult: info(Rule{"IETF/PB-Assessment-Result", 16, true, true, NoSkipRequired, false, true},
		func() Message { return new(MsgAssessmentResult) }),
	TypeAccessRecommendation: info(Rule{"IETF/PB-Access-Recommendation", 16, true, true, NoSkipForbidden, false, true},
		func() Message { return new(MsgAccessRecommendation) }),
	TypeRemediationParameters: info(Rule{"IETF/PB-Remediation-Parameters", 20, false, true, NoSkipForbidden, false, true},
		func() Message { return new(MsgRemediationParameters) }),
	TypeError: info(Rule{"IETF/PB-Error", 20, false, false, NoSkipRequired, true, true},
		func() Message { return new(MsgError) }),
	TypeLanguagePreference: info(Rule{"IETF/PB-Language-Preference", 12, false, false, NoSkipForbidden, true, true},
		func() Message { return new(MsgLanguagePreference) }),
	TypeReasonString: info(Rule{"IETF/PB-Reason-String", 17, false, true, NoSkipForbidden, false, true},
		func() Message { return new(MsgReasonString) }),
	TypePDPReferral: info(Rule{"TCG/PB-PDP-Referral", 20, false, false, NoSkipForbidden, false, true},
		func() Message { return new(MsgPDPReferral) }),
	TypeMutualCapability: info(Rule{"ITA/PB-Mutual-Capability", 16, false, false, NoSkipForbidden, true, true},
		func() Message { return new(MsgMutualCapability) }),
}

// RuleFor returns the validity rule of a known message type.
func RuleFor(t MsgType) (Rule, bool) {
	in, ok := msgInfos[t]
	return in.Rule, ok
}

// check applies the table to a message header at batch offset off.
func (in *msgInfo) check(t MsgType, noskip bool, length int, off int) *Error {
	switch {
	case t == TypeExperimental && noskip:
		return &Error{Code: ErrUnsupportedMandatoryMessage, Offset: uint32(off)}
	case in.NoSkip == NoSkipRequired && !noskip, in.NoSkip == NoSkipForbidden && noskip:
		return invalidParam(off)
	case length < in.MinLen, in.Exact && length != in.MinLen:
		return invalidParam(off)
	}
	return nil
}
