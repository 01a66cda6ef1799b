package abi

import "strconv"

// This file is the one place that names the numbers of the TNC contract:
// Private Enterprise Numbers, PA message subtypes, statuses and connection
// states. The host's logs, the SDK's errors, the PDP and the CLI all print
// through it. To name a new PEN or PA subtype (a SWIMA module, a vendor's
// IMC), add one line to penNames or paSubtypeNames below.

// Private Enterprise Numbers (24-bit vendor IDs, IANA "SMI Network
// Management Private Enterprise Codes") that name PA message types and
// PA-TNC attributes (RFC 5792 §4.1, RFC 5793 §4.5).
const (
	PENIETF      uint32 = 0x000000
	PENRedHat    uint32 = 0x000908
	PENPWG       uint32 = 0x000a8b
	PENDebian    uint32 = 0x002572
	PENGoogle    uint32 = 0x002b79
	PENTCG       uint32 = 0x005597
	PENCanonical uint32 = 0x007132
	PENFedora    uint32 = 0x0076c1
	PENITAHSR    uint32 = 0x00902a // ITA-HSR, strongSwan's vendor attributes
	PENReserved  uint32 = 0xffffff
)

// penNames are strongSwan's names of the PENs it knows.
var penNames = map[uint32]string{
	PENIETF:      "IETF",
	0x000002:     "IBM",
	0x000137:     "Microsoft",
	PENRedHat:    "Red Hat",
	PENPWG:       "PWG",
	PENDebian:    "Debian",
	PENGoogle:    "Google",
	0x002358:     "OSC",
	PENTCG:       "TCG",
	PENCanonical: "Canonical",
	PENFedora:    "Fedora",
	0x0080ab:     "FHH",
	PENITAHSR:    "ITA-HSR",
	0x00950e:     "OpenPTS",
	PENReserved:  "Reserved",
}

// PENName returns strongSwan's name of a PEN ("IETF", "TCG", "ITA-HSR",
// "Debian", ...), or "" if it has none.
func PENName(pen uint32) string { return penNames[pen] }

// PA message subtypes of the shipped IMCs and the PDP's IMVs
// (MsgType{PENIETF, SubtypeOS}, MsgType{PENIETF, SubtypeSWIMA},
// MsgType{PENTCG, SubtypePTS}).
const (
	SubtypeOS    uint32 = 1 // IETF "Operating System" (IANA PA Subtypes, RFC 5792)
	SubtypeSWIMA uint32 = 9 // IETF "SWIMA" (RFC 8412 §5.3)
	SubtypePTS   uint32 = 1 // TCG "PTS" (the PTS IF-M Binding)
)

// paSubtypeNames are the names of PA message subtypes per vendor: the IETF
// ones of the IANA "PA Subtypes" registry (RFC 5792) and the TCG ones
// strongSwan knows.
var paSubtypeNames = map[MsgType]string{
	{PENIETF, 0}:            "Testing",
	{PENIETF, SubtypeOS}:    "Operating System",
	{PENIETF, 2}:            "Anti-Virus",
	{PENIETF, 3}:            "Anti-Spyware",
	{PENIETF, 4}:            "Anti-Malware Suite",
	{PENIETF, 5}:            "Firewall",
	{PENIETF, 6}:            "IDPS",
	{PENIETF, 7}:            "VPN",
	{PENIETF, 8}:            "NEA Client",
	{PENIETF, SubtypeSWIMA}: "SWIMA",
	{PENTCG, SubtypePTS}:    "PTS",
	{PENTCG, 2}:             "SCAP",
	{PENTCG, 3}:             "SWID",
}

// SubtypeName returns the name of the message type's subtype ("Operating
// System", "PTS"), or "" if it has none.
func (t MsgType) SubtypeName() string { return paSubtypeNames[t] }

// Name returns "<vendor>/<subtype>" as strongSwan names a PA message type,
// e.g. "IETF/Operating System" or "TCG/PTS"; the wildcards read "ANY" and a
// number without a name is printed in decimal.
func (t MsgType) Name() string {
	v := PENName(t.Vendor)
	switch {
	case t.Vendor == VendorAny: // before the name: 0xffffff is also "Reserved"
		v = "ANY"
	case v == "":
		v = strconv.FormatUint(uint64(t.Vendor), 10)
	}
	s := t.SubtypeName()
	if s == "" {
		if t.Subtype == SubtypeAny {
			s = "ANY"
		} else {
			s = strconv.FormatUint(uint64(t.Subtype), 10)
		}
	}
	return v + "/" + s
}

// String formats the message type as strongSwan logs it:
// 'IETF/Operating System' 0x000000/0x00000001.
func (t MsgType) String() string {
	return "'" + t.Name() + "' 0x" + hexPad(uint64(t.Vendor), 6) + "/0x" + hexPad(uint64(t.Subtype), 8)
}

// hexPad is %0*x without fmt (the SDK keeps fmt out of modules).
func hexPad(v uint64, width int) string {
	h := strconv.FormatUint(v, 16)
	for len(h) < width {
		h = "0" + h
	}
	return h
}

var statusNames = [...]string{
	StatusOK:           "ok",
	StatusInvalid:      "invalid argument",
	StatusFault:        "bad guest pointer",
	StatusTooLarge:     "too large",
	StatusNotFound:     "not found",
	StatusNotGranted:   "not granted",
	StatusUnavailable:  "unavailable",
	StatusFailed:       "failed on the host",
	StatusState:        "not allowed now",
	StatusNoResult:     "no stashed result",
	StatusUnsupported:  "unsupported",
	StatusModuleFailed: "module failed",
	StatusDenied:       "denied (outside the module's lane)",
	StatusExhausted:    "budget exhausted",
}

// String describes the status ("not found", "budget exhausted"); an unknown
// value reads "status N".
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status " + strconv.Itoa(int(s))
}

var connStateNames = [...]string{
	ConnCreate:    "Create",
	ConnHandshake: "Handshake",
	ConnAllowed:   "Allowed",
	ConnIsolated:  "Isolated",
	ConnNone:      "None",
	ConnDelete:    "Delete",
}

// String is the state's name as strongSwan logs it ("Handshake",
// "Allowed"); an unknown value is printed in decimal.
func (s ConnState) String() string {
	if int(s) < len(connStateNames) {
		return connStateNames[s]
	}
	return strconv.FormatUint(uint64(s), 10)
}

// assessmentNames are strongSwan's words for the assessment results (RFC
// 5792 §4.2.9 Assessment Result, RFC 5793 §4.6 PB-Assessment-Result, TNC
// IF-IMV evaluation results; one numbering).
var assessmentNames = [...]string{"compliant", "non-compliant minor", "non-compliant major", "error", "don't know"}

// AssessmentResultName returns strongSwan's wording of an assessment result
// ("non-compliant minor"), or "" for a value without one.
func AssessmentResultName(r uint32) string {
	if r < uint32(len(assessmentNames)) {
		return assessmentNames[r]
	}
	return ""
}

// accessNames are strongSwan's words for the PB-Access-Recommendation values
// (RFC 5793 §4.7).
var accessNames = [...]string{1: "Access Allowed", 2: "Access Denied", 3: "Quarantined"}

// AccessRecommendationName returns strongSwan's wording of a
// PB-Access-Recommendation ("Access Allowed"), or "" for a value without one.
func AccessRecommendationName(r uint16) string {
	if r < uint16(len(accessNames)) {
		return accessNames[r]
	}
	return ""
}
