package capability

// The send family: send, subscribe and report, and the lanes they keep.
//
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
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/tnccs"
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

// CheckPATNC reports why body is not a well-formed PA-TNC message, or nil.
func CheckPATNC(body []byte) error {
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

// SendBudget returns what one module may send between two batches of the
// client and over a connection, in bytes, under the PB-TNC batch limit
// maxBatchSize (0: PT-TLS's).
func SendBudget(maxBatchSize uint32) (round, conn int) {
	b := batchLimit(maxBatchSize)
	return roundBudgetBatches * b, connBudgetBatches * b
}

// batchLimit is the batch limit the budgets count in: the configured one,
// else PT-TLS's (what tnccs uses over PT-TLS when none is configured).
func batchLimit(configured uint32) int {
	if configured == 0 {
		return pb.PTTLSLimits.Batch()
	}
	return int(configured)
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

func (s *Session) send(_ context.Context, in []byte) ([]byte, error) {
	return nil, s.sendMessage(in)
}

func (s *Session) sendMessage(in []byte) error {
	h, body, err := abi.ParseMessage(in)
	if err != nil {
		var de *abi.DecodeError
		if errors.As(err, &de) && de.Offset == abi.MessageHeaderLen {
			return fail(abi.FnSend, abi.StatusTooLarge, err)
		}
		return err
	}
	body = s.withModuleReport(h.Type, body)
	if max := s.c.MaxMessageSize; max != 0 && uint32(len(body)) > max {
		return fail(abi.FnSend, abi.StatusTooLarge,
			fmt.Errorf("PA message of %d bytes exceeds the maximum of %d", len(body), max))
	}
	if s.c.Send == nil || s.c.Conn == 0 {
		return fail(abi.FnSend, abi.StatusState, errors.New("no connection"))
	}
	s.mu.Lock()
	lane := s.c.SendTypes
	if lane == nil {
		lane = s.subs
	}
	inLane := covers(lane, h.Type)
	s.mu.Unlock()
	if !inLane {
		return s.refuse("lane", abi.StatusDenied, fmt.Errorf("PA message type %s is outside its lane (pa_send, else its subscriptions)", h.Type))
	}
	if err := CheckPATNC(body); err != nil {
		return s.refuse("framing", abi.StatusInvalid, fmt.Errorf("malformed PA message type %s: %v", h.Type, err))
	}
	batch := batchLimit(s.c.MaxBatchSize)
	s.mu.Lock()
	round, conn := s.roundSent+len(body), s.connSent+len(body)
	within := round <= roundBudgetBatches*batch && conn <= connBudgetBatches*batch
	if within {
		s.roundSent, s.connSent = round, conn
	}
	s.mu.Unlock()
	if !within {
		return s.refuse("budget", abi.StatusExhausted, fmt.Errorf("PA message of %d bytes exceeds its send budget (%d bytes until the next batch, %d on the connection)",
			len(body), roundBudgetBatches*batch, connBudgetBatches*batch))
	}
	m := tnccs.PAMessage{
		Vendor:    h.Type.Vendor,
		Subtype:   h.Type.Subtype,
		Collector: uint16(s.c.IMCID),
		Validator: uint16(h.Validator),
		Exclusive: h.Flags&abi.FlagExclusive != 0,
		Body:      append([]byte(nil), body...),
	}
	if err := s.c.Send(m); err != nil {
		return fail(abi.FnSend, abi.StatusFailed, err)
	}
	return nil
}

// refuse logs a refused send, the first of each reason at warning level
// and the others at debug level, and returns the status for the module.
func (s *Session) refuse(reason string, st abi.Status, err error) error {
	s.mu.Lock()
	if s.refused == nil {
		s.refused = map[string]int{}
	}
	s.refused[reason]++
	n := s.refused[reason]
	s.mu.Unlock()
	msg := fmt.Sprintf("IMC %d \"%s\" send refused on Connection ID %d: %v", s.c.IMCID, logfmt.Escape(s.c.Name), s.c.Conn, err)
	if n == 1 {
		s.log.Warn(msg)
	} else {
		s.log.Debug(msg)
	}
	return fail(abi.FnSend, st, err)
}

func (s *Session) subscribe(_ context.Context, in []byte) ([]byte, error) {
	return nil, s.subscribeTypes(in)
}

func (s *Session) subscribeTypes(in []byte) error {
	types, err := abi.ParseMsgTypes(in)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.initializing {
		return fail(abi.FnSubscribe, abi.StatusState, errors.New("subscribe outside imc_initialize"))
	}
	for _, t := range types {
		if !slices.Contains(s.subs, t) {
			s.subs = append(s.subs, t)
		}
	}
	if len(s.subs) > abi.MaxSubscriptions {
		s.subs = s.subs[:abi.MaxSubscriptions]
		return fail(abi.FnSubscribe, abi.StatusTooLarge, errors.New("too many subscriptions"))
	}
	return nil
}

func (s *Session) report(_ context.Context, in []byte) ([]byte, error) {
	r, err := abi.ParseReport(in)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	err = s.assessed.check(r)
	s.mu.Unlock()
	if err != nil {
		s.log.Warn(fmt.Sprintf("IMC %d \"%s\" reported result %d from IMV %d, refused: %v",
			s.c.IMCID, logfmt.Escape(s.c.Name), r.Result, r.Validator, err))
		return nil, fail(abi.FnReport, abi.StatusDenied, err)
	}
	if s.c.OnReport != nil {
		s.c.OnReport(r)
	}
	return nil, nil
}
