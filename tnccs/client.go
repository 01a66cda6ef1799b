package tnccs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

// Client is the PB-TNC client (TNCC): it assigns connection IDs from 1 and
// runs one assessment per connection with the IMCs.
type Client struct {
	cfg  ClientConfig
	imcs IMCs
	ids  atomic.Uint32
	// tls12 is set once Dial had to fall back to TLS 1.2 for this PDP
	// (pttls.ErrTLS13Undecodable): later assessments offer TLS 1.2 at
	// once instead of failing with TLS 1.3 first every time.
	tls12 atomic.Bool
}

// NewClient returns a client for the given configuration and IMCs.
func NewClient(cfg ClientConfig, imcs IMCs) *Client {
	return &Client{cfg: cfg, imcs: imcs}
}

// Dial runs one complete assessment against cfg.Addr: TCP, TLS, PT-TLS
// negotiation and authentication, then PB-TNC as client with connection
// ID 1. Once PB-TNC has started, the Result (what was learnt so far) is
// returned also together with an error; before that it is nil.
func Dial(ctx context.Context, cfg ClientConfig, imcs IMCs) (*Result, error) {
	return NewClient(cfg, imcs).Assess(ctx)
}

// Assess dials cfg.Addr and runs one assessment on a new connection ID.
func (c *Client) Assess(ctx context.Context) (*Result, error) {
	conn, opts, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return c.run(ctx, conn, opts)
}

// dial opens the PT-TLS session to cfg.Addr; the options carry PT-TLS's
// limits where the configuration left them at 0.
func (c *Client) dial(ctx context.Context) (*pttls.Conn, *Options, error) {
	pcfg := c.cfg.PTTLS
	if pcfg.Logger == nil {
		pcfg.Logger = c.cfg.logger("tls")
	}
	if c.tls12.Load() && pcfg.MaxVersion == 0 {
		pcfg.MaxVersion = tls.VersionTLS12
	}
	conn, err := pttls.Dial(ctx, c.cfg.Addr, pcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("tnccs: connecting to %s: %w", c.cfg.Addr, err)
	}
	if conn.FellBack() {
		c.tls12.Store(true)
	}
	opts := c.cfg.Options
	opts.Limits = opts.Limits.Over(pb.PTTLSLimits)
	return conn, &opts, nil
}

// Run runs the PB-TNC client over an established transport:
//
//	IMCs: Open, ChangeState(Create), ChangeState(Handshake),
//	      [Language-Preference queued], BeginHandshake  -> CDATA
//	each SDATA: Receive per PB-PA, BatchEnding          -> CDATA (maybe empty)
//	SRETRY:     ChangeState(Handshake), Receive per PB-PA,
//	            BeginHandshake, BatchEnding             -> CDATA (CRETRY
//	                                                       when Decided before)
//	RESULT:     Receive per PB-PA, ChangeState(Allowed|Isolated|None),
//	            BatchEnding                             -> empty CLOSE
//	            (the server's transport close is the normal end)
//	Close at the end, whatever happened.
//
// The limits are Options.Limits, IF-T for EAP's where left at 0 (Assess
// uses PT-TLS's).
func (c *Client) Run(ctx context.Context, conn BatchConn) (*Result, error) {
	return c.run(ctx, conn, &c.cfg.Options)
}

func (c *Client) run(ctx context.Context, conn BatchConn, opts *Options) (*Result, error) {
	se, err := c.start(ctx, conn, opts)
	if err != nil {
		return se.s.res, err
	}
	defer se.release(ctx)
	return se.converse(ctx, false)
}

