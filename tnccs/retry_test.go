package tnccs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/tnccs/pb"
)

// restartIMVs are testIMVs whose connections can start over (IMVRestarter).
type restartIMVs struct{ testIMVs }

type restartIMVConn struct{ *testIMVConn }

func (m *restartIMVs) Open(ctx context.Context, id ConnID, peer Peer, send SendFunc) (IMVConn, error) {
	c, err := m.testIMVs.Open(ctx, id, peer, send)
	return restartIMVConn{c.(*testIMVConn)}, err
}

func (c restartIMVConn) Restart(context.Context) { c.m.ev.add("restart"); c.asked = 0 }

// retryPair starts a server with re-assessments allowed and returns a
// client for it with its batch log.
func retryPair(t *testing.T, server func(*ServerConfig)) (*Client, *Server, *batchLog, *events, *events) {
	t.Helper()
	imvEv := &events{}
	imvs := &restartIMVs{testIMVs{ev: imvEv, requests: 1, decision: Decision{Result: pb.ResultCompliant, Recommendation: pb.RecommendationAllowed}}}
	scfg := serverConfig(t, imvs)
	scfg.RetryIdle = 5 * time.Second
	if server != nil {
		server(&scfg)
	}
	addr, srv, _ := startServer(t, scfg)
	ccfg := clientConfig(t, addr)
	var cb batchLog
	ccfg.OnBatch = cb.observe
	imcEv := &events{}
	return NewClient(ccfg, &testIMCs{ev: imcEv}), srv, &cb, imcEv, imvEv
}

func batchTypes(l *batchLog) string {
	var out []string
	for _, e := range l.list() {
		f := strings.Fields(e)
		out = append(out, f[0]+" "+f[1])
	}
	return strings.Join(out, ", ")
}

// TestSessionCRETRY: the client re-assesses on its own within the same
// PT-TLS session; the IMCs go back to Handshake and begin again, the IMVs
// start over, and the second verdict is fresh.
func TestSessionCRETRY(t *testing.T) {
	c, _, cb, imcEv, imvEv := retryPair(t, nil)
	ctx := context.Background()
	se, res, err := c.Open(ctx)
	if err != nil || !res.Decided {
		t.Fatalf("Open: %v %+v", err, res)
	}
	defer se.Close(ctx)
	for n := 1; n <= 2; n++ {
		if spoke, err := se.Wait(ctx, time.Now().Add(50*time.Millisecond)); spoke || err != nil {
			t.Fatalf("Wait: %v %v", spoke, err)
		}
		r, err := se.Reassess(ctx)
		if err != nil || !r.Decided || r.Recommendation != pb.RecommendationAllowed || r.Reassessment != n || r.RetryBy != "client" || r.ConnID != res.ConnID {
			t.Fatalf("Reassess %d: %v %+v", n, err, r)
		}
	}
	se.Close(ctx)
	want := "send CDATA, recv SDATA, send CDATA, recv RESULT, send CRETRY, recv SDATA, send CDATA, recv RESULT, send CRETRY, recv SDATA, send CDATA, recv RESULT, send CLOSE"
	if got := batchTypes(cb); got != want {
		t.Errorf("batches\n got %s\nwant %s", got, want)
	}
	ev := imcEv.list()
	if n := strings.Count(strings.Join(ev, "|"), "state 1|begin"); n != 3 {
		t.Errorf("IMC handshakes %d, want 3: %v", n, ev)
	}
	if n := slices.Index(ev, "close"); n != len(ev)-1 {
		t.Errorf("IMCs closed before the end: %v", ev)
	}
	if n := strings.Count(strings.Join(imvEv.list(), "|"), "restart"); n != 2 {
		t.Errorf("IMV restarts %d, want 2: %v", n, imvEv.list())
	}
}

