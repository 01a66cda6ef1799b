package tnccs

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

// Re-assessment within a PB-TNC connection (RFC 5793 Section 3.2): after
// the RESULT the connection may stay open in state Decided; the client
// starts another assessment with a CRETRY batch, the server asks for one
// with an SRETRY batch. Either way the IMCs see the connection go back to
// Handshake (TNC IF-IMC connection state change) and begin a new handshake
// on the same connection ID, and the IMVs decide anew.

// DefaultMaxServerRetries is ClientConfig.MaxServerRetries when 0.
const DefaultMaxServerRetries = 4

// ErrSessionEnded reports that the PDP ended a PB-TNC connection kept open
// for re-assessment (a CLOSE batch or a closed transport, while waiting or
// in answer to our CRETRY): the next assessment needs a new PT-TLS session.
var ErrSessionEnded = errors.New("tnccs: the PDP ended the PB-TNC session")

// DefaultMaxRetries is ServerConfig.MaxRetries when 0.
const DefaultMaxRetries = 16

func (c *ClientConfig) maxServerRetries() int {
	if c.MaxServerRetries <= 0 {
		return DefaultMaxServerRetries
	}
	return c.MaxServerRetries
}

// Session is a PB-TNC connection over its own PT-TLS session that stays
// open after each decision, so that the PDP can ask for a re-assessment
// (SRETRY) and the client can start one (CRETRY) without a new TLS
// handshake. Client.Open starts it with the first assessment; Wait,
// Reassess and Close drive it, from one goroutine.
type Session struct {
	c        *Client
	s        *session
	ic       IMCConn
	conn     *pttls.Conn // nil for the one-shot conversations of Run
	n        int         // re-assessments started
	sretries int         // SRETRYs after a decision since our last CRETRY
	pending  bool        // Wait saw the PDP speak
	ended    bool
}

// Open dials cfg.Addr and runs the first assessment like Assess, but
// leaves the connection open in state Decided after the RESULT. When the
// assessment fails the connection is closed and the Session is nil; the
// Result (what was learnt so far, nil before PB-TNC) comes with the error
// as from Assess.
func (c *Client) Open(ctx context.Context) (*Session, *Result, error) {
	conn, opts, err := c.dial(ctx)
	if err != nil {
		return nil, nil, err
	}
	se, err := c.start(ctx, conn, opts)
	if err != nil {
		conn.Close()
		return nil, se.s.res, err
	}
	se.conn = conn
	res, err := se.converse(ctx, true)
	if err != nil {
		se.release(ctx)
		conn.Close()
		return nil, res, err
	}
	return se, res, nil
}

// ConnID is the session's PB-TNC connection ID.
func (se *Session) ConnID() ConnID { return se.s.id }

// Wait waits until the time given for the PDP to speak. It reports true
// when it did (an SRETRY, or the session's end: Reassess reads which),
// false when the time came first; ctx's error when ctx ended the wait.
func (se *Session) Wait(ctx context.Context, until time.Time) (bool, error) {
	if se.ended || se.pending {
		return true, nil
	}
	ok, err := se.conn.Await(ctx, until)
	if ok {
		se.pending = true
	}
	return ok, err
}

// Reassess runs the next assessment on the session: the one the PDP asked
// for when Wait reported that it spoke, else one of ours (CRETRY: the IMCs
// go back to Handshake and begin again; their messages travel in the
// CRETRY batch). The connection stays open after the RESULT.
//
// ErrSessionEnded means the PDP ended the session instead (CLOSE, a closed
// transport, or a CRETRY answered by CLOSE), ErrTooManyRetries that the
// PDP asked for too many re-assessments: either way the session is over
// and Close only releases it.
func (se *Session) Reassess(ctx context.Context) (*Result, error) {
	if se.ended {
		return nil, ErrSessionEnded
	}
	s := se.s
	se.n++
	s.res = &Result{ConnID: s.id, Reassessment: se.n, RetryBy: "server"}
	if !se.pending {
		s.res.RetryBy = "client"
		se.sretries = 0
		s.log.Info(fmt.Sprintf("re-assessing Connection ID %d, sending a CRETRY batch", s.id))
		se.ic.ChangeState(ctx, abi.ConnHandshake)
		se.ic.BeginHandshake(ctx)
		if err := s.sendBatch(ctx, pb.BatchCRETRY); err != nil {
			if ctx.Err() == nil {
				se.ended = true
				return s.res, fmt.Errorf("%w: %w", ErrSessionEnded, err)
			}
			return s.res, err
		}
	}
	se.pending = false
	res, err := se.converse(ctx, true)
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
	case errors.Is(err, ErrClosed) && res.BatchesReceived <= 1,
		!res.Decided && res.BatchesReceived == 0 && transportError(err):
		se.ended = true
		return res, fmt.Errorf("%w: %w", ErrSessionEnded, err)
	}
	se.ended = true
	return res, err
}