// start assigns the connection ID, opens the IMCs and sends the first
// CDATA. On an error the IMCs are released already.
func (c *Client) start(ctx context.Context, conn BatchConn, opts *Options) (*Session, error) {
	id := ConnID(c.ids.Add(1))
	s := newSession(false, id, conn, opts)
	se := &Session{c: c, s: s}
	s.log.Info(fmt.Sprintf("assigned TNCCS Connection ID %d", id))
	ic, err := c.imcs.Open(ctx, id, s.sendPA)
	if err != nil {
		return se, fmt.Errorf("tnccs: opening IMCs for connection %d: %w", id, err)
	}
	se.ic = ic
	ic.ChangeState(ctx, abi.ConnCreate)
	ic.ChangeState(ctx, abi.ConnHandshake)
	lang := c.cfg.Language
	if lang == "" {
		lang = DefaultLanguage
	}
	s.enqueue(&pb.MsgLanguagePreference{Languages: lang})
	ic.BeginHandshake(ctx)
	if err := s.sendBatch(ctx, pb.BatchCDATA); err != nil {
		se.release(ctx)
		return se, err
	}
	return se, nil
}

// release closes the connection's IMCs (once).
func (se *Session) release(ctx context.Context) {
	if se.ic == nil {
		return
	}
	se.ic.Close(context.WithoutCancel(ctx))
	se.ic = nil
	se.s.log.Info(fmt.Sprintf("removed TNCCS Connection ID %d", se.s.id))
}

// converse handles server batches until the assessment under way ends.
// After the RESULT it sends CLOSE and waits for the server to close,
// unless keep is set: then the connection stays open in state Decided.
func (se *Session) converse(ctx context.Context, keep bool) (*Result, error) {
	s, ic, c := se.s, se.ic, se.c
	id := s.id
	for {
		b, err := s.recv(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return s.res, fmt.Errorf("%w: server closed the transport in state '%s'", ErrClosed, s.state)
			}
			return s.res, err
		}
		if b.Type == pb.BatchCLOSE {
			return s.res, c.closed(s, b)
		}
		if s.res.BatchesReceived > s.opts.rounds() {
			s.log.Error(fmt.Sprintf("received %d batches without a decision, giving up", s.res.BatchesReceived))
			_ = s.sendFatal(ctx, &pb.Error{Code: pb.ErrLocalError})
			return s.res, ErrTooManyRounds
		}
		if b.Type == pb.BatchRESULT {
			if pe := checkResult(b); pe != nil {
				s.log.Error(fmt.Sprintf("RESULT batch with %d PB-Assessment-Result messages, RFC 5793 Section 4.6 requires exactly one",
					countResults(b)), "conn_id", s.id)
				return s.res, s.sendFatal(ctx, pe)
			}
		}
		if b.Type == pb.BatchSRETRY && s.state == stateServerWorking { // SRETRY after the decision
			se.sretries++
			if max := c.cfg.maxServerRetries(); se.sretries > max {
				s.log.Error(fmt.Sprintf("PDP requested more than %d re-assessments without one of ours in between, closing the PB-TNC connection", max), "conn_id", id)
				_ = s.sendBatch(ctx, pb.BatchCLOSE)
				return s.res, ErrTooManyRetries
			}
			s.log.Info(fmt.Sprintf("PDP requested a re-assessment of Connection ID %d", id))
		}
		if b.Type == pb.BatchSRETRY {
			ic.ChangeState(ctx, abi.ConnHandshake)
		}
		var fatal *pb.MsgError
		var rec pb.Recommendation
		for _, m := range b.Messages {
			if e := c.handle(ctx, s, ic, b.Type, m, &rec); e != nil && fatal == nil {
				fatal = e
			}
		}
		if err := ctx.Err(); err != nil {
			return s.res, fmt.Errorf("tnccs: connection %d abandoned in state '%s': %w", id, s.state, err)
		}
		if fatal != nil {
			// strongSwan would carry on; we stop the assessment politely.
			_ = s.sendBatch(ctx, pb.BatchCLOSE)
			return s.res, &RemoteError{Msg: fatal}
		}
		switch b.Type {
		case pb.BatchSRETRY:
			ic.BeginHandshake(ctx)
		case pb.BatchRESULT:
			s.res.Decided = true
			s.res.Recommendation = rec
			ic.ChangeState(ctx, connStateFor(rec))
			ic.BatchEnding(ctx)
			if keep {
				return s.res, nil
			}
			if err := s.sendBatch(ctx, pb.BatchCLOSE); err != nil {
				return s.res, err
			}
			c.awaitClose(ctx, s)
			return s.res, nil
		}
		ic.BatchEnding(ctx)
		next := pb.BatchCDATA
		if s.state == stateServerWorking { // SRETRY while Decided: only CRETRY is legal
			next = pb.BatchCRETRY
		}
		if err := s.sendBatch(ctx, next); err != nil {
			return s.res, err
		}
	}
}

