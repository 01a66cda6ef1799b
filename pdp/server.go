package pdp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/tnccs"
)

// IMV IDs, as strongSwan numbers its IMVs in load order (and as in the
// recorded exchange).
const (
	OSIMVID          uint16 = 1
	AttestationIMVID uint16 = 2
)

// Referral is a PB-PDP-Referral target: where the PDP can be reached over
// PT-TLS for later re-assessment.
type Referral struct {
	Host string // FQDN
	Port uint16 // PT-TLS port, normally 271
}

// Config configures a Server.
type Config struct {
	// Addr is the listen address ("127.0.0.1:0", ":271"); ignored when
	// Listener is set.
	Addr string
	// Listener, when set, is used instead of listening on Addr.
	Listener net.Listener
	// Certificates is the server's TLS certificate chain and key.
	Certificates []tls.Certificate
	// Users holds SASL PLAIN credentials (user → password). With neither
	// Users nor ClientCAs every client is accepted without authentication.
	Users map[string]string
	// ClientCAs authenticates clients by TLS client certificate.
	ClientCAs *x509.CertPool
	// DBPath is the database: a SQLite file (":memory:" or "" for a
	// private in-memory database) or a PostgreSQL URL (postgres://...);
	// see OpenStore. Ignored when Store is set.
	DBPath string
	// Store, when set, is used instead of opening DBPath; the Server does
	// not close it.
	Store Store
	// Policy is what the IMVs enforce; see DefaultPolicy.
	Policy Policy
	// Referral, when set, makes the server send a PB-PDP-Referral in its
	// first batch.
	Referral *Referral
	// MaxMessageSize is the maximum PA-TNC message size the IMVs may send
	// (default 2 097 104, strongSwan's PT-TLS value); the segmentation
	// contract offers MaxMessageSize-24.
	MaxMessageSize int
	// MaxConns bounds concurrent client connections (64 when 0); further
	// clients wait in the listen backlog.
	MaxConns int
	// IdleTimeout closes a connection whose client sends nothing for this
	// long (default 60 s).
	IdleTimeout time.Duration
	// RetryIdle keeps a connection open this long after its decision for
	// a re-assessment within the session: the client's CRETRY, or our
	// SRETRY (RetryAfter, RequestReassessment); then the PDP closes it.
	// 0: the PDP waits IdleTimeout for the client's CLOSE, as before.
	RetryIdle time.Duration
	// RetryAfter, when set below RetryIdle, asks a client still connected
	// this long after a decision for a re-assessment (SRETRY).
	RetryAfter time.Duration
	// MaxRetries bounds the re-assessments of one connection (16 when 0;
	// < 0: none); a CRETRY beyond is refused with a CLOSE batch.
	MaxRetries int
	// HandshakeTimeout bounds the TLS handshake and PT-TLS negotiation
	// (SASL included) of a connection (default 5 s).
	HandshakeTimeout time.Duration
	// MaxConnsPerSource bounds the connections from one IP address
	// (default 16, < 0 for none: behind a load balancer that hides client
	// addresses).
	MaxConnsPerSource int
	// ProxyFrom lists load balancers that speak the PROXY protocol
	// (tnccs.ServerConfig.ProxyFrom).
	ProxyFrom []netip.Prefix
	// OnRefused, when set, is called for each connection refused or closed
	// to admit another (tnccs.Refused* reasons).
	OnRefused func(remote, reason string)
	// Logger receives the logs ("pdp", "imv.os", "imv.attestation");
	// hclog.NewNullLogger() when nil.
	Logger hclog.Logger
	// OnOutcome, when set, is called (from the connection's goroutine) with
	// each finished connection's outcome.
	OnOutcome func(Outcome)
}

// Outcome is what happened on one finished PB-TNC connection.
type Outcome struct {
	ConnID uint32 // PB-TNC connection ID (0 if PT-TLS failed before PB-TNC)
	Peer   string // remote address
	User   string // SASL user or client certificate subject, if any
	// Verdict is the combined decision; without a decision it is "don't
	// know" / Access Denied.
	Verdict Verdict
	Decided bool  // a RESULT batch was sent
	Err     error // why the connection ended early, if it did
	Start   time.Time
	End     time.Time
}

// defaultMaxMessageSize is strongSwan's PT-TLS maximum PA-TNC message size:
// 128*16384 - 16 (max batch) - 8 - 12 - 12.
const defaultMaxMessageSize = 2097104

// Server is a PDP serving PT-TLS clients.
type Server struct {
	cfg     Config
	log     hclog.Logger
	store   Store
	ownDB   bool
	ln      net.Listener
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever outcomes grows
	done    []Outcome
	closed  bool
	serving bool // Serve owns the listener (tnccs closes it on cancel)
	set     *imvSet
	policy  atomic.Pointer[Policy]
	tnc     *tnccs.Server
	// draining: Shutdown was called (before or while serving).
	draining bool
}

