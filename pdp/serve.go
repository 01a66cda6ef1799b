package pdp

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

// Serve accepts PT-TLS clients until Close is called or ctx is done; each
// client runs in its own goroutine (tnccs server role), so a misbehaving or
// vanished client affects no other: a client silent for IdleTimeout is
// dropped and its IMV state released. Serve returns nil after Close or ctx.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.wg.Add(1)
	s.serving = true
	s.mu.Unlock()
	defer s.wg.Done()
	ctx, stop := mergeDone(ctx, s.ctx)
	defer stop()

	env := &imvEnv{store: s.store, policy: s.policy.Load(), maxMsg: s.cfg.MaxMessageSize,
		osLog: s.cfg.Logger.Named("imv.os"), attLog: s.cfg.Logger.Named("imv.attestation"),
		swLog: s.cfg.Logger.Named("imv.swima"),
		log:   s.log, now: time.Now, retry: func(id tnccs.ConnID) bool { return s.RequestReassessment(uint32(id)) }}
	set := &imvSet{env: env, policy: &s.policy, conns: map[tnccs.ConnID]*conn{}}
	env.decidedPeers = set.decidedPeers
	s.mu.Lock()
	s.set = set
	s.mu.Unlock()
	pcfg := pttls.ServerConfig{Certificates: s.cfg.Certificates, ClientCAs: s.cfg.ClientCAs,
		Timeout: s.cfg.IdleTimeout, Logger: s.cfg.Logger.Named("tls"), Throttle: &pttls.Throttle{}}
	switch {
	case len(s.cfg.Users) > 0:
		users := s.cfg.Users
		pcfg.VerifyPlain = func(user, password string) bool {
			want, ok := users[user]
			return ok && subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1
		}
	case s.cfg.ClientCAs == nil:
		pcfg.AllowAnonymous = true
	}
	scfg := tnccs.ServerConfig{PTTLS: pcfg, IMVs: set, MaxConns: s.cfg.MaxConns,
		HandshakeTimeout: s.cfg.HandshakeTimeout, MaxConnsPerSource: s.cfg.MaxConnsPerSource, ProxyFrom: s.cfg.ProxyFrom,
		OnRefused: s.cfg.OnRefused, Options: tnccs.Options{Logger: s.cfg.Logger},
		RetryIdle: s.cfg.RetryIdle, RetryAfter: s.cfg.RetryAfter, MaxRetries: s.cfg.MaxRetries}
	if r := s.cfg.Referral; r != nil {
		scfg.PDPReferral = &pb.MsgPDPReferral{Vendor: pb.VendorTCG, IDType: pb.PDPIDFQDN,
			Protocol: pb.PDPProtocolPTTLS, Port: r.Port, FQDN: r.Host}
	}
	scfg.OnResult = func(res *tnccs.Result, err error) {
		// Until a decision exists the verdict is "don't know" / denied, never
		// the zero value (which would read as compliant).
		o := Outcome{Err: err, End: time.Now(), Verdict: Verdict{Result: DontKnow,
			Recommendation: NoRecommendation, Access: AccessDenied}}
		if res != nil {
			o.ConnID, o.Peer, o.User, o.Decided = uint32(res.ConnID), res.Peer.RemoteAddr, res.Peer.Identity, res.Decided
			if c := set.take(res.ConnID); c != nil {
				o.Start = c.start
				if v := c.result(); v != nil {
					o.Verdict = *v
				}
			}
		}
		if o.Decided {
			s.log.Info("connection assessed", "conn_id", o.ConnID, "peer", o.Peer,
				"result", o.Verdict.Result.String(), "access", o.Verdict.Access.String())
		}
		s.record(o)
	}
	srv := &tnccs.Server{Config: scfg}
	s.mu.Lock()
	s.tnc = srv
	draining := s.draining
	s.mu.Unlock()
	if draining {
		srv.Drain()
	}
	s.log.Info("PDP listening", "addr", s.ln.Addr().String())
	if err := srv.Serve(ctx, s.ln); err != nil && s.ctx.Err() == nil {
		return fmt.Errorf("pdp: %w", err)
	}
	return nil
}

// RequestReassessment asks the client of the running PB-TNC connection
// connID for a new assessment within its session (RFC 5793 Section 3.2):
// an SRETRY batch at the PDP's next turn, or at once when the connection
// waits after its decision (Config.RetryIdle). The IMVs start over with
// the client's answer and decide anew; each decision is recorded in the
// store. It reports whether such a connection is running. An IMV asks for
// its own connection through conn.requestReassessment. Clients that close
// right after the RESULT (strongSwan's pt-tls-client, imchost run without
// keep_session) only see an SRETRY requested during an assessment.
func (s *Server) RequestReassessment(connID uint32) bool {
	s.mu.Lock()
	srv := s.tnc
	s.mu.Unlock()
	return srv != nil && srv.RequestRetry(tnccs.ConnID(connID))
}

// mergeDone returns a context done when either a or b is.
func mergeDone(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// imvSet implements tnccs.IMVs for a Server: one conn per PB-TNC
// connection, kept until its outcome is recorded.
type imvSet struct {
	env    *imvEnv
	policy *atomic.Pointer[Policy] // the policy a new connection gets
	mu     sync.Mutex
	conns  map[tnccs.ConnID]*conn
}

// Open implements tnccs.IMVs.
func (s *imvSet) Open(ctx context.Context, id tnccs.ConnID, peer tnccs.Peer, send tnccs.SendFunc) (tnccs.IMVConn, error) {
	// Each connection keeps the policy it started with; a reload
	// (Server.SetPolicy) applies to the connections after it.
	env := *s.env
	env.policy = s.policy.Load()
	c := newConn(&env, id, peer, send)
	s.mu.Lock()
	s.conns[id] = c
	s.mu.Unlock()
	return c, nil
}

func (s *imvSet) take(id tnccs.ConnID) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conns[id]
	delete(s.conns, id)
	return c
}

// decidedPeers lists the connections other than except whose OS IMC
// reported device and that wait after a decision (a kept session).
func (s *imvSet) decidedPeers(device string, except tnccs.ConnID) []tnccs.ConnID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []tnccs.ConnID
	for id, c := range s.conns {
		if d := c.device.Load(); id != except && d != nil && *d == device && c.decided.Load() {
			ids = append(ids, id)
		}
	}
	return ids
}

// open is how many connections' IMV state is held (for tests).
func (s *imvSet) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
