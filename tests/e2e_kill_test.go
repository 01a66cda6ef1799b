package tests

// Either side vanishing in the middle of the two-IMC exchange.

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs/pb"
)

// Goroutines of the transport, PDP and host code; none may outlive a
// connection. (These subtests run while no other test does, one after the
// other on one host: every connection must leave it as it was.)
var connGoroutines = []string{"imchost/tnccs", "imchost/pdp", "imchost/host"}

// testPDPKilled: the PDP dies (crash: listener and TCP connections gone
// with a reset; stop: pdp.Server.Close) when the client has seen batch n.
// tnccs.Dial must return an error of its own, not the bound of the
// test's deadline, without a decision; nothing may stay behind.
func testPDPKilled(t *testing.T, h *host.Host, crash bool, n int) {
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
	rec := &recorder{}
	rec.hook = func(i int, _ recorded) {
		if i != n {
			return
		}
		if crash {
			p.ln.kill()
		} else {
			p.srv.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	res, err := attest(ctx, t, p, h, rec)
	t.Logf("client: %v", err)
	switch {
	case err == nil:
		t.Fatalf("the PDP died after batch %d, yet the assessment ended without an error: %+v", n, res)
	case ctx.Err() != nil:
		t.Fatalf("the client hung until the test's deadline: %v", err)
	case res != nil && res.Decided:
		t.Fatalf("a decision without a PDP: %+v", res)
	}
	if got := len(rec.all()); got != n && got != n+1 {
		t.Errorf("%d batches seen, the PDP died after batch %d", got, n)
	}
	if !crash {
		// A stopped PDP ends its connections; one killed cannot say so.
		<-p.served
	}
	if k := h.Instances(); k != 0 {
		t.Errorf("%d IMC instances left after the failed connection", k)
	}
	p.srv.Close()
	noGoroutines(t, connGoroutines...)
}

// testClientKilled: the client gives up (its context is cancelled) when it
// has seen batch n. The PDP records a failed, undecided outcome, ends the
// connection's goroutine with its IMV state, records no session, and then
// assesses the same client (same host) normally.
func testClientKilled(t *testing.T, h *host.Host, n int) {
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	cctx, kill := context.WithCancel(ctx)
	defer kill()
	rec := &recorder{hook: func(i int, _ recorded) {
		if i == n {
			kill()
		}
	}}
	res, err := attest(cctx, t, p, h, rec)
	for i, row := range rec.table() {
		t.Logf("%s", row)
		if i >= n && rec.all()[i].sent {
			t.Errorf("batch %d sent after the client was killed (batch %d): %s", i+1, n, row)
		}
	}
	if !errors.Is(err, context.Canceled) || (res != nil && res.Decided) {
		t.Fatalf("client killed after batch %d: %+v %v", n, res, err)
	}
	outs, err := p.srv.WaitOutcomes(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	o := outs[0]
	t.Logf("PDP outcome: %+v", o)
	if o.Err == nil || o.Decided || o.Verdict.Access != pdp.AccessDenied || o.Verdict.Result != pdp.DontKnow {
		t.Fatalf("outcome of the killed connection: %+v", o)
	}
	noGoroutines(t, "tnccs.(*Server).serveConn", "tnccs.(*Server).Run", "imchost/pdp.(*conn)")
	if k := h.Instances(); k != 0 {
		t.Errorf("%d IMC instances left after the killed connection", k)
	}

	res2, o2 := attestOK(t, p, h, nil, 2)
	if res2.Recommendation != pb.RecommendationAllowed || o2.Verdict.Access != pdp.AccessAllowed {
		t.Fatalf("after the killed connection: %+v %+v", res2, o2.Verdict)
	}
	sess, err := p.srv.Store().Sessions(ctx, 10)
	if err != nil || len(sess) != 1 {
		t.Fatalf("%d sessions recorded (%v), want only the decided one", len(sess), err)
	}
}

// knownDefect skips a test that fails because of a reported defect outside
// tests/ until it is fixed; IMCHOST_E2E_KNOWN_DEFECTS=1 runs it anyway.
func knownDefect(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("IMCHOST_E2E_KNOWN_DEFECTS") == "" {
		t.Skip("known defect, reported: " + what + "; IMCHOST_E2E_KNOWN_DEFECTS=1 runs this test")
	}
}
