package tests

// Re-assessment within a PB-TNC session (RFC 5793 Section 3.2; issue 25):
// both wasm IMCs in the real host on swtpm against the project's PDP over
// PT-TLS on loopback. The client keeps its connection open after the
// RESULT (tnccs.Client.Open); a CRETRY of ours and an SRETRY of the PDP's
// each run the IMCs again on the same connection ID and get a fresh
// verdict; a PDP that ends the session or refuses the CRETRY ends it with
// tnccs.ErrSessionEnded; a PDP asking for re-assessments in a loop and a
// client holding a decided connection are both bounded.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
)

// sessionClient is a client of PDP p with the host's IMCs, its
// configuration adjusted by adjust when set.
func sessionClient(t *testing.T, p *pdpEnv, h *host.Host, adjust func(*tnccs.ClientConfig)) *tnccs.Client {
	cfg := tnccs.ClientConfig{Addr: p.addr}
	cfg.PTTLS.RootCAs, cfg.PTTLS.ServerName = p.pool, pdpName
	cfg.Logger = testLogger(t, "")
	if adjust != nil {
		adjust(&cfg)
	}
	return tnccs.NewClient(cfg, h)
}

// reportsSince are the IMC reports of connection id after the first n.
func reportsSince(h *host.Host, id tnccs.ConnID, n int) []host.IMCReport {
	return h.Reports(id)[n:]
}

