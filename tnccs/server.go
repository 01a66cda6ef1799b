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
	conns    map[ConnID]*retryReq
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
// MaxConns waits for a slot in arrival order (first come, first served;
// it leaves the queue if its peer closes) while the connection idle
// longest (waiting for its peer) is closed for it, and TLS plus PT-TLS
// negotiation must finish within HandshakeTimeout.
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if s.fromProxy(nc) {
				stop := context.AfterFunc(waitCtx, func() { nc.SetReadDeadline(time.Now()) })
				pc, err := unproxy(nc, s.handshakeTimeout())
				stop()
				if err != nil {
					log.Info("connection refused: a PROXY protocol peer sent no valid header", "remote", nc.RemoteAddr().String(), "error", err)
					nc.Close()
					return
				}
				nc = pc
			}
			t, ok := adm.source(nc)
			if !ok {
				log.Info("connection refused: too many from its address", "remote", nc.RemoteAddr().String())
				nc.Close()
				return
			}
			cctx, ccancel := context.WithCancel(ctx)
			defer ccancel()
			if ok, reason := adm.admit(waitCtx, t, ccancel); !ok {
				adm.release(t, false)
				adm.refused(nc, reason)
				if reason == RefusedGone {
					log.Debug("connection closed by its peer while waiting for a slot", "remote", nc.RemoteAddr().String())
				}
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

func (s *Server) handshakeTimeout() time.Duration {
	if s.Config.HandshakeTimeout > 0 {
		return s.Config.HandshakeTimeout
	}
	return DefaultHandshakeTimeout
}

func (s *Server) serveConn(ctx context.Context, t *tracked) (*Result, error) {
	nc := net.Conn(t)
	defer nc.Close()
	limit := s.Config.ConnTimeout
	if limit <= 0 {
		limit = 10 * time.Minute
	}
	// The whole connection is bounded: one assessment by ConnTimeout; with
	// re-assessments each of them, and each wait between them by RetryIdle.
	whole, each := limit, time.Duration(0)
	if s.Config.RetryIdle > 0 {
		n := time.Duration(s.Config.maxRetries() + 1)
		whole, each = n*(limit+s.Config.RetryIdle), limit
	}
	ctx, cancel := context.WithTimeout(ctx, whole)
	defer cancel()
	pcfg := s.Config.PTTLS
	if pcfg.Logger == nil {
		pcfg.Logger = s.Config.logger("tls")
	}
	hs := s.handshakeTimeout()
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
	return s.run(ctx, conn, Peer{Identity: conn.Identity(), RemoteAddr: nc.RemoteAddr().String()}, &opts, each)
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
//	a CRETRY after RESULT starts a re-assessment: IMVRestarter.Restart,
//	  then as a CDATA (at most MaxRetries times; beyond, CLOSE)
//	a RequestRetry: SRETRY instead of the next SDATA/RESULT, or at once
//	  after RESULT while waiting (RetryIdle; not for Run's transports)
//
// The limits are Options.Limits, IF-T for EAP's where left at 0 (Serve
// uses PT-TLS's).
func (s *Server) Run(ctx context.Context, conn BatchConn, peer Peer) (*Result, error) {
	return s.run(ctx, conn, peer, &s.Config.Options, 0)
}

func (s *Server) run(ctx context.Context, conn BatchConn, peer Peer, opts *Options, limit time.Duration) (*Result, error) {
	id := ConnID(s.ids.Add(1))
	ss := newSession(true, id, conn, opts)
	ss.res.Peer = peer
	sc := s.track(id)
	ss.log.Info(fmt.Sprintf("assigned TNCCS Connection ID %d", id), "identity", peer.Identity, "remote", peer.RemoteAddr)
	var vc IMVConn
	actx, acancel := assessCtx(ctx, limit)
	defer func() {
		acancel()
		s.untrack(id)
		if vc != nil {
			vc.Close(context.WithoutCancel(ctx))
		}
		ss.log.Info(fmt.Sprintf("removed TNCCS Connection ID %d", id))
	}()
	aw, _ := conn.(awaiter)
	maxRetries := s.Config.maxRetries()
	retries := 0      // re-assessments started, CRETRY and SRETRY
	retrying := false // SRETRY sent: the client's answer restarts the IMVs
	reopened := false // ... and it was sent after a decision
	first := true
	for {
		if ss.state == stateDecided && s.Config.RetryIdle > 0 && aw != nil {
			next, err := s.await(ctx, ss, aw, sc, retries < maxRetries)
			if err != nil {
				return ss.res, err
			}
			acancel()
			actx, acancel = assessCtx(ctx, limit)
			switch next {
			case idleEnd:
				ss.log.Info(fmt.Sprintf("no re-assessment of Connection ID %d within %s, closing it", id, s.Config.RetryIdle))
				_ = ss.sendBatch(actx, pb.BatchCLOSE)
				return ss.res, nil
			case idleRetry:
				retries++
				sc.requested.Store(false)
				ss.log.Info(fmt.Sprintf("requesting a re-assessment of Connection ID %d, sending an SRETRY batch", id))
				if err := ss.sendBatch(actx, pb.BatchSRETRY); err != nil {
					return ss.res, err
				}
				// The decision stands until the client answers: a CLOSE
				// (it declines, or it closed as our SRETRY crossed its
				// CLOSE) ends the connection with it.
				retrying, reopened = true, true
			}
		}
		prev := ss.state
		b, err := ss.recv(actx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ss.res, fmt.Errorf("%w: client closed the transport in state '%s'", ErrClosed, ss.state)
			}
			return ss.res, err
		}
		if b.Type == pb.BatchCLOSE {
			return ss.res, s.closed(ss, b)
		}
		restart := false
		switch {
		case retrying && (b.Type == pb.BatchCRETRY || b.Type == pb.BatchCDATA):
			// the client's answer to our SRETRY
			restart, retrying = true, false
			if reopened {
				ss.res = &Result{ConnID: id, Peer: ss.res.Peer, Reassessment: retries, RetryBy: "server", BatchesReceived: 1}
				reopened = false
			}
		case b.Type == pb.BatchCRETRY:
			if retries >= maxRetries {
				ss.log.Error(fmt.Sprintf("refusing a re-assessment of Connection ID %d: %d re-assessments are the most one connection may have", id, retries))
				_ = ss.sendBatch(actx, pb.BatchCLOSE)
				return ss.res, ErrTooManyRetries
			}
			retries++
			restart = true
			if prev == stateDecided {
				ss.res = &Result{ConnID: id, Peer: ss.res.Peer, Reassessment: retries, RetryBy: "client", BatchesReceived: 1}
				ss.log.Info(fmt.Sprintf("client requested a re-assessment of Connection ID %d", id))
			}
		}
		if ss.res.BatchesReceived > ss.opts.rounds() {
			ss.log.Error(fmt.Sprintf("received %d batches without a decision, giving up", ss.res.BatchesReceived))
			_ = ss.sendFatal(actx, &pb.Error{Code: pb.ErrLocalError})
			return ss.res, ErrTooManyRounds
		}
		if vc == nil {
			for _, m := range b.Messages {
				if lp, ok := m.(*pb.MsgLanguagePreference); ok {
					ss.res.Peer.Language = lp.Languages
				}
			}
			if vc, err = s.Config.IMVs.Open(actx, id, ss.res.Peer, ss.sendPA); err != nil {
				vc = nil
				_ = ss.sendFatal(actx, &pb.Error{Code: pb.ErrLocalError})
				return ss.res, fmt.Errorf("tnccs: opening IMVs for connection %d: %w", id, err)
			}
		} else if restart {
			if r, ok := vc.(IMVRestarter); ok {
				r.Restart(actx)
			}
		}
		for _, m := range b.Messages {
			switch m := m.(type) {
			case *pb.MsgPA:
				ss.log.Debug(fmt.Sprintf("handling PB-PA message type '%s' 0x%06x/0x%08x", paTypeName(m.Vendor, m.Subtype), m.Vendor, m.Subtype), "conn_id", id)
				vc.Receive(actx, PAMessage{Vendor: m.Vendor, Subtype: m.Subtype, Collector: m.Collector,
					Validator: m.Validator, Exclusive: m.Exclusive, Body: m.Body})
			case *pb.MsgLanguagePreference:
				ss.res.Peer.Language = m.Languages
			case *pb.MsgError:
				if ss.noteError(m) {
					_ = ss.sendBatch(actx, pb.BatchCLOSE)
					return ss.res, &RemoteError{Msg: m}
				}
			}
		}
		vc.BatchEnding(actx)
		var extra []pb.Message
		if first && s.Config.PDPReferral != nil {
			extra = append(extra, s.Config.PDPReferral)
		}
		first = false
		if sc.requested.Swap(false) {
			// An IMV asked for a new handshake while this one runs: the
			// SRETRY replaces this turn's batch (RFC 5793 Section 3.2); what
			// the IMVs queued belongs to the old handshake.
			if retries >= maxRetries {
				ss.log.Info(fmt.Sprintf("not requesting a re-assessment of Connection ID %d: %d re-assessments are the most one connection may have", id, retries))
			} else {
				retries++
				retrying = true
				ss.take(int(^uint(0) >> 1))
				ss.log.Info(fmt.Sprintf("requesting a re-assessment of Connection ID %d, sending an SRETRY batch", id))
				if err := ss.sendBatch(actx, pb.BatchSRETRY, extra...); err != nil {
					return ss.res, err
				}
				continue
			}
		}
		if ss.queued() > 0 {
			err = ss.sendBatch(actx, pb.BatchSDATA, extra...)
		} else {
			err = s.sendResult(actx, ss, vc, extra)
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
