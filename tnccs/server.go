package tnccs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

// Server is the PB-TNC server (TNCS) behind a PT-TLS listener: one
// goroutine and one assessment per TCP connection, connection IDs from 1.
type Server struct {
	// Config is read when Serve starts and must not change afterwards.
	Config ServerConfig
	ids    atomic.Uint32

	mu       sync.Mutex
	adm      *admission
	ln       net.Listener
	draining chan struct{} // closed by Drain
}

// Active is the number of connections running (admitted, not yet ended).
func (s *Server) Active() int {
	s.mu.Lock()
	adm := s.adm
	s.mu.Unlock()
	if adm == nil {
		return 0
	}
	return int(adm.active.Load())
}

// Drain stops accepting: the listener closes, connections not yet
// admitted are refused, and Serve returns once the running ones have
// ended on their own (cancel Serve's ctx to end them sooner).
func (s *Server) Drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining == nil {
		s.draining = make(chan struct{})
	}
	select {
	case <-s.draining:
		return
	default:
	}
	close(s.draining)
	if s.ln != nil {
		s.ln.Close()
	}
}

// Serve accepts connections on ln until ctx is cancelled, then closes ln,
// ends the running connections (their I/O is cancelled) and returns nil
// once every connection goroutine has finished. After Drain it returns
// nil once the running connections have finished. Other accept errors are
// returned after the same cleanup.
//
// Admission (see ServerConfig): at most MaxConns connections run, at most
// MaxConnsPerSource from one IP address are accepted, a connection beyond
// MaxConns waits for a slot while the connection idle longest (waiting
// for its peer) is closed for it, and TLS plus PT-TLS negotiation must
// finish within HandshakeTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.Config.IMVs == nil {
		return errors.New("tnccs: server has no IMVs")
	}
	maxConns := s.Config.MaxConns
	if maxConns <= 0 {
		maxConns = 64
	}
	perSource := s.Config.MaxConnsPerSource
	if perSource == 0 {
		perSource = DefaultMaxConnsPerSource
	}
	adm := newAdmission(maxConns, perSource, s.Config.OnRefused)
	log := s.Config.logger("tnc")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.adm, s.ln = adm, ln
	if s.draining == nil {
		s.draining = make(chan struct{})
	}
	draining := s.draining
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	// Connections not yet admitted end at Drain; admitted ones only with ctx.
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	go func() {
		select {
		case <-draining:
			stopWaiting()
		case <-waitCtx.Done():
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	// Accepted connections (running or waiting for a slot) are bounded
	// too: beyond twice MaxConns new ones stay in the listen backlog.
	sem := make(chan struct{}, 2*maxConns)
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		case <-draining:
			return nil
		}
		nc, err := ln.Accept()
		if err != nil {
			<-sem
			select {
			case <-draining:
				return nil
			default:
			}
			if ctx.Err() != nil {
				return nil
			}
			cancel()
			return fmt.Errorf("tnccs: accept: %w", err)
		}
		t, ok := adm.source(nc)
		if !ok {
			log.Info("connection refused: too many from its address", "remote", nc.RemoteAddr().String())
			nc.Close()
			<-sem
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, ccancel := context.WithCancel(ctx)
			defer ccancel()
			if !adm.admit(waitCtx, t, ccancel) {
				adm.release(t, false)
				adm.refused(nc, RefusedShutdown)
				nc.Close()
				return
			}
			res, err := s.serveConn(cctx, t)
			adm.release(t, true)
			if err != nil {
				log.Info("PB-TNC connection ended with an error", "remote", nc.RemoteAddr().String(), "error", err)
			}
			if s.Config.OnResult != nil {
				s.Config.OnResult(res, err)
			}
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, t *tracked) (*Result, error) {
	nc := net.Conn(t)
	defer nc.Close()
	limit := s.Config.ConnTimeout
	if limit <= 0 {
		limit = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	pcfg := s.Config.PTTLS
	if pcfg.Logger == nil {
		pcfg.Logger = s.Config.logger("tls")
	}
	hs := s.Config.HandshakeTimeout
	if hs <= 0 {
		hs = DefaultHandshakeTimeout
	}
	hctx, hcancel := context.WithTimeout(ctx, hs)
	conn, err := pttls.Server(hctx, nc, pcfg)
	hcancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%w (handshake deadline %s)", err, hs)
		}
		return nil, fmt.Errorf("tnccs: PT-TLS with %s: %w", nc.RemoteAddr(), err)
	}
	t.authed.Store(true)
	defer conn.Close()
	opts := s.Config.Options
	opts.Limits = opts.Limits.Over(pb.PTTLSLimits) // PT-TLS's, as Client.Assess
	return s.run(ctx, conn, Peer{Identity: conn.Identity(), RemoteAddr: nc.RemoteAddr().String()}, &opts)
}