// TestSessionSRETRY: the PDP asks for a re-assessment by policy
// (RetryAfter) and on request (RequestRetry); the client answers both.
func TestSessionSRETRY(t *testing.T) {
	c, srv, cb, _, _ := retryPair(t, func(s *ServerConfig) { s.RetryAfter = 100 * time.Millisecond })
	ctx := context.Background()
	se, _, err := c.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer se.Close(ctx)
	spoke, err := se.Wait(ctx, time.Now().Add(5*time.Second))
	if !spoke || err != nil {
		t.Fatalf("Wait: %v %v", spoke, err)
	}
	r, err := se.Reassess(ctx)
	if err != nil || !r.Decided || r.RetryBy != "server" {
		t.Fatalf("Reassess: %v %+v", err, r)
	}
	if !srv.RequestRetry(se.ConnID()) {
		t.Fatal("RequestRetry: connection unknown")
	}
	if spoke, err := se.Wait(ctx, time.Now().Add(5*time.Second)); !spoke || err != nil {
		t.Fatalf("Wait: %v %v", spoke, err)
	}
	if r, err := se.Reassess(ctx); err != nil || !r.Decided || r.RetryBy != "server" {
		t.Fatalf("Reassess: %v %+v", err, r)
	}
	want := "recv SRETRY, send CRETRY, recv SDATA, send CDATA, recv RESULT"
	if got := batchTypes(cb); !strings.Contains(got, want) || strings.Count(got, "SRETRY") != 2 {
		t.Errorf("batches %s", got)
	}
}