// transportError reports an error of the transport rather than of PB-TNC.
func transportError(err error) bool {
	var le *LocalError
	var re *RemoteError
	return !errors.As(err, &le) && !errors.As(err, &re) &&
		!errors.Is(err, ErrTooManyRounds) && !errors.Is(err, ErrTooManyRetries)
}

// Close ends the session: a CLOSE batch when it is still open (the
// server's transport close is the normal end), then the IMCs and the
// transport are released.
func (se *Session) Close(ctx context.Context) {
	if !se.ended && se.s.state != stateEnd {
		if err := se.s.sendBatch(ctx, pb.BatchCLOSE); err == nil {
			se.c.awaitClose(ctx, se.s)
		}
	}
	se.ended = true
	se.release(ctx)
	se.conn.Close()
}

// IMVRestarter is implemented by an IMVConn whose IMVs can start over on
// the same connection. The server calls Restart when a re-assessment
// begins (the client's CRETRY, or its answer to our SRETRY), before the
// batch's messages are delivered: the IMVs see the connection go back to
// Handshake (TNC IF-IMV), forget the last decision and evaluate the new
// handshake afresh. Without it the IMVs receive the new messages on top of
// what they had.
type IMVRestarter interface {
	Restart(ctx context.Context)
}

// awaiter is a transport that can wait for the peer without reading
// (*pttls.Conn): a server needs it to wait after a decision while it may
// itself send an SRETRY.
type awaiter interface {
	Await(ctx context.Context, until time.Time) (bool, error)
}

// retryReq is a re-assessment requested of a running server connection.
type retryReq struct {
	requested atomic.Bool
	wake      chan struct{} // one token: a waiting connection wakes up
}

func (c *ServerConfig) maxRetries() int {
	switch {
	case c.MaxRetries < 0:
		return 0
	case c.MaxRetries == 0:
		return DefaultMaxRetries
	}
	return c.MaxRetries
}

// RequestRetry asks connection id for a re-assessment (RFC 5793 Section
// 3.2): an SRETRY batch at the server's next turn when an assessment is
// under way (instead of its SDATA or RESULT), at once when the connection
// waits after its decision (ServerConfig.RetryIdle). The IMVs start over
// with the client's answer (IMVRestarter). It reports whether the
// connection is running; a connection that has had MaxRetries
// re-assessments ignores the request (logged). Safe for concurrent use,
// from an IMV's own goroutine too.
func (s *Server) RequestRetry(id ConnID) bool {
	s.mu.Lock()
	r := s.conns[id]
	s.mu.Unlock()
	if r == nil {
		return false
	}
	r.requested.Store(true)
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return true
}

func (s *Server) track(id ConnID) *retryReq {
	r := &retryReq{wake: make(chan struct{}, 1)}
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[ConnID]*retryReq{}
	}
	s.conns[id] = r
	s.mu.Unlock()
	return r
}

func (s *Server) untrack(id ConnID) {
	s.mu.Lock()
	delete(s.conns, id)
	s.mu.Unlock()
}

// assessCtx bounds one assessment by limit (none when 0).
func assessCtx(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	if limit <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, limit)
}

// What a decided server connection does after waiting.
const (
	idleClient = iota // the client sent something: read it
	idleRetry         // send an SRETRY
	idleEnd           // RetryIdle passed: close
)

// await waits after a decision for the client's next batch, a retry
// request (RequestRetry, or RetryAfter by policy) when mayRetry, or the
// end of RetryIdle.
func (s *Server) await(ctx context.Context, ss *session, aw awaiter, r *retryReq, mayRetry bool) (int, error) {
	decided := time.Now()
	end := decided.Add(s.Config.RetryIdle)
	var policy time.Time
	if mayRetry && s.Config.RetryAfter > 0 && s.Config.RetryAfter < s.Config.RetryIdle {
		policy = decided.Add(s.Config.RetryAfter)
	}
	for {
		if r.requested.Load() {
			if mayRetry {
				return idleRetry, nil
			}
			r.requested.Store(false)
			ss.log.Info(fmt.Sprintf("not requesting a re-assessment of Connection ID %d: it had the most one connection may have", ss.id))
		}
		until := end
		if !policy.IsZero() && policy.Before(until) {
			until = policy
		}
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			select {
			case <-r.wake:
				cancel()
			case <-done:
			}
		}()
		ok, err := aw.Await(wctx, until)
		close(done)
		cancel()
		now := time.Now()
		switch {
		case ok:
			return idleClient, nil
		case ctx.Err() != nil:
			return 0, fmt.Errorf("tnccs: connection %d abandoned in state '%s': %w", ss.id, ss.state, ctx.Err())
		case err != nil: // woken by a request
		case !policy.IsZero() && !now.Before(policy):
			return idleRetry, nil
		case !now.Before(end):
			return idleEnd, nil
		}
	}
}