// Run runs the PB-TNC server over an established transport:
//
//	first CDATA: [Language-Preference read], IMVs.Open
//	each CDATA/CRETRY: Receive per PB-PA, BatchEnding, then
//	  queued messages -> SDATA (PDP-Referral first in the first batch)
//	  nothing queued  -> Decide -> RESULT{PB-PA..., Assessment-Result,
//	                     Access-Recommendation, Reason-String...,
//	                     Remediation-Parameters}
//	the client's CLOSE after RESULT is the normal end; Close at the end.
//
// The limits are Options.Limits, IF-T for EAP's where left at 0 (Serve
// uses PT-TLS's).
func (s *Server) Run(ctx context.Context, conn BatchConn, peer Peer) (*Result, error) {
	return s.run(ctx, conn, peer, &s.Config.Options)
}

func (s *Server) run(ctx context.Context, conn BatchConn, peer Peer, opts *Options) (*Result, error) {
	id := ConnID(s.ids.Add(1))
	ss := newSession(true, id, conn, opts)
	ss.res.Peer = peer
	ss.log.Info(fmt.Sprintf("assigned TNCCS Connection ID %d", id), "identity", peer.Identity, "remote", peer.RemoteAddr)
	var vc IMVConn
	defer func() {
		if vc != nil {
			vc.Close(context.WithoutCancel(ctx))
		}
		ss.log.Info(fmt.Sprintf("removed TNCCS Connection ID %d", id))
	}()
	first := true
	for {
		b, err := ss.recv(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ss.res, fmt.Errorf("%w: client closed the transport in state '%s'", ErrClosed, ss.state)
			}
			return ss.res, err
		}
		if b.Type == pb.BatchCLOSE {
			return ss.res, s.closed(ss, b)
		}
		if ss.res.BatchesReceived > ss.opts.rounds() {
			ss.log.Error(fmt.Sprintf("received %d batches without a decision, giving up", ss.res.BatchesReceived))
			_ = ss.sendFatal(ctx, &pb.Error{Code: pb.ErrLocalError})
			return ss.res, ErrTooManyRounds
		}
		if vc == nil {
			for _, m := range b.Messages {
				if lp, ok := m.(*pb.MsgLanguagePreference); ok {
					ss.res.Peer.Language = lp.Languages
				}
			}
			if vc, err = s.Config.IMVs.Open(ctx, id, ss.res.Peer, ss.sendPA); err != nil {
				vc = nil
				_ = ss.sendFatal(ctx, &pb.Error{Code: pb.ErrLocalError})
				return ss.res, fmt.Errorf("tnccs: opening IMVs for connection %d: %w", id, err)
			}
		}
		for _, m := range b.Messages {
			switch m := m.(type) {
			case *pb.MsgPA:
				ss.log.Debug(fmt.Sprintf("handling PB-PA message type '%s' 0x%06x/0x%08x", paTypeName(m.Vendor, m.Subtype), m.Vendor, m.Subtype), "conn_id", id)
				vc.Receive(ctx, PAMessage{Vendor: m.Vendor, Subtype: m.Subtype, Collector: m.Collector,
					Validator: m.Validator, Exclusive: m.Exclusive, Body: m.Body})
			case *pb.MsgLanguagePreference:
				ss.res.Peer.Language = m.Languages
			case *pb.MsgError:
				if ss.noteError(m) {
					_ = ss.sendBatch(ctx, pb.BatchCLOSE)
					return ss.res, &RemoteError{Msg: m}
				}
			}
		}
		vc.BatchEnding(ctx)
		var extra []pb.Message
		if first && s.Config.PDPReferral != nil {
			extra = append(extra, s.Config.PDPReferral)
		}
		first = false
		if ss.queued() > 0 {
			err = ss.sendBatch(ctx, pb.BatchSDATA, extra...)
		} else {
			err = s.sendResult(ctx, ss, vc, extra)
		}
		if err != nil {
			return ss.res, err
		}
	}
}

