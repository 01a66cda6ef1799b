package interop

// Re-assessment within a PT-TLS session (RFC 5793 Section 3.2, CRETRY and
// SRETRY) against strongSwan 5.9.8, in each direction it can happen:
//
//	imchost run --keep-session  -> strongSwan's PDP: our CRETRY after a RESULT
//	strongSwan's pt-tls-client  -> our PDP: an SRETRY during the handshake
//	strongSwan's pt-tls-client  -> our PDP: an SRETRY after the RESULT, which
//	                               never reaches it (it sends CLOSE at once)

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/pdp"
)

// TestCRETRYToStrongSwanPDP: imchost run --interval 1s --keep-session
// against strongSwan's PDP: one PT-TLS session, the later assessments
// started with CRETRY.
func TestCRETRYToStrongSwanPDP(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	ss := startPDP(t, p, strongSwanSide, pdpOpts{})
	bin, wasm := tools(t)
	dir := t.TempDir()
	cfg := imchostConfig(t, dir, nil)
	args := append([]string{bin, "run", "--config", cfg, "-c", "127.0.0.1", "-p", strconv.Itoa(ss.port), "--ca", ss.ca,
		"--tpm", e.tpm.Spec, "--eventlog", e.logPath, "--root", fixtureRoot(t, false), "--wasm-dir", wasm,
		"--timeout", "1m", "--debug", "2", "--interval", "1s", "--keep-session"}, saslArgs...)
	c := start(t, "imchost run", nil, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	third := regexp.MustCompile(`(?s)(overall: [^\n]*\n.*){3}`)
	if !c.await(ctx, third) {
		t.Fatalf("no third verdict:\n%s\nPDP:\n%s", c.output(), ss.log())
	}
	c.stop()
	out, log := c.Stdout.String(), ss.log()
	t.Logf("imchost run:\n%s\nstrongSwan's PDP:\n%s", c.output(), log)
	for _, want := range []string{
		"session: re-assessment 1 of PB-TNC connection 1 (our CRETRY)",
		"session: re-assessment 2 of PB-TNC connection 1 (our CRETRY)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if n := strings.Count(out, "overall: compliant, Access Allowed"); n < 3 {
		t.Errorf("%d of the verdicts are compliant, allowed; want all 3", n)
	}
	if n := strings.Count(log, "processing PB-TNC CRETRY batch"); n < 2 {
		t.Errorf("strongSwan's PDP processed %d CRETRY batches, want 2", n)
	}
	if n := len(pdpEvaluations(log)); n < 3 {
		t.Errorf("strongSwan's IMVs evaluated %d times, want 3", n)
	}
}

// TestSRETRYToStrongSwanClient: our PDP (in this process, so that the test
// can be the IMV asking) requests a re-assessment while strongSwan's
// pt-tls-client is in its handshake: its IMCs begin again and the PDP
// decides on the new handshake.
func TestSRETRYToStrongSwanClient(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	dir := t.TempDir()
	cert, _, err := pdp.SelfSignedCertificate(time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	caFile := writeFile(t, filepath.Join(dir, "ca.pem"), string(pdp.CAPEM(cert)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logBuf testutil.SyncBuffer
	srv, err := pdp.New(pdp.Config{Listener: ln, Certificates: []tls.Certificate{cert}, Users: defaultUser,
		Policy: pdp.DefaultPolicy(), DBPath: filepath.Join(dir, "pdp.db"),
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: &logBuf})})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background()) }()
	defer func() {
		srv.Close()
		<-served
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	asked := make(chan struct{})
	go func() { // as soon as the connection runs
		defer close(asked)
		for !srv.RequestReassessment(1) && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	n, _ := strconv.Atoi(port)
	out := ssClient(t, p, e, n, caFile, ssClientOptions{args: saslArgs})
	<-asked
	log := logBuf.String()
	t.Logf("pt-tls-client:\n%s\nour PDP:\n%s", out, log)
	if !strings.Contains(log, "sending an SRETRY batch") {
		t.Fatalf("our PDP sent no SRETRY")
	}
	if !strings.Contains(out, "processing PB-TNC SRETRY batch") {
		t.Errorf("pt-tls-client did not process the SRETRY")
	}
	o := ssOutcome(out)
	checkVerdicts(t, "pt-tls-client", o.verdicts, compliant)
	if o.result != "compliant" || o.recommendation != "Access Allowed" {
		t.Errorf("overall %q, %q", o.result, o.recommendation)
	}
	outs := srv.Outcomes()
	if len(outs) != 1 || !outs[0].Decided {
		t.Errorf("our PDP's outcomes: %+v", outs)
	}
}

// TestSRETRYAfterDecisionStrongSwanClient: our PDP keeps decided
// connections open and asks for a re-assessment after each decision, but
// strongSwan's pt-tls-client closes right after the RESULT (its tnccs-20
// client answers a RESULT with CLOSE unless one of its IMCs asked for a
// handshake retry): with --retry-after 2s it has gone before; with 10 ms
// our SRETRY crosses its CLOSE, it logs "unexpected PB-TNC batch type:
// SRETRY" and ends, and our PDP ends the connection normally with the
// decision made.
func TestSRETRYAfterDecisionStrongSwanClient(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	for _, tc := range []struct {
		after string
		sent  bool
	}{{"2s", false}, {"10ms", true}} {
		t.Run("after "+tc.after, func(t *testing.T) {
			im := startImchostPDP(t, imPDPOptions{users: defaultUser, debug: "2", args: []string{"--retry-idle", "30s", "--retry-after", tc.after}})
			out := ssClient(t, p, e, im.port, im.pki.ca.file, ssClientOptions{args: saslArgs})
			o := ssOutcome(out)
			checkVerdicts(t, "pt-tls-client", o.verdicts, compliant)
			if o.result != "compliant" || o.recommendation != "Access Allowed" {
				t.Errorf("overall %q, %q", o.result, o.recommendation)
			}
			if !strings.Contains(out, "sending PB-TNC CLOSE batch") {
				t.Errorf("pt-tls-client did not close after the RESULT")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if !im.proc.await(ctx, regexp.MustCompile(`removed TNCCS Connection ID 1`)) {
				t.Fatalf("our PDP did not end the connection")
			}
			log := im.log()
			if sent := strings.Contains(log, "sending an SRETRY batch"); sent && !tc.sent {
				t.Errorf("our PDP sent an SRETRY to a client that had closed")
			}
			if strings.Contains(log, "ended with an error") {
				t.Errorf("our PDP ended the connection with an error")
			}
			if t.Failed() {
				t.Logf("pt-tls-client:\n%s\nour PDP:\n%s", out, log)
			}
		})
	}
}