// handle processes one message of a server batch; it returns a received
// fatal PB-Error.
func (c *Client) handle(ctx context.Context, s *session, ic IMCConn, bt pb.BatchType, m pb.Message, rec *pb.Recommendation) *pb.MsgError {
	if r, ok := pb.RuleFor(m.Type()); ok && r.ResultOnly && bt != pb.BatchRESULT {
		s.log.Debug(fmt.Sprintf("ignore %s message not received within RESULT batch", m.Type()), "conn_id", s.id)
		return nil
	}
	switch m := m.(type) {
	case *pb.MsgPA:
		s.log.Debug(fmt.Sprintf("handling PB-PA message type '%s' 0x%06x/0x%08x", paTypeName(m.Vendor, m.Subtype), m.Vendor, m.Subtype), "conn_id", s.id)
		ic.Receive(ctx, PAMessage{Vendor: m.Vendor, Subtype: m.Subtype, Collector: m.Collector,
			Validator: m.Validator, Exclusive: m.Exclusive, Body: m.Body})
	case *pb.MsgAssessmentResult:
		s.res.AssessmentResult = m.Result
		s.log.Info(fmt.Sprintf("PB-TNC assessment result is '%s'", m.Result), "conn_id", s.id)
	case *pb.MsgAccessRecommendation:
		*rec = m.Recommendation
		s.log.Info(fmt.Sprintf("PB-TNC access recommendation is '%s'", m.Recommendation), "conn_id", s.id)
	case *pb.MsgReasonString:
		s.res.Reasons = append(s.res.Reasons, Reason{Text: m.Text, Lang: m.Lang})
		s.log.Info(fmt.Sprintf("reason string is '%s' [%s]", logfmt.Escape(m.Text), logfmt.Escape(m.Lang)), "conn_id", s.id)
	case *pb.MsgRemediationParameters:
		r := &Remediation{URI: m.URI, Text: m.Text, Lang: m.Lang}
		switch {
		case m.URI != "":
			s.log.Info(fmt.Sprintf("remediation uri: %s", logfmt.Escape(m.URI)), "conn_id", s.id)
		case m.Text != "":
			s.log.Info(fmt.Sprintf("remediation string: [%s] %s", logfmt.Escape(m.Lang), logfmt.Escape(m.Text)), "conn_id", s.id)
		default:
			s.log.Info(fmt.Sprintf("remediation parameters vendor 0x%06x type %d", m.Vendor, m.ParamType), "conn_id", s.id)
		}
		s.res.Remediation = r
	case *pb.MsgPDPReferral:
		if m.Protocol != pb.PDPProtocolPTTLS || m.Host() == "" {
			s.log.Info("unsupported PDP referral", "vendor", m.Vendor, "type", m.IDType, "protocol", m.Protocol)
			return nil
		}
		if err := checkReferral(m); err != nil {
			s.log.Warn(fmt.Sprintf("ignoring PDP referral: %v", err), "conn_id", s.id)
			return nil
		}
		s.res.PDPReferral = m
		s.log.Info(fmt.Sprintf("PDP server '%s' is listening on port %d", logfmt.Escape(m.Host()), m.Port), "conn_id", s.id)
	case *pb.MsgError:
		if s.noteError(m) {
			return m
		}
	case *pb.MsgLanguagePreference, *pb.MsgExperimental, *pb.MsgMutualCapability, *pb.MsgUnknown:
		// nothing to do: logged by recv
	}
	return nil
}

