package tnccs

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tnccs/pb"
)

// session is the machinery both roles share: the PB-TNC state, the queue
// of outgoing messages, batch building within the limits, parsing with the
// PB-Error reply, the logs and the observer.
type session struct {
	server bool
	id     ConnID
	conn   BatchConn
	log    hclog.Logger
	opts   *Options
	state  pbState
	res    *Result

	mu    sync.Mutex
	queue []pb.Message
}

func newSession(server bool, id ConnID, conn BatchConn, opts *Options) *session {
	return &session{server: server, id: id, conn: conn, opts: opts, log: opts.logger("tnc"),
		res: &Result{ConnID: id}}
}

func (s *session) role() string {
	if s.server {
		return "server"
	}
	return "client"
}

// sendPA is the SendFunc handed to IMCs/IMVs: it validates and queues.
func (s *session) sendPA(m PAMessage) error {
	switch {
	case m.Vendor >= 0xffffff:
		return fmt.Errorf("tnccs: PA vendor 0x%x is reserved or exceeds 24 bits", m.Vendor)
	case m.Subtype == 0xffffffff:
		return fmt.Errorf("tnccs: PA subtype 0x%x is reserved", m.Subtype)
	case len(m.Body) > s.maxPA():
		return fmt.Errorf("tnccs: PA message of %d bytes exceeds the limit of %d bytes", len(m.Body), s.maxPA())
	}
	s.log.Debug(fmt.Sprintf("creating PB-PA message type '%s' 0x%06x/0x%08x", paTypeName(m.Vendor, m.Subtype), m.Vendor, m.Subtype))
	s.enqueue(&pb.MsgPA{Exclusive: m.Exclusive, Vendor: m.Vendor, Subtype: m.Subtype,
		Collector: m.Collector, Validator: m.Validator, Body: append([]byte{}, m.Body...)})
	return nil
}

// maxPA is the largest PA message that fits both limits (a batch must hold
// at least one PB-PA).
func (s *session) maxPA() int {
	return min(s.opts.Limits.Message(), s.opts.Limits.Batch()-pb.BatchHeaderLen-pb.MsgHeaderLen-pb.PAHeaderLen)
}

func (s *session) enqueue(m pb.Message) {
	s.mu.Lock()
	s.queue = append(s.queue, m)
	s.mu.Unlock()
}

func (s *session) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// take removes from the queue, in order, the messages that fit into a
// batch next to the ones already given (extra); the rest stays queued.
func (s *session) take(room int) []pb.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(s.queue) {
		l := pb.EncodedLen(s.queue[n])
		if l > room {
			break
		}
		room -= l
		n++
	}
	out := s.queue[:n:n]
	s.queue = append([]pb.Message(nil), s.queue[n:]...)
	return out
}

func (s *session) setState(to pbState) {
	if to != s.state {
		s.log.Debug(fmt.Sprintf("PB-TNC state transition from '%s' to '%s'", s.state, to), "conn_id", s.id)
	}
	s.state = to
}

// sendBatch sends a batch of type bt holding first and as many queued
// messages as fit.
func (s *session) sendBatch(ctx context.Context, bt pb.BatchType, first ...pb.Message) error {
	if err := ctx.Err(); err != nil {
		// Given up (a killed client, a stopped server): say nothing more.
		return fmt.Errorf("tnccs: not sending the %s batch: %w", bt, err)
	}
	next, ok := transition(s.server, true, s.state, bt)
	if !ok {
		return fmt.Errorf("tnccs: sending a %s batch in state '%s' is not allowed", bt, s.state)
	}
	room := s.opts.Limits.Batch() - pb.BatchHeaderLen
	msgs := make([]pb.Message, 0, len(first))
	for _, m := range first {
		room -= pb.EncodedLen(m)
		msgs = append(msgs, m)
	}
	if room < 0 {
		return fmt.Errorf("tnccs: %s batch exceeds the limit of %d bytes", bt, s.opts.Limits.Batch())
	}
	if bt != pb.BatchCLOSE {
		msgs = append(msgs, s.take(room)...)
	}
	s.log.Debug(fmt.Sprintf("TNC %s is handling outbound connection", s.role()), "conn_id", s.id)
	s.setState(next)
	b := &pb.Batch{Type: bt, FromServer: s.server, Messages: msgs}
	s.log.Debug(fmt.Sprintf("creating PB-TNC %s batch", bt), "conn_id", s.id)
	for _, m := range msgs {
		s.log.Debug(fmt.Sprintf("adding %s message", m.Type()), "conn_id", s.id)
	}
	out, err := b.Marshal()
	if err != nil {
		return fmt.Errorf("tnccs: %w", err)
	}
	if len(msgs) == 0 && bt == pb.BatchCDATA {
		s.log.Debug("no client data to send", "conn_id", s.id)
	}
	s.log.Debug(fmt.Sprintf("sending PB-TNC %s batch (%d bytes) for Connection ID %d", bt, len(out), s.id))
	if s.log.IsTrace() {
		s.log.Trace("sent batch", "conn_id", s.id, "hex", hex.EncodeToString(out))
	}
	if s.opts.OnBatch != nil {
		s.opts.OnBatch(true, b, len(out))
	}
	s.res.BatchesSent++
	if err := s.conn.WriteBatch(ctx, out); err != nil {
		return fmt.Errorf("tnccs: sending %s batch: %w", bt, err)
	}
	return nil
}