func TestReassessInSession(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	root := fixtureRoot(t, false)
	h := newHost(t, env.platform(t, root), imcConfigs(t, env.logPath))
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(), IdleTimeout: pdpIdle, RetryIdle: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var batches recorder
	c := sessionClient(t, p, h, func(cfg *tnccs.ClientConfig) { cfg.OnBatch = batches.observe })
	se, res, err := c.Open(ctx)
	if err != nil || !res.Decided || res.Recommendation != pb.RecommendationAllowed {
		t.Fatalf("first assessment: %v %+v", err, res)
	}
	defer se.Close(ctx)
	id := se.ConnID()

	// Our CRETRY, after the machine changed: the IMCs measure again and the
	// PDP decides on what they send now, not on the first verdict.
	if err := os.WriteFile(filepath.Join(root, "proc/sys/net/ipv4/ip_forward"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if spoke, err := se.Wait(ctx, time.Now().Add(20*time.Millisecond)); spoke || err != nil {
		t.Fatalf("Wait: the PDP spoke (%v) or %v", spoke, err)
	}
	n := len(h.Reports(id))
	r, err := se.Reassess(ctx)
	if err != nil || !r.Decided || r.RetryBy != "client" || r.Reassessment != 1 || r.ConnID != id {
		t.Fatalf("CRETRY: %v %+v", err, r)
	}
	if r.AssessmentResult == pb.ResultCompliant || r.Recommendation == pb.RecommendationAllowed {
		t.Errorf("CRETRY verdict %s / %s: the PDP did not see forwarding turned on", r.AssessmentResult, r.Recommendation)
	}
	got := reportsSince(h, id, n)
	if len(got) != 2 || got[0].IMC != "OS" || pb.AssessmentResult(got[0].Result) == pb.ResultCompliant || got[1].IMC != "Attestation" {
		t.Errorf("IMC reports of the CRETRY: %+v", got)
	}

	// The PDP's SRETRY (an IMV's request), after the machine was fixed.
	if err := os.WriteFile(filepath.Join(root, "proc/sys/net/ipv4/ip_forward"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !p.srv.RequestReassessment(uint32(id)) {
		t.Fatalf("RequestReassessment(%d): no such connection", id)
	}
	if spoke, err := se.Wait(ctx, time.Now().Add(time.Minute)); !spoke || err != nil {
		t.Fatalf("Wait for the SRETRY: %v %v", spoke, err)
	}
	n = len(h.Reports(id))
	r, err = se.Reassess(ctx)
	if err != nil || !r.Decided || r.RetryBy != "server" || r.Reassessment != 2 ||
		r.AssessmentResult != pb.ResultCompliant || r.Recommendation != pb.RecommendationAllowed {
		t.Fatalf("SRETRY: %v %+v", err, r)
	}
	if got := reportsSince(h, id, n); len(got) != 2 || pb.AssessmentResult(got[0].Result) != pb.ResultCompliant {
		t.Errorf("IMC reports of the SRETRY: %+v", got)
	}
	se.Close(ctx)

	// One PT-TLS session, one connection, three decisions.
	outs, err := p.srv.WaitOutcomes(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || !outs[0].Decided || outs[0].Err != nil || outs[0].Verdict.Access != pdp.AccessAllowed {
		t.Errorf("PDP outcomes %+v", outs)
	}
	if sess, err := p.srv.Store().Sessions(ctx, 10); err != nil || len(sess) != 3 {
		t.Errorf("PDP sessions recorded: %d (%v), want 3", len(sess), err)
	}
	var types []string
	batches.mu.Lock()
	for _, b := range batches.batches {
		dir := "recv "
		if b.sent {
			dir = "send "
		}
		types = append(types, dir+b.batch.Type.String())
	}
	batches.mu.Unlock()
	flow := strings.Join(types, ", ")
	for _, want := range []string{"recv RESULT, send CRETRY", "recv RESULT, recv SRETRY, send CRETRY"} {
		if !strings.Contains(flow, want) {
			t.Errorf("batches lack %q:\n%s", want, flow)
		}
	}
	if strings.Count(flow, "send CLOSE") != 1 || !strings.HasSuffix(flow, "send CLOSE") {
		t.Errorf("the session was closed before its end:\n%s", flow)
	}
}

// TestReassessFallback: a PDP that closes a decided connection after its
// RetryIdle, and one that refuses a CRETRY beyond MaxRetries, end the
// session with ErrSessionEnded; a new session then works.
func TestReassessFallback(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	h := newHost(t, env.platform(t, fixtureRoot(t, false)), imcConfigs(t, env.logPath))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("closed", func(t *testing.T) {
		p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(), IdleTimeout: pdpIdle, RetryIdle: 300 * time.Millisecond})
		c := sessionClient(t, p, h, nil)
		se, _, err := c.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer se.Close(ctx)
		if spoke, err := se.Wait(ctx, time.Now().Add(30*time.Second)); !spoke || err != nil {
			t.Fatalf("Wait: %v %v, want the PDP's CLOSE", spoke, err)
		}
		if _, err := se.Reassess(ctx); !errors.Is(err, tnccs.ErrSessionEnded) {
			t.Fatalf("Reassess: %v, want ErrSessionEnded", err)
		}
		if outs, err := p.srv.WaitOutcomes(ctx, 1); err != nil || outs[0].Err != nil || !outs[0].Decided {
			t.Errorf("PDP outcome %+v %v: the idle end is a normal one", outs, err)
		}
		if se2, res, err := c.Open(ctx); err != nil || !res.Decided {
			t.Errorf("a new session: %v %+v", err, res)
		} else {
			se2.Close(ctx)
		}
	})
	t.Run("refused", func(t *testing.T) {
		p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(), IdleTimeout: pdpIdle, RetryIdle: time.Minute, MaxRetries: 1})
		c := sessionClient(t, p, h, nil)
		se, _, err := c.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer se.Close(ctx)
		if r, err := se.Reassess(ctx); err != nil || !r.Decided {
			t.Fatalf("first CRETRY: %v %+v", err, r)
		}
		if _, err := se.Reassess(ctx); !errors.Is(err, tnccs.ErrSessionEnded) {
			t.Fatalf("second CRETRY: %v, want ErrSessionEnded", err)
		}
		outs, err := p.srv.WaitOutcomes(ctx, 1)
		if err != nil || !errors.Is(outs[0].Err, tnccs.ErrTooManyRetries) {
			t.Errorf("PDP outcome %+v %v, want ErrTooManyRetries", outs, err)
		}
	})
}

// TestReassessLoopsBounded: a PDP asking for a re-assessment at once after
// every decision gets MaxServerRetries of them, then the client closes the
// session; a client that keeps a decided connection and says nothing
// holds it no longer than RetryIdle.
func TestReassessLoopsBounded(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	h := newHost(t, env.platform(t, fixtureRoot(t, false)), imcConfigs(t, env.logPath))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("SRETRY loop", func(t *testing.T) {
		p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(), IdleTimeout: pdpIdle,
			RetryIdle: time.Minute, RetryAfter: time.Millisecond, MaxRetries: 1000})
		c := sessionClient(t, p, h, func(cfg *tnccs.ClientConfig) { cfg.MaxServerRetries = 3 })
		se, _, err := c.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer se.Close(ctx)
		n := 0
		for ; n < 20; n++ {
			if _, err = se.Wait(ctx, time.Now().Add(30*time.Second)); err != nil {
				break
			}
			if _, err = se.Reassess(ctx); err != nil {
				break
			}
		}
		if n != 3 || !errors.Is(err, tnccs.ErrTooManyRetries) {
			t.Fatalf("%d re-assessments, then %v; want 3 and ErrTooManyRetries", n, err)
		}
	})
	t.Run("silent decided client", func(t *testing.T) {
		p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(), IdleTimeout: pdpIdle, RetryIdle: 500 * time.Millisecond})
		c := sessionClient(t, p, h, nil)
		se, _, err := c.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer se.Close(ctx)
		start := time.Now()
		outs, err := p.srv.WaitOutcomes(ctx, 1)
		if err != nil || outs[0].Err != nil {
			t.Fatalf("PDP outcome %+v %v", outs, err)
		}
		if held := time.Since(start); held > 10*time.Second {
			t.Errorf("the PDP held the silent connection %s", held)
		}
	})
}