// TestSessionEnds: a PDP that closes a decided connection (RetryIdle
// passed) and one that refuses a CRETRY (MaxRetries) both end the session
// with ErrSessionEnded.
func TestSessionEnds(t *testing.T) {
	ctx := context.Background()
	t.Run("idle", func(t *testing.T) {
		c, _, _, _, _ := retryPair(t, func(s *ServerConfig) { s.RetryIdle = 100 * time.Millisecond })
		se, _, err := c.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer se.Close(ctx)
		if spoke, err := se.Wait(ctx, time.Now().Add(5*time.Second)); !spoke || err != nil {
			t.Fatalf("Wait: %v %v", spoke, err)
		}
		if _, err := se.Reassess(ctx); !errors.Is(err, ErrSessionEnded) {
			t.Fatalf("Reassess: %v, want ErrSessionEnded", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		results := make(chan error, 1)
		c, _, _, _, _ := retryPair(t, func(s *ServerConfig) {
			s.MaxRetries = 1
			s.OnResult = func(_ *Result, err error) { results <- err }
		})
		se, _, err := c.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer se.Close(ctx)
		if _, err := se.Reassess(ctx); err != nil {
			t.Fatalf("first Reassess: %v", err)
		}
		if _, err := se.Reassess(ctx); !errors.Is(err, ErrSessionEnded) {
			t.Fatalf("second Reassess: %v, want ErrSessionEnded", err)
		}
		if err := <-results; !errors.Is(err, ErrTooManyRetries) {
			t.Errorf("server: %v, want ErrTooManyRetries", err)
		}
	})
}

// TestSRETRYLoop: a PDP asking for a re-assessment after every decision
// gets MaxServerRetries of them between two of the client's own, then the
// client closes the connection.
func TestSRETRYLoop(t *testing.T) {
	log, buf := testLogger("imchost", hclog.Info)
	c, _, _, _, _ := retryPair(t, func(s *ServerConfig) { s.RetryAfter = time.Millisecond; s.MaxRetries = 100 })
	c.cfg.MaxServerRetries = 3
	c.cfg.Logger = log
	ctx := context.Background()
	se, _, err := c.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer se.Close(ctx)
	n := 0
	for ; n < 10; n++ {
		if _, err = se.Wait(ctx, time.Now().Add(5*time.Second)); err != nil {
			break
		}
		if _, err = se.Reassess(ctx); err != nil {
			break
		}
	}
	if n != 3 || !errors.Is(err, ErrTooManyRetries) {
		t.Fatalf("after %d re-assessments: %v, want 3 and ErrTooManyRetries", n, err)
	}
	if !strings.Contains(buf.String(), "PDP requested more than 3 re-assessments") {
		t.Errorf("log:\n%s", buf)
	}
}

// askingIMVs ask for a new handshake (Server.RequestRetry) at the end of
// the connection's first client batch, as an IMV that learns of a change
// while the handshake runs.
type askingIMVs struct {
	restartIMVs
	srv   *Server
	asked bool
}

type askingIMVConn struct {
	restartIMVConn
	m  *askingIMVs
	id ConnID
}

func (m *askingIMVs) Open(ctx context.Context, id ConnID, peer Peer, send SendFunc) (IMVConn, error) {
	c, err := m.restartIMVs.Open(ctx, id, peer, send)
	return askingIMVConn{c.(restartIMVConn), m, id}, err
}

func (c askingIMVConn) BatchEnding(ctx context.Context) {
	c.restartIMVConn.BatchEnding(ctx)
	if !c.m.asked {
		c.m.asked = true
		c.m.srv.RequestRetry(c.id)
	}
}

// TestSRETRYDuringHandshake: a re-assessment requested while the handshake
// runs replaces the server's next batch by an SRETRY; the client begins
// again and the IMVs start over with its answer. This is the SRETRY a
// client that closes right after the RESULT (strongSwan's) can see.
func TestSRETRYDuringHandshake(t *testing.T) {
	imvEv := &events{}
	imvs := &askingIMVs{restartIMVs: restartIMVs{testIMVs{ev: imvEv, requests: 1, decision: Decision{Result: pb.ResultCompliant, Recommendation: pb.RecommendationAllowed}}}}
	addr, srv, _ := startServer(t, serverConfig(t, imvs))
	imvs.srv = srv
	ccfg := clientConfig(t, addr)
	var cb batchLog
	ccfg.OnBatch = cb.observe
	imcEv := &events{}
	res, err := Dial(context.Background(), ccfg, &testIMCs{ev: imcEv})
	if err != nil || !res.Decided {
		t.Fatalf("Dial: %v %+v", err, res)
	}
	want := "send CDATA, recv SRETRY, send CDATA, recv SDATA, send CDATA, recv RESULT, send CLOSE"
	if got := batchTypes(&cb); got != want {
		t.Errorf("batches\n got %s\nwant %s", got, want)
	}
	if n := strings.Count(strings.Join(imcEv.list(), "|"), "state 1|begin"); n != 2 {
		t.Errorf("IMC handshakes %d, want 2: %v", n, imcEv.list())
	}
	if n := strings.Count(strings.Join(imvEv.list(), "|"), "restart"); n != 1 {
		t.Errorf("IMV restarts %d, want 1: %v", n, imvEv.list())
	}
}

// TestSRETRYDeclined: a client that answers our SRETRY with CLOSE (it
// declines, or its CLOSE crossed the SRETRY, as strongSwan's pt-tls-client's
// does) ends the connection normally, with the decision made before.
func TestSRETRYDeclined(t *testing.T) {
	results := make(chan *Result, 1)
	errs := make(chan error, 1)
	c, srv, _, _, _ := retryPair(t, func(s *ServerConfig) {
		s.OnResult = func(r *Result, err error) { results <- r; errs <- err }
	})
	ctx := context.Background()
	se, _, err := c.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !srv.RequestRetry(se.ConnID()) {
		t.Fatal("RequestRetry: connection unknown")
	}
	if spoke, err := se.Wait(ctx, time.Now().Add(5*time.Second)); !spoke || err != nil {
		t.Fatalf("Wait: %v %v", spoke, err)
	}
	se.Close(ctx) // CLOSE in state Decided, the SRETRY unread
	if r, err := <-results, <-errs; err != nil || !r.Decided || r.Recommendation != pb.RecommendationAllowed {
		t.Errorf("server: %v %+v, want the first decision and no error", err, r)
	}
}
