package host

// Lanes: what a module may put on the wire and show the user. A module is
// untrusted code; the wasm sandbox keeps it from the machine, and these
// checks keep it from the other modules and from the verdict:
//
//   - PA subtypes: it sends and receives only the PA message types of its
//     lane ([[imc]] pa_send and pa_receive; by default the types it
//     subscribed to), so it cannot speak for another collector.
//   - Framing: what it sends is a well-formed PA-TNC message (RFC 5792
//     Section 4.1 and 4.2), so that a PDP's IMV never refuses the whole
//     exchange for one module's bytes.
//   - Budgets: what it may queue between two batches and over a connection
//     is bounded by the PB-TNC limits, whoever asks it to talk.
//   - Reports: the summary shows an assessment only when the IMV named in
//     it sent this module that assessment on this connection.
//   - Logs: a bounded number of lines, at known levels.

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tnccs/pb"
)

// PA-TNC framing (RFC 5792): an 8-byte message header (version 1, 3
// reserved bytes, message identifier), then attributes of a 12-byte header
// (flags, 24-bit vendor, type, length counting the header) and a value.
const (
	paVersion       = 1
	paHeaderLen     = 8
	paAttrHeaderLen = 12
	paAttrNoSkip    = 0x80
)

// IETF attribute types the host reads in the messages an IMC receives
// (RFC 5792 Section 4.2.7 and 4.2.8).
const (
	attrAssessmentResult        = 9
	attrRemediationInstructions = 10
)

// checkPATNC reports why body is not a well-formed PA-TNC message, or nil.
func checkPATNC(body []byte) error {
	if len(body) < paHeaderLen {
		return fmt.Errorf("PA-TNC message of %d bytes is shorter than its %d-byte header", len(body), paHeaderLen)
	}
	if body[0] != paVersion {
		return fmt.Errorf("PA-TNC version %d, RFC 5792 has version %d", body[0], paVersion)
	}
	return walkAttrs(body, nil)
}

// walkAttrs checks the attributes of a PA-TNC message (header already
// checked) and calls fn, when set, for each with its vendor, type and value.
func walkAttrs(body []byte, fn func(vendor, typ uint32, value []byte)) error {
	for off := paHeaderLen; off < len(body); {
		if len(body)-off < paAttrHeaderLen {
			return fmt.Errorf("PA-TNC attribute header at offset %d cut short (%d bytes left)", off, len(body)-off)
		}
		h := body[off:]
		vendor := uint32(h[1])<<16 | uint32(h[2])<<8 | uint32(h[3])
		typ := binary.BigEndian.Uint32(h[4:8])
		n := binary.BigEndian.Uint32(h[8:12])
		if n < paAttrHeaderLen || uint64(n) > uint64(len(body)-off) {
			return fmt.Errorf("PA-TNC attribute at offset %d has length %d, %d bytes are left", off, n, len(body)-off)
		}
		if fn != nil {
			fn(vendor, typ, body[off+paAttrHeaderLen:off+int(n)])
		}
		off += int(n)
	}
	return nil
}

// PA subtype names usable in pa_send and pa_receive, besides
// "VENDOR/SUBTYPE" in numbers (decimal or 0x hex) and "*" for any.
var paVendorNames = map[string]uint32{"ietf": abi.PENIETF, "tcg": abi.PENTCG, "ita": abi.PENITAHSR}

var paSubtypeNames = map[string]abi.MsgType{
	"ietf/os": {Vendor: abi.PENIETF, Subtype: 1}, "ietf/operating-system": {Vendor: abi.PENIETF, Subtype: 1},
	"tcg/pts": {Vendor: abi.PENTCG, Subtype: 1},
}

// ParsePAType reads one pa_send/pa_receive entry: "ietf/os", "tcg/pts",
// "VENDOR/SUBTYPE" with names (ietf, tcg, ita) or numbers, "*" meaning any
// vendor or any subtype ("tcg/*", "*").
func ParsePAType(s string) (abi.MsgType, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if t, ok := paSubtypeNames[l]; ok {
		return t, nil
	}
	if l == "*" || l == "*/*" {
		return abi.MsgType{Vendor: abi.VendorAny, Subtype: abi.SubtypeAny}, nil
	}
	v, st, ok := strings.Cut(l, "/")
	if !ok {
		return abi.MsgType{}, fmt.Errorf("PA type %q: want VENDOR/SUBTYPE, e.g. \"ietf/os\", \"tcg/pts\", \"32473/1\"", s)
	}
	var t abi.MsgType
	switch pen, named := paVendorNames[v]; {
	case named:
		t.Vendor = pen
	case v == "*":
		t.Vendor = abi.VendorAny
	default:
		n, err := strconv.ParseUint(v, 0, 24)
		if err != nil || n >= uint64(abi.VendorAny) {
			return t, fmt.Errorf("PA type %q: vendor %q is not a name (ietf, tcg, ita) or a 24-bit PEN", s, v)
		}
		t.Vendor = uint32(n)
	}
	if st == "*" {
		t.Subtype = abi.SubtypeAny
		return t, nil
	}
	n, err := strconv.ParseUint(st, 0, 8)
	if err != nil || n >= uint64(abi.SubtypeAny) {
		return t, fmt.Errorf("PA type %q: subtype %q is not a number below 255", s, st)
	}
	t.Subtype = uint32(n)
	return t, nil
}