// sendResult asks the IMVs for their decision and sends the RESULT batch.
func (s *Server) sendResult(ctx context.Context, ss *session, vc IMVConn, extra []pb.Message) error {
	d := vc.Decide(ctx)
	if d.Recommendation < pb.RecommendationAllowed || d.Recommendation > pb.RecommendationQuarantined {
		d.Recommendation = pb.RecommendationDenied
	}
	ss.res.Decided = true
	ss.res.AssessmentResult = d.Result
	ss.res.Recommendation = d.Recommendation
	ss.res.Reasons = d.Reasons
	ss.res.Remediation = d.Remediation
	ss.log.Info(fmt.Sprintf("PB-TNC assessment result is '%s'", d.Result), "conn_id", ss.id)
	ss.log.Info(fmt.Sprintf("PB-TNC access recommendation is '%s'", d.Recommendation), "conn_id", ss.id)
	// The IMVs' final PA messages go first, then the verdict.
	room := ss.opts.Limits.Batch() - pb.BatchHeaderLen
	tail := []pb.Message{
		&pb.MsgAssessmentResult{Result: d.Result},
		&pb.MsgAccessRecommendation{Recommendation: d.Recommendation},
	}
	for _, r := range d.Reasons {
		tail = append(tail, &pb.MsgReasonString{Text: r.Text, Lang: r.Lang})
	}
	if r := d.Remediation; r != nil {
		m := &pb.MsgRemediationParameters{Vendor: pb.VendorIETF, ParamType: pb.RemediationString, Text: r.Text, Lang: r.Lang}
		if r.URI != "" {
			m = &pb.MsgRemediationParameters{Vendor: pb.VendorIETF, ParamType: pb.RemediationURI, URI: r.URI}
		}
		tail = append(tail, m)
	}
	for _, m := range append(extra, tail...) {
		room -= pb.EncodedLen(m)
	}
	msgs := append(extra, ss.take(room)...)
	if n := ss.queued(); n > 0 {
		ss.log.Error(fmt.Sprintf("%d PA messages do not fit into the RESULT batch and are dropped", n), "conn_id", ss.id)
		ss.mu.Lock()
		ss.queue = nil
		ss.mu.Unlock()
	}
	// sendBatch adds no queued messages now that the queue is empty.
	return ss.sendBatch(ctx, pb.BatchRESULT, append(msgs, tail...)...)
}

// closed handles a CLOSE batch from the client.
func (s *Server) closed(ss *session, b *pb.Batch) error {
	var first *pb.MsgError
	for _, m := range b.Messages {
		if e, ok := m.(*pb.MsgError); ok {
			ss.noteError(e)
			if first == nil {
				first = e
			}
		}
	}
	switch {
	case first != nil:
		return &RemoteError{Msg: first}
	case ss.res.Decided:
		return nil
	}
	return fmt.Errorf("%w: client sent CLOSE", ErrClosed)
}
