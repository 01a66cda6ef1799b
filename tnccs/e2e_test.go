package tnccs

import (
	"context"
	"crypto/tls"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

const (
	testUser = "client.peer.test"
	testPass = "peer-testbed-secret"
)

func plainVerifier(user, pass string) bool { return user == testUser && pass == testPass }

func serverConfig(t testing.TB, imvs IMVs) ServerConfig {
	p := getPKI(t)
	return ServerConfig{
		PTTLS: pttls.ServerConfig{Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool, VerifyPlain: plainVerifier},
		IMVs:  imvs,
	}
}

func clientConfig(t testing.TB, addr string) ClientConfig {
	p := getPKI(t)
	return ClientConfig{
		Addr:  addr,
		PTTLS: pttls.ClientConfig{ServerName: "pdp.test", CAPEM: p.caPEM, Username: testUser, Password: testPass},
	}
}

// TestFullExchange runs the shape of the reference run over real TLS on
// loopback: CDATA(Language-Preference, PB-PA) / SDATA / CDATA ... / RESULT
// / CLOSE, with SASL PLAIN, and checks both sides' batches, the IMC and
// IMV call sequences, the results and the strongSwan log lines.
func TestFullExchange(t *testing.T) {
	imvEv := &events{}
	imvs := &testIMVs{ev: imvEv, requests: 3, decision: Decision{Result: pb.ResultCompliant, Recommendation: pb.RecommendationAllowed}}
	scfg := serverConfig(t, imvs)
	var sBatches batchLog
	scfg.OnBatch = sBatches.observe
	results := make(chan *Result, 1)
	scfg.OnResult = func(r *Result, err error) {
		if err != nil {
			t.Errorf("server: %v", err)
		}
		results <- r
	}
	addr, _, _ := startServer(t, scfg)

	log, logBuf := testLogger("imchost", hclog.Trace)
	imcEv := &events{}
	ccfg := clientConfig(t, addr)
	ccfg.Logger = log
	var cBatches batchLog
	ccfg.OnBatch = cBatches.observe
	res, err := Dial(context.Background(), ccfg, &testIMCs{ev: imcEv})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if !res.Decided || res.AssessmentResult != pb.ResultCompliant || res.Recommendation != pb.RecommendationAllowed ||
		res.ConnID != 1 || res.BatchesSent != 5 || res.BatchesReceived != 4 {
		t.Errorf("client result %+v", res)
	}
	wantClient := []string{
		"send CDATA [IETF/PB-Language-Preference IETF/PB-PA]",
		"recv SDATA [IETF/PB-PA IETF/PB-PA]",
		"send CDATA [IETF/PB-PA]",
		"recv SDATA [IETF/PB-PA]",
		"send CDATA [IETF/PB-PA]",
		"recv SDATA [IETF/PB-PA]",
		"send CDATA [IETF/PB-PA]",
		"recv RESULT [IETF/PB-PA IETF/PB-Assessment-Result IETF/PB-Access-Recommendation]",
		"send CLOSE []",
	}
	if got := cBatches.list(); !reflect.DeepEqual(got, wantClient) {
		t.Errorf("client batches:\n%s", strings.Join(got, "\n"))
	}
	wantIMC := []string{
		"open 1", "state 0", "state 1", "begin",
		"receive 000000/1 os ok", "receive 005597/1 request 1", "batch ending",
		"receive 005597/1 request 2", "batch ending",
		"receive 005597/1 request 3", "batch ending",
		"receive 005597/1 final result", "state 2", "batch ending", "close",
	}
	if got := imcEv.list(); !reflect.DeepEqual(got, wantIMC) {
		t.Errorf("IMC calls:\n%s", strings.Join(got, "\n"))
	}
	sres := <-results
	if !sres.Decided || sres.Peer.Identity != testUser || sres.Peer.Language != "en" || sres.ConnID != 1 {
		t.Errorf("server result %+v", sres)
	}
	wantServer := []string{
		"recv CDATA [IETF/PB-Language-Preference IETF/PB-PA]",
		"send SDATA [IETF/PB-PA IETF/PB-PA]",
		"recv CDATA [IETF/PB-PA]",
		"send SDATA [IETF/PB-PA]",
		"recv CDATA [IETF/PB-PA]",
		"send SDATA [IETF/PB-PA]",
		"recv CDATA [IETF/PB-PA]",
		"send RESULT [IETF/PB-PA IETF/PB-Assessment-Result IETF/PB-Access-Recommendation]",
		"recv CLOSE []",
	}
	if got := sBatches.list(); !reflect.DeepEqual(got, wantServer) {
		t.Errorf("server batches:\n%s", strings.Join(got, "\n"))
	}
	wantIMV := []string{
		"open 1 client.peer.test lang=en",
		"receive 000000/1 imc=1 excl=false os facts", "batch ending",
		"receive 005597/1 imc=2 excl=true evidence for request 1", "batch ending",
		"receive 005597/1 imc=2 excl=true evidence for request 2", "batch ending",
		"receive 005597/1 imc=2 excl=true evidence for request 3", "batch ending",
		"decide", "close",
	}
	if got := imvEv.list(); !reflect.DeepEqual(got, wantIMV) {
		t.Errorf("IMV calls:\n%s", strings.Join(got, "\n"))
	}
	logs := logBuf.String()
	for _, want := range []string{
		"imchost.tnc: assigned TNCCS Connection ID 1",
		"imchost.tnc: PB-TNC state transition from 'Init' to 'Server Working'",
		"imchost.tnc: creating PB-TNC CDATA batch",
		"imchost.tnc: adding IETF/PB-Language-Preference message",
		"imchost.tnc: adding IETF/PB-PA message",
		"imchost.tnc: sending PB-TNC CDATA batch (71 bytes) for Connection ID 1",
		"imchost.tnc: received TNCCS batch (",
		"imchost.tnc: processing PB-TNC SDATA batch for Connection ID 1",
		"imchost.tnc: PB-TNC state transition from 'Server Working' to 'Client Working'",
		"imchost.tnc: processing IETF/PB-PA message (29 bytes)",
		"imchost.tnc: handling PB-PA message type 'TCG/PTS' 0x005597/0x00000001",
		"imchost.tnc: PB-TNC state transition from 'Server Working' to 'Decided'",
		"imchost.tnc: PB-TNC assessment result is 'compliant'",
		"imchost.tnc: PB-TNC access recommendation is 'Access Allowed'",
		"imchost.tnc: PB-TNC state transition from 'Decided' to 'End'",
		"imchost.tnc: sending PB-TNC CLOSE batch (8 bytes) for Connection ID 1",
		"imchost.tnc: removed TNCCS Connection ID 1",
		"imchost.tls: SASL PLAIN authentication successful",
		"imchost.tnc: sent batch: conn_id=1 hex=0200000600000008",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(logs)
	}
}

// TestResultDetails: Reason-Strings, Remediation-Parameters and a
// PDP-Referral travel to the client's Result; Quarantined maps to the
// IMCs' Isolated state.
func TestResultDetails(t *testing.T) {
	ref := &pb.MsgPDPReferral{Vendor: pb.VendorTCG, IDType: pb.PDPIDFQDN, Port: 271, FQDN: "edu.strongsec.com"}
	for _, tc := range []struct {
		name string
		d    Decision
	}{
		{"uri", Decision{Result: pb.ResultNonCompliantMinor, Recommendation: pb.RecommendationQuarantined,
			Reasons:     []Reason{{"Invalid TPM Quote signature received", "en"}, {"zweiter Grund", "de"}},
			Remediation: &Remediation{URI: "https://remediate.example/x"}}},
		{"text", Decision{Result: pb.ResultNonCompliantMajor, Recommendation: pb.RecommendationQuarantined,
			Remediation: &Remediation{Text: "Please disable the forwarding of IP packets", Lang: "en"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imvs := &testIMVs{ev: &events{}, decision: tc.d}
			scfg := serverConfig(t, imvs)
			scfg.PDPReferral = ref
			addr, _, _ := startServer(t, scfg)
			imcEv := &events{}
			res, err := Dial(context.Background(), clientConfig(t, addr), &testIMCs{ev: imcEv})
			if err != nil {
				t.Fatal(err)
			}
			if res.AssessmentResult != tc.d.Result || res.Recommendation != tc.d.Recommendation ||
				!reflect.DeepEqual(res.Reasons, tc.d.Reasons) || !reflect.DeepEqual(res.Remediation, tc.d.Remediation) {
				t.Errorf("result %+v", res)
			}
			if res.PDPReferral == nil || res.PDPReferral.Host() != "edu.strongsec.com" || res.PDPReferral.Port != 271 {
				t.Errorf("referral %+v", res.PDPReferral)
			}
			if ev := imcEv.list(); !contains(ev, "state 3") {
				t.Errorf("IMC states %v", ev)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestSASLFailure(t *testing.T) {
	addr, _, _ := startServer(t, serverConfig(t, &testIMVs{ev: &events{}}))
	ccfg := clientConfig(t, addr)
	ccfg.PTTLS.Password = "wrong"
	imcEv := &events{}
	_, err := Dial(context.Background(), ccfg, &testIMCs{ev: imcEv})
	if !errors.Is(err, pttls.ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrAuthFailed", err)
	}
	if len(imcEv.list()) != 0 {
		t.Errorf("IMCs were called: %v", imcEv.list())
	}
}

func TestClientCertificateAuth(t *testing.T) {
	p := getPKI(t)
	results := make(chan *Result, 1)
	scfg := ServerConfig{
		PTTLS:    pttls.ServerConfig{Certificates: []tls.Certificate{p.server}, ClientCAs: p.pool},
		IMVs:     &testIMVs{ev: &events{}, decision: Decision{Recommendation: pb.RecommendationAllowed}},
		OnResult: func(r *Result, _ error) { results <- r },
	}
	addr, _, _ := startServer(t, scfg)
	for _, name := range []string{"tls.Certificate", "PEM"} {
		ccfg := ClientConfig{Addr: addr, PTTLS: pttls.ClientConfig{ServerName: "pdp.test", RootCAs: p.pool}}
		if name == "PEM" {
			ccfg.PTTLS.CertPEM, ccfg.PTTLS.KeyPEM = p.clientCertPEM, p.clientKeyPEM
		} else {
			ccfg.PTTLS.Certificate = &p.client
		}
		res, err := Dial(context.Background(), ccfg, &testIMCs{ev: &events{}})
		if err != nil || res.Recommendation != pb.RecommendationAllowed {
			t.Fatalf("%s: %v %+v", name, err, res)
		}
		if r := <-results; r.Peer.Identity != "client.test" {
			t.Errorf("%s: identity %q", name, r.Peer.Identity)
		}
	}
	// without a certificate and without SASL the server refuses
	_, err := Dial(context.Background(), ClientConfig{Addr: addr, PTTLS: pttls.ClientConfig{ServerName: "pdp.test", RootCAs: p.pool}},
		&testIMCs{ev: &events{}})
	var pe *pttls.PeerError
	if !errors.As(err, &pe) || pe.Code != pttls.ErrSASLMechanismError {
		t.Errorf("anonymous client: %v", err)
	}
	<-results
}

func TestServerVerification(t *testing.T) {
	addr, _, _ := startServer(t, serverConfig(t, &testIMVs{ev: &events{}}))
	for _, tc := range []struct {
		name string
		mod  func(*ClientConfig)
	}{
		{"wrong name", func(c *ClientConfig) { c.PTTLS.ServerName = "other.test" }},
		{"unknown CA", func(c *ClientConfig) { c.PTTLS.CAPEM = nil }},
	} {
		ccfg := clientConfig(t, addr)
		tc.mod(&ccfg)
		if _, err := Dial(context.Background(), ccfg, &testIMCs{ev: &events{}}); err == nil {
			t.Errorf("%s: connected", tc.name)
		}
	}
	// InsecureSkipVerify works and warns every time
	log, buf := testLogger("imchost", hclog.Warn)
	for i := 0; i < 2; i++ {
		ccfg := clientConfig(t, addr)
		ccfg.PTTLS.CAPEM, ccfg.PTTLS.InsecureSkipVerify, ccfg.Logger = nil, true, log
		if _, err := Dial(context.Background(), ccfg, &testIMCs{ev: &events{}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), "verification is DISABLED"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, buf.String())
	}
}

// TestRoundLimit: an IMV that never stops asking is cut off by the
// client's round limit with a Local Error in a CLOSE batch.
func TestRoundLimit(t *testing.T) {
	serverErr := make(chan error, 1)
	scfg := serverConfig(t, &testIMVs{ev: &events{}, endless: true})
	scfg.OnResult = func(_ *Result, err error) { serverErr <- err }
	addr, _, _ := startServer(t, scfg)
	ccfg := clientConfig(t, addr)
	ccfg.MaxRounds = 5
	res, err := Dial(context.Background(), ccfg, &testIMCs{ev: &events{}})
	if !errors.Is(err, ErrTooManyRounds) || res.BatchesReceived != 6 {
		t.Fatalf("err = %v, result %+v", err, res)
	}
	var re *RemoteError
	if err := <-serverErr; !errors.As(err, &re) || re.Msg.Code != uint16(pb.ErrLocalError) || !re.Msg.Fatal {
		t.Errorf("server got %v", err)
	}
}

// TestServerShutdown: cancelling Serve's context ends running connections
// and leaks no goroutine.
func TestServerShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		scfg := serverConfig(t, &testIMVs{ev: &events{}, decision: Decision{Recommendation: pb.RecommendationAllowed}})
		ln, addr := listen(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- (&Server{Config: scfg}).Serve(ctx, ln) }()
		// a few complete assessments
		for i := 0; i < 3; i++ {
			if _, err := Dial(context.Background(), clientConfig(t, addr), &testIMCs{ev: &events{}}); err != nil {
				t.Fatal(err)
			}
		}
		// a client that connects and stalls inside TLS: shutdown must end it
		stalled := dialRaw(t, addr)
		defer stalled.Close()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after cancel")
		}
	}()
	settleGoroutines(t, before)
}