// parsePATypes reads a pa_send or pa_receive list; nil stays nil (the
// default: the module's subscriptions).
func parsePATypes(list []string) ([]abi.MsgType, error) {
	if list == nil {
		return nil, nil
	}
	out := make([]abi.MsgType, 0, len(list))
	for _, s := range list {
		t, err := ParsePAType(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// covers reports whether one of types, wildcards included, covers t.
func covers(types []abi.MsgType, t abi.MsgType) bool {
	for _, c := range types {
		if (c.Vendor == abi.VendorAny || c.Vendor == t.Vendor) && (c.Subtype == abi.SubtypeAny || c.Subtype == t.Subtype) {
			return true
		}
	}
	return false
}

// Budgets of one module on one connection, in multiples of the PB-TNC
// batch limit ([tnccs] max_batch_size, else PT-TLS's 2 MB): what it may
// send between two batches of the client (the next batch carries at most
// one batch limit; the rest waits for the rounds after it) and over the
// whole connection. The Attestation IMC sends its whole evidence, IMA
// list included, in one round.
const (
	roundBudgetBatches = 16
	connBudgetBatches  = 64
)

// batchLimit is the batch limit the budgets count in: the configured one,
// else PT-TLS's (what tnccs uses over PT-TLS when none is configured).
func batchLimit(configured uint32) int {
	if configured == 0 {
		return pb.PTTLSLimits.Batch()
	}
	return int(configured)
}

// Log limits of one module on one connection, counting the lines the
// host prints (a line below the log level costs nothing): a burst of
// logBurst lines, refilled at logRate lines a second, logMaxLines and
// logMaxBytes in all. The shipped IMCs log a few hundred lines at the
// most detailed level.
const (
	logBurst    = 2000
	logRate     = 500
	logMaxLines = 50000
	logMaxBytes = 16 << 20
)

// logLimiter is a token bucket with a total cap.
type logLimiter struct {
	tokens     float64
	last       time.Time
	lines      int
	bytes      int
	suppressed int
}

// allow reports whether one more line of n bytes may be logged now.
func (l *logLimiter) allow(now time.Time, n int) bool {
	if l.last.IsZero() {
		l.tokens, l.last = logBurst, now
	}
	l.tokens = min(logBurst, l.tokens+now.Sub(l.last).Seconds()*logRate)
	l.last = now
	if l.lines >= logMaxLines || l.bytes+n > logMaxBytes || l.tokens < 1 {
		l.suppressed++
		return false
	}
	l.tokens--
	l.lines++
	l.bytes += n
	return true
}

// assessed is what IMVs sent one module on one connection: per IMV, the
// IETF Assessment Results and whether Remediation Instructions came.
type assessed struct {
	results     map[uint32][]uint32
	remediation map[uint32]bool
}

// note records the assessment attributes of a PA message from IMV imv.
func (a *assessed) note(imv uint32, body []byte) {
	if len(body) < paHeaderLen || body[0] != paVersion {
		return
	}
	_ = walkAttrs(body, func(vendor, typ uint32, v []byte) {
		if vendor != abi.PENIETF {
			return
		}
		switch {
		case typ == attrAssessmentResult && len(v) == 4:
			if a.results == nil {
				a.results = map[uint32][]uint32{}
			}
			a.results[imv] = append(a.results[imv], binary.BigEndian.Uint32(v))
		case typ == attrRemediationInstructions:
			if a.remediation == nil {
				a.remediation = map[uint32]bool{}
			}
			a.remediation[imv] = true
		}
	})
}

// resultDontKnow is the IETF Assessment Result "don't know" (RFC 5792
// Section 4.2.7), which an IMC reports for remediation without a result.
const resultDontKnow = 4

// check reports why r is not what the IMV sent, or nil.
func (a *assessed) check(r abi.Report) error {
	results, rem := a.results[r.Validator], a.remediation[r.Validator]
	switch {
	case len(results) == 0 && !rem:
		return fmt.Errorf("IMV %d sent this IMC no assessment on this connection", r.Validator)
	case r.Remediation != "" && !rem:
		return fmt.Errorf("IMV %d sent this IMC no remediation instructions", r.Validator)
	case len(results) == 0 && r.Result != resultDontKnow:
		return fmt.Errorf("IMV %d sent this IMC no assessment result", r.Validator)
	case len(results) > 0:
		for _, x := range results {
			if x == r.Result {
				return nil
			}
		}
		return fmt.Errorf("IMV %d sent this IMC assessment result %v, not %d", r.Validator, results, r.Result)
	}
	return nil
}