// TestCLIKeepSession: `imchost run --interval 1s --keep-session` keeps one
// PT-TLS session: CRETRYs on the interval until the PDP (MaxRetries 2)
// refuses one, then one log line and a new session; an SRETRY of the PDP
// is answered at once. Every verdict is printed with what started it.
func TestCLIKeepSession(t *testing.T) {
	e := newCLIEnv(t)
	id := pdpCert(t, "localhost", "127.0.0.1")
	a := startPDPAs(t, pdp.Config{Policy: pdp.DefaultPolicy(), RetryIdle: time.Minute, MaxRetries: 2}, id)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startCLI(ctx, t, e.runArgs(a.addr, id.caPEM, e.tpm.inst.Spec, fixtureRoot(t, false), "--interval", "1s", "--keep-session")...)
	verdicts := func() int { return strings.Count(p.stdout.String(), "overall: compliant, Access Allowed") }
	p.await("four verdicts", func() bool { return verdicts() >= 4 })
	out := p.stdout.String()
	for _, want := range []string{
		"session: re-assessment 1 of PB-TNC connection 1 (our CRETRY)",
		"session: re-assessment 2 of PB-TNC connection 1 (our CRETRY)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if want := "PDP refused the re-assessment of Connection ID 1"; !strings.Contains(p.stderr.String(), want) ||
		!strings.Contains(p.stderr.String(), "falling back to a new PT-TLS session") {
		t.Errorf("stderr lacks %q ... falling back", want)
	}
	outs, err := a.srv.WaitOutcomes(ctx, 1)
	if err != nil || !errors.Is(outs[0].Err, tnccs.ErrTooManyRetries) {
		t.Fatalf("the first session's outcome: %+v %v", outs, err)
	}
	// The second session is the PDP's connection 2: ask it to re-assess.
	if !a.srv.RequestReassessment(2) {
		t.Fatal("the client's second session is not running")
	}
	p.await("the PDP's re-assessment", func() bool {
		return strings.Contains(p.stdout.String(), "of PB-TNC connection 2 (the PDP's SRETRY)")
	})
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d (%v) after SIGTERM, want 0", code, p.err)
	}
	if outs, err := a.srv.WaitOutcomes(ctx, 2); err != nil || outs[1].Err != nil || !outs[1].Decided {
		t.Errorf("the second session's outcome (closed by SIGTERM): %+v %v", outs, err)
	}
}
