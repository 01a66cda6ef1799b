package tnccs

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/imchost/imchost/tnccs/pb"
)

func mustBatch(t *testing.T, b *pb.Batch) []byte {
	t.Helper()
	out, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sentTypes(t *testing.T, conn *memConn) []string {
	var out []string
	for _, raw := range conn.sent {
		b, err := pb.ParseBatch(raw, pb.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range b.Messages {
			names = append(names, m.Type().String())
		}
		out = append(out, b.Type.String()+" ["+strings.Join(names, " ")+"]")
	}
	return out
}

// TestClientMessageHandling: result-only messages outside RESULT are
// ignored, non-fatal PB-Errors, unknown, experimental and mutual messages
// are recorded or skipped, a PDP-Referral is kept, SRETRY restarts the
// IMCs' handshake, and Quarantined gives the IMCs state Isolated.
func TestClientMessageHandling(t *testing.T) {
	pa := &pb.MsgPA{Vendor: pb.VendorIETF, Subtype: 1, Collector: pb.AnyID, Validator: 1, Body: []byte("hello")}
	nonFatal := &pb.MsgError{Vendor: pb.VendorIETF, Code: uint16(pb.ErrLocalError), Params: []byte{0, 0, 0, 0}}
	sdata := &pb.Batch{Type: pb.BatchSDATA, FromServer: true, Messages: []pb.Message{
		&pb.MsgAccessRecommendation{Recommendation: pb.RecommendationDenied},
		&pb.MsgAssessmentResult{Result: pb.ResultError},
		&pb.MsgReasonString{Text: "not now", Lang: "en"},
		nonFatal,
		&pb.MsgUnknown{MsgType: pb.MsgType{Vendor: 0x1234, Type: 7}, Value: []byte{1}},
		&pb.MsgExperimental{Value: []byte{2}},
		&pb.MsgMutualCapability{Flags: pb.MutualHalfDuplex},
		&pb.MsgPDPReferral{Vendor: pb.VendorTCG, IDType: pb.PDPIDFQDN, Port: 271, FQDN: "pdp.example"},
		pa,
	}}
	sretry := &pb.Batch{Type: pb.BatchSRETRY, FromServer: true}
	result := &pb.Batch{Type: pb.BatchRESULT, FromServer: true, Messages: []pb.Message{
		&pb.MsgAssessmentResult{Result: pb.ResultNonCompliantMajor},
		&pb.MsgAccessRecommendation{Recommendation: pb.RecommendationQuarantined},
		&pb.MsgReasonString{Text: "firewall off", Lang: "en"},
		&pb.MsgRemediationParameters{Vendor: pb.VendorIETF, ParamType: pb.RemediationURI, URI: "https://fix.example/"},
	}}
	conn := &memConn{in: [][]byte{mustBatch(t, sdata), mustBatch(t, sretry), mustBatch(t, result)}}
	ev := &events{}
	res, err := NewClient(ClientConfig{Language: "de, en"}, &testIMCs{ev: ev}).Run(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"open 1", "state 0", "state 1", "begin",
		"receive 000000/1 hello", "batch ending",
		"state 1", "begin", "batch ending",
		"state 3", "batch ending", "close",
	}
	if got := ev.list(); !reflect.DeepEqual(got, want) {
		t.Errorf("IMC calls %q", got)
	}
	if got, want := sentTypes(t, conn), []string{
		"CDATA [IETF/PB-Language-Preference IETF/PB-PA]",
		"CDATA []",
		"CDATA [IETF/PB-PA]",
		"CLOSE []",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("sent %q", got)
	}
	if got := string(conn.sent[0][8+12 : 8+12+23]); got != "Accept-Language: de, en" {
		t.Errorf("language preference %q", got)
	}
	if res.AssessmentResult != pb.ResultNonCompliantMajor || res.Recommendation != pb.RecommendationQuarantined ||
		!reflect.DeepEqual(res.Reasons, []Reason{{"firewall off", "en"}}) ||
		!reflect.DeepEqual(res.Remediation, &Remediation{URI: "https://fix.example/"}) ||
		res.PDPReferral == nil || res.PDPReferral.FQDN != "pdp.example" ||
		len(res.Errors) != 1 || !reflect.DeepEqual(res.Errors[0], nonFatal) {
		t.Errorf("result %+v", res)
	}
}

// TestClientOpenFails: IMCs that cannot open end the run before any batch.
func TestClientOpenFails(t *testing.T) {
	conn := &memConn{}
	if _, err := NewClient(ClientConfig{}, &testIMCs{ev: &events{}, failOpen: true}).Run(context.Background(), conn); err == nil || len(conn.sent) != 0 {
		t.Errorf("err %v, sent %d", err, len(conn.sent))
	}
}

// TestClientConnectionIDs: a Client numbers its connections from 1.
func TestClientConnectionIDs(t *testing.T) {
	c := NewClient(ClientConfig{}, &testIMCs{ev: &events{}})
	for want := ConnID(1); want <= 3; want++ {
		res, _ := c.Run(context.Background(), &memConn{})
		if res.ConnID != want {
			t.Errorf("ConnID %d, want %d", res.ConnID, want)
		}
	}
}

// TestServerRetryAndEarlyResult: an empty first CDATA gets a RESULT at
// once; a CRETRY after RESULT gets a fresh decision; CLOSE ends normally.
func TestServerRetryAndEarlyResult(t *testing.T) {
	cdata := mustBatch(t, &pb.Batch{Type: pb.BatchCDATA, Messages: []pb.Message{&pb.MsgLanguagePreference{Languages: "en"}}})
	cretry := mustBatch(t, &pb.Batch{Type: pb.BatchCRETRY})
	closeB := mustBatch(t, &pb.Batch{Type: pb.BatchCLOSE})
	conn := &memConn{in: [][]byte{cdata, cretry, closeB}}
	ev := &events{}
	d := Decision{Result: pb.ResultDontKnow, Recommendation: 0,
		Reasons: []Reason{{"no data", "en"}}, Remediation: &Remediation{Text: "run the agent", Lang: "en"}}
	res, err := (&Server{Config: ServerConfig{IMVs: &testIMVs{ev: ev, decision: d}}}).Run(context.Background(), conn, Peer{Identity: "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"RESULT [IETF/PB-PA IETF/PB-Assessment-Result IETF/PB-Access-Recommendation IETF/PB-Reason-String IETF/PB-Remediation-Parameters]",
		"RESULT [IETF/PB-PA IETF/PB-Assessment-Result IETF/PB-Access-Recommendation IETF/PB-Reason-String IETF/PB-Remediation-Parameters]",
	}
	if got := sentTypes(t, conn); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %q", got)
	}
	// the zero recommendation goes out as Access Denied
	b, _ := pb.ParseBatch(conn.sent[0], pb.ParseOptions{Receiver: pb.SideClient})
	if r := b.Messages[2].(*pb.MsgAccessRecommendation); r.Recommendation != pb.RecommendationDenied {
		t.Errorf("recommendation %v", r.Recommendation)
	}
	if !res.Decided || res.Recommendation != pb.RecommendationDenied || res.Peer.Identity != "x" {
		t.Errorf("result %+v", res)
	}
	if got := ev.list(); !reflect.DeepEqual(got, []string{"open 1 x lang=en", "batch ending", "decide", "batch ending", "decide", "close"}) {
		t.Errorf("IMV calls %q", got)
	}
}

// TestServerEnds: a client CLOSE before the decision, a fatal PB-Error
// from the client, a transport EOF and the round limit.
func TestServerEnds(t *testing.T) {
	cdata := mustBatch(t, &pb.Batch{Type: pb.BatchCDATA})
	fatal := mustBatch(t, &pb.Batch{Type: pb.BatchCDATA, Messages: []pb.Message{pb.NewErrorMsg(&pb.Error{Code: pb.ErrLocalError})}})
	closeB := mustBatch(t, &pb.Batch{Type: pb.BatchCLOSE})
	endless := func() IMVs { return &testIMVs{ev: &events{}, endless: true} }
	for _, tc := range []struct {
		name  string
		in    [][]byte
		imvs  IMVs
		check func(error) bool
		last  string
	}{
		{"close early", [][]byte{cdata, closeB}, endless(), func(err error) bool { return errors.Is(err, ErrClosed) }, "SDATA [IETF/PB-PA]"},
		{"fatal error", [][]byte{cdata, fatal}, endless(), func(err error) bool {
			var re *RemoteError
			return errors.As(err, &re)
		}, "CLOSE []"},
		{"eof", [][]byte{cdata}, endless(), func(err error) bool { return errors.Is(err, ErrClosed) }, "SDATA [IETF/PB-PA]"},
		{"round limit", [][]byte{cdata, cdata, cdata, cdata}, endless(), func(err error) bool { return errors.Is(err, ErrTooManyRounds) },
			"CLOSE [IETF/PB-Error]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := &memConn{in: tc.in}
			s := &Server{Config: ServerConfig{IMVs: tc.imvs, Options: Options{MaxRounds: 3}}}
			_, err := s.Run(context.Background(), conn, Peer{})
			if !tc.check(err) {
				t.Fatalf("err = %v", err)
			}
			got := sentTypes(t, conn)
			if len(got) == 0 || got[len(got)-1] != tc.last {
				t.Errorf("sent %q", got)
			}
		})
	}
}