// closed handles a CLOSE batch from the server.
func (c *Client) closed(s *session, b *pb.Batch) error {
	var first *pb.MsgError
	for _, m := range b.Messages {
		if e, ok := m.(*pb.MsgError); ok {
			s.noteError(e)
			if first == nil {
				first = e
			}
		}
	}
	switch {
	case first != nil:
		return &RemoteError{Msg: first}
	case len(b.Messages) > 0:
		return fmt.Errorf("%w: server sent a CLOSE batch with %d messages", ErrClosed, len(b.Messages))
	case s.res.Decided:
		return nil
	}
	return fmt.Errorf("%w: server sent CLOSE", ErrClosed)
}

// awaitClose gives the server a moment to close the transport after our
// CLOSE batch, which is the normal end; anything else is only logged.
func (c *Client) awaitClose(ctx context.Context, s *session) {
	wait := c.cfg.CloseWait
	if wait <= 0 {
		wait = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_, err := s.conn.ReadBatch(ctx)
	switch {
	case errors.Is(err, io.EOF):
		s.log.Debug("PDP closed the connection", "conn_id", s.id)
	case err != nil:
		s.log.Debug("connection not closed by the PDP", "error", err)
	default:
		s.log.Debug("ignoring data after the CLOSE batch", "conn_id", s.id)
	}
}

// connStateFor maps the access recommendation to the IMC connection state.
func connStateFor(r pb.Recommendation) abi.ConnState {
	switch r {
	case pb.RecommendationAllowed:
		return abi.ConnAllowed
	case pb.RecommendationQuarantined:
		return abi.ConnIsolated
	}
	return abi.ConnNone
}

// countResults counts the PB-Assessment-Result messages of a batch.
func countResults(b *pb.Batch) int {
	n := 0
	for _, m := range b.Messages {
		if _, ok := m.(*pb.MsgAssessmentResult); ok {
			n++
		}
	}
	return n
}

// checkResult enforces RFC 5793 Section 4.6: a RESULT batch carries
// exactly one PB-Assessment-Result. None is Invalid Parameter at the batch
// header (the decision is missing, not one of its messages); a second one
// is Invalid Parameter at its own offset.
func checkResult(b *pb.Batch) *pb.Error {
	off, seen := pb.BatchHeaderLen, false
	for _, m := range b.Messages {
		if _, ok := m.(*pb.MsgAssessmentResult); ok {
			if seen {
				return &pb.Error{Code: pb.ErrInvalidParameter, Offset: uint32(off)}
			}
			seen = true
		}
		off += pb.EncodedLen(m)
	}
	if !seen {
		return &pb.Error{Code: pb.ErrInvalidParameter, Offset: 0}
	}
	return nil
}

// checkReferral checks a PB-PDP-Referral (TCG PDP Discovery and Validation)
// before anything dials it: a port other than 0 and, for the FQDN form, a
// host name by RFC 1123 (letters, digits and hyphens in dot-separated
// labels of 1 to 63 bytes, 253 bytes in all), so that no byte the PDP sent
// reaches a log line, a TLS server name or a dial string unchecked.
func checkReferral(m *pb.MsgPDPReferral) error {
	if m.Port == 0 {
		return fmt.Errorf("port 0 for '%s'", logfmt.Escape(m.Host()))
	}
	if m.Vendor == pb.VendorTCG && m.IDType == pb.PDPIDFQDN && !ValidHostName(m.FQDN) {
		return fmt.Errorf("'%s' is not a host name", logfmt.Escape(m.FQDN))
	}
	return nil
}

// ValidHostName reports whether name is a DNS host name (RFC 1123 Section
// 2.1; one trailing dot allowed).
func ValidHostName(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