// sendFatal reports a local protocol error to the peer in a CLOSE batch and
// returns it as *LocalError.
func (s *session) sendFatal(ctx context.Context, e *pb.Error) error {
	s.log.Error(fmt.Sprintf("fatal PB-TNC error '%s' in batch from the peer, closing", e.Code), "conn_id", s.id, "error", e)
	if err := s.sendBatch(ctx, pb.BatchCLOSE, pb.NewErrorMsg(e)); err != nil {
		s.log.Debug("could not send CLOSE batch", "error", err)
	}
	return &LocalError{Err: e}
}

// recv reads, parses and checks one batch against the state machine. A
// faulty batch is answered with CLOSE{PB-Error} and yields *LocalError.
func (s *session) recv(ctx context.Context) (*pb.Batch, error) {
	raw, err := s.conn.ReadBatch(ctx)
	if err != nil {
		return nil, err
	}
	s.res.BatchesReceived++
	s.log.Debug(fmt.Sprintf("received TNCCS batch (%d bytes)", len(raw)), "conn_id", s.id)
	if s.log.IsTrace() {
		s.log.Trace("received batch", "conn_id", s.id, "hex", hex.EncodeToString(raw))
	}
	s.log.Debug(fmt.Sprintf("TNC %s is handling inbound connection", s.role()), "conn_id", s.id)
	recv := pb.SideClient
	if s.server {
		recv = pb.SideServer
	}
	b, err := pb.ParseBatch(raw, pb.ParseOptions{Limits: s.opts.Limits, Receiver: recv})
	if err != nil {
		pe := &pb.Error{Code: pb.ErrLocalError}
		errors.As(err, &pe) // ParseBatch returns only *pb.Error
		return nil, s.sendFatal(ctx, pe)
	}
	if s.opts.OnBatch != nil {
		s.opts.OnBatch(false, b, len(raw))
	}
	s.log.Debug(fmt.Sprintf("processing PB-TNC %s batch for Connection ID %d", b.Type, s.id))
	next, ok := transition(s.server, false, s.state, b.Type)
	if !ok {
		s.log.Error(fmt.Sprintf("unexpected PB-TNC %s batch in state '%s'", b.Type, s.state), "conn_id", s.id)
		return nil, s.sendFatal(ctx, &pb.Error{Code: pb.ErrUnexpectedBatchType})
	}
	s.setState(next)
	for _, m := range b.Messages {
		s.log.Debug(fmt.Sprintf("processing %s message (%d bytes)", m.Type(), pb.EncodedLen(m)), "conn_id", s.id)
	}
	return b, nil
}

// noteError records and logs a received PB-Error; it reports whether it is
// fatal.
func (s *session) noteError(m *pb.MsgError) bool {
	s.res.Errors = append(s.res.Errors, m)
	s.log.Error(fmt.Sprintf("received %s", m), "conn_id", s.id)
	return m.Fatal
}

// paTypeName is the PA message type's name from abi's table ("IETF/Operating
// System", RFC 5792 §4.4), or "unknown" when its vendor or subtype has none,
// as strongSwan's log shows it.
func paTypeName(vendor, subtype uint32) string {
	t := abi.MsgType{Vendor: vendor, Subtype: subtype}
	if abi.PENName(vendor) == "" || t.SubtypeName() == "" {
		return "unknown"
	}
	return t.Name()
}
