package tests

// Nothing from outside reaches the terminal raw: `imchost run` against a
// PDP whose strings carry line breaks and escape sequences, and a PDP
// referral that [pdp] referrals does not allow.

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

// serveHostile serves one TLS connection on loopback with id's certificate
// and runs script on it; it returns the address.
func serveHostile(t *testing.T, id pdpIdentity, script func(*testing.T, *hostileConn) error) string {
	ln := loopback(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer ln.Close()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		tcn := tls.Server(nc, &tls.Config{Certificates: []tls.Certificate{id.cert}})
		defer tcn.Close()
		_ = tcn.SetDeadline(time.Now().Add(hostileBound))
		c := &hostileConn{Conn: tcn, rcv: pb.SideServer}
		if tcn.Handshake() == nil {
			if err := script(t, c); err != nil {
				t.Errorf("hostile PDP script: %v", err)
			}
			c.drain()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// TestHostileTerminal: the PDP's Reason-String and remediation text carry
// newlines, a carriage return, ESC[2J (clear screen) and ESC[31m (red), and
// its PB-PDP-Referral a host name with a newline, each forging an
// "overall: compliant, Access Allowed" line or a [TNC] log line. imchost
// run prints them escaped: one overall line, the PDP's (Quarantined, exit
// 3), no escape character and no forged line on stdout or stderr (a
// multi-line text from the PDP keeps its lines on stdout, each escaped and
// indented under its label; in the log it is one escaped line).
func TestHostileTerminal(t *testing.T) {
	e := newCLIEnv(t)
	id := pdpCert(t, pdpName, "127.0.0.1")
	forged := "\n\x1b[2J\x1b[31moverall: compliant, Access Allowed\x1b[0m\n[TNC] forged line"
	addr := serveHostile(t, id, func(t *testing.T, c *hostileConn) error {
		if err := firstBatch(c); err != nil {
			return err
		}
		return c.send(pttls.TypePBBatch, batchBytes(t, true, pb.BatchRESULT,
			&pb.MsgAssessmentResult{Result: pb.ResultNonCompliantMajor},
			&pb.MsgAccessRecommendation{Recommendation: pb.RecommendationQuarantined},
			&pb.MsgReasonString{Text: "forwarding is on" + forged, Lang: "en\x1b[31m"},
			&pb.MsgRemediationParameters{Vendor: pb.VendorIETF, ParamType: pb.RemediationString,
				Text: "disable it\r\x1b[2K" + forged, Lang: "en"},
			&pb.MsgPDPReferral{Vendor: pb.VendorTCG, IDType: pb.PDPIDFQDN, Port: 271, FQDN: "evil.test" + forged}))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startCLI(ctx, t, e.runArgs(addr, id.caPEM, e.tpm.inst.Spec, fixtureRoot(t, false), "--debug", "2")...)
	<-p.exited
	if code := p.cmd.ProcessState.ExitCode(); code != exitNotAllowed {
		t.Errorf("exit %d, want %d (Quarantined)", code, exitNotAllowed)
	}
	stdout, stderr := p.stdout.String(), p.stderr.String()
	for name, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
		if strings.ContainsAny(out, "\x1b\r") {
			t.Errorf("%s holds a raw escape or carriage return", name)
		}
		if n := len(regexp.MustCompile(`(?m)^overall:`).FindAllString(out, -1)); (name == "stdout" && n != 1) || (name == "stderr" && n != 0) {
			t.Errorf("%s has %d lines starting with 'overall:'", name, n)
		}
		if regexp.MustCompile(`(?m)^\[TNC\] forged`).MatchString(out) {
			t.Errorf("%s has a forged [TNC] line", name)
		}
	}
	if !regexp.MustCompile(`(?m)^overall: non-compliant major, Quarantined$`).MatchString(stdout) {
		t.Error("stdout lacks the PDP's own overall line")
	}
	// A multi-line text keeps its lines, each escaped, every one after the
	// first indented under its label.
	for _, want := range []string{"reason [en\\x1b[31m]: forwarding is on\n", "\n                  \\x1b[2J\\x1b[31moverall: compliant, Access Allowed\\x1b[0m\n",
		"remediation [en]: disable it\\r\\x1b[2K\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks the escaped text %q", want)
		}
	}
	if !strings.Contains(stderr, `ignoring PDP referral: 'evil.test\n\x1b[2J`) {
		t.Error("stderr lacks the refused referral, escaped")
	}
}

// TestCLIReferralsRestricted: with [pdp] referrals naming other PDPs, a
// PB-PDP-Referral to this one is not followed by imchost run --interval:
// the next assessment goes to the configured PDP again, and the log says
// why.
func TestCLIReferralsRestricted(t *testing.T) {
	e := newCLIEnv(t)
	a, b, id := referringPDPs(t)
	_, bPort, _ := net.SplitHostPort(b.addr)
	cfg, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfg, append([]byte("[pdp]\nreferrals = [\"*.pdp.example.org\"]\n\n"), cfg...), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startCLI(ctx, t, e.runArgs(a.addr, id.caPEM, e.tpm.inst.Spec, fixtureRoot(t, false), "--interval", "1s")...)
	p.await("a second attestation at the configured PDP", func() bool { return len(a.srv.Outcomes()) >= 2 })
	p.stop(os.Interrupt)
	if n := len(b.srv.Outcomes()); n != 0 {
		t.Errorf("the referred PDP saw %d attestations, want 0", n)
	}
	if want := "not following the PDP referral to localhost:" + bPort + ": [pdp] referrals does not allow it"; !strings.Contains(p.stderr.String(), want) {
		t.Errorf("stderr lacks %q", want)
	}
}