// New opens the database, seeds the policy into it and starts listening. Call
// Serve to accept clients.
func New(cfg Config) (*Server, error) {
	if err := cfg.Policy.validate(); err != nil {
		return nil, err
	}
	if len(cfg.Certificates) == 0 {
		return nil, errors.New("pdp: a TLS certificate is required")
	}
	if cfg.MaxMessageSize == 0 {
		cfg.MaxMessageSize = defaultMaxMessageSize
	}
	if cfg.MaxMessageSize < 64 {
		return nil, fmt.Errorf("pdp: max message size %d too small", cfg.MaxMessageSize)
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	s := &Server{cfg: cfg, log: cfg.Logger.Named("pdp"), store: cfg.Store, changed: make(chan struct{})}
	p := cfg.Policy
	s.policy.Store(&p)
	if s.store == nil {
		path := cfg.DBPath
		if path == "" {
			path = ":memory:"
		}
		st, err := OpenStore(path)
		if err != nil {
			return nil, err
		}
		s.store, s.ownDB = st, true
	}
	if err := s.seed(); err != nil {
		s.closeStore()
		return nil, err
	}
	s.ln = cfg.Listener
	if s.ln == nil {
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			s.closeStore()
			return nil, fmt.Errorf("pdp: listen on %s: %w", cfg.Addr, err)
		}
		s.ln = ln
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// SetPolicy replaces the policy (SIGHUP in pdp serve): its products and
// AKs are seeded into the store, and connections that start from now on
// are judged by it; running ones finish under the policy they began with.
func (s *Server) SetPolicy(p Policy) error {
	if err := p.validate(); err != nil {
		return err
	}
	if err := s.seedPolicy(&p); err != nil {
		return err
	}
	s.policy.Store(&p)
	s.log.Info("policy reloaded")
	return nil
}

// Policy is the policy new connections are judged by.
func (s *Server) Policy() Policy { return *s.policy.Load() }

// Active is the number of client connections running.
func (s *Server) Active() int {
	s.mu.Lock()
	t := s.tnc
	s.mu.Unlock()
	if t == nil {
		return 0
	}
	return t.Active()
}

// Shutdown stops accepting clients and waits for the running connections
// to finish their assessments, up to ctx; then it closes the server (what
// is still running is cut off). Connections accepted but not yet admitted
// are refused.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	t, serving := s.tnc, s.serving
	s.mu.Unlock()
	if t != nil {
		t.Drain()
	}
	s.log.Info("draining: no new clients accepted, waiting for the running ones", "active", s.Active())
	if serving {
		done := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			s.log.Warn("shutdown: connections still running at the deadline are closed", "active", s.Active())
		}
	}
	return s.Close()
}

// seed writes the policy's allowed products and trusted AKs into the store.
func (s *Server) seed() error { return s.seedPolicy(&s.cfg.Policy) }

func (s *Server) seedPolicy(pol *Policy) error {
	ctx := context.Background()
	for _, p := range pol.Products {
		if err := s.store.AllowProduct(ctx, p); err != nil {
			return err
		}
	}
	for _, k := range pol.TrustedAKs {
		if err := s.store.TrustAK(ctx, k); err != nil {
			return err
		}
	}
	if f := s.cfg.Policy.IMAReferences; f != "" {
		refs, err := ReadFileRefs(f)
		if err != nil {
			return err
		}
		if err := s.store.AddFileRefs(ctx, refs); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) closeStore() {
	if s.ownDB {
		s.store.Close()
	}
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Store is the server's database (to seed or inspect it).
func (s *Server) Store() Store { return s.store }

// Outcomes returns the outcomes of the connections finished so far, in the
// order they finished.
func (s *Server) Outcomes() []Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Outcome(nil), s.done...)
}

// WaitOutcomes waits until at least n connections have finished and returns
// their outcomes (all finished so far), or ctx's error.
func (s *Server) WaitOutcomes(ctx context.Context, n int) ([]Outcome, error) {
	for {
		s.mu.Lock()
		if len(s.done) >= n {
			out := append([]Outcome(nil), s.done...)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("pdp: waiting for %d outcomes: %w", n, ctx.Err())
		}
	}
}

func (s *Server) record(o Outcome) {
	s.mu.Lock()
	s.done = append(s.done, o)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.cfg.OnOutcome != nil {
		s.cfg.OnOutcome(o)
	}
}

// Close stops accepting, ends every open connection, waits for their
// goroutines and closes the database (unless it was given in Config.Store).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	serving := s.serving
	s.mu.Unlock()
	s.cancel()
	var err error
	if !serving {
		err = s.ln.Close()
	}
	s.wg.Wait()
	s.closeStore()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("pdp: close: %w", err)
	}
	return nil
}
