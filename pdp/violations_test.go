package pdp

import (
	"context"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
)

// ptsMsg builds an EXCL PTS message from the Attestation IMC.
func ptsMsg(t testing.TB, attrs ...patnc.Attr) tnccs.PAMessage {
	t.Helper()
	body, err := (&patnc.Message{ID: 1, Attrs: attrs}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return tnccs.PAMessage{Vendor: abi.PENTCG, Subtype: 1, Collector: 2, Validator: 2, Exclusive: true, Body: body}
}

// TestAttestationProtocolViolations: what the Attestation IMV refuses, and
// the reason it gives (the order of PTS IF-M Binding §3.7–§3.15 and the
// evidence rules).
func TestAttestationProtocolViolations(t *testing.T) {
	okCaps := &patnc.ProtoCaps{Caps: patnc.CapV | patnc.CapD | patnc.CapT}
	okAlgo := &patnc.MeasAlgoSelection{Alg: patnc.HashSHA256}
	dhResp := func(group patnc.DHGroups, nonceLen int) *patnc.DHNonceParamsResp {
		return &patnc.DHNonceParamsResp{Group: group, HashAlgs: patnc.HashSHA256,
			Nonce: make([]byte, nonceLen), Public: make([]byte, 64)}
	}
	for _, tc := range []struct {
		name   string
		rounds [][]patnc.Attr // client PTS messages, one per batch, after the OS push
		res    Result
		reason string
	}{
		{"no TPM", [][]patnc.Attr{{&patnc.ProtoCaps{Caps: patnc.CapV | patnc.CapD}, okAlgo}},
			ResultError, "no TPM available"},
		{"no DH", [][]patnc.Attr{{&patnc.ProtoCaps{Caps: patnc.CapV | patnc.CapT}, okAlgo}},
			ResultError, "no DH nonce negotiation"},
		{"algorithm not offered", [][]patnc.Attr{{okCaps, &patnc.MeasAlgoSelection{Alg: patnc.HashSHA512}}},
			ResultError, "measurement algorithm SHA512 was not offered"},
		{"answer incomplete", [][]patnc.Attr{{okCaps}},
			ResultError, "PTS protocol capabilities or measurement algorithm missing"},
		{"short nonce", [][]patnc.Attr{{okCaps, okAlgo}, {dhResp(0x1000, 16)}},
			ResultError, "responder nonce has 16 bytes, at least 17 required"},
		{"group not offered", [][]patnc.Attr{{okCaps, okAlgo}, {dhResp(0x0800, 20)}},
			ResultError, "DH group ECP_384 was not offered"},
		{"bad public value", [][]patnc.Attr{{okCaps, okAlgo}, {dhResp(0x1000, 20)}},
			ResultError, "invalid DH public value"},
		{"evidence too early", [][]patnc.Attr{{okCaps, okAlgo, &patnc.SimpleCompEvid{
			Name:     patnc.ComponentName{Vendor: abi.PENITAHSR, Qualifier: 0x21, Name: 3},
			MeasType: patnc.MeasTypeHash, HashAlg: patnc.HashSHA256, Transform: patnc.TransformMatch,
			Time: patnc.UnknownTime(), Measurement: make([]byte, 32)}}},
			ResultError, "evidence received before it was requested"},
		{"IMC error", [][]patnc.Attr{{patnc.NewTCGError(patnc.TCGErrorCode(1), []byte{0, 0, 0xc0, 0})}},
			ResultError, "PA-TNC error 1 received from the IMC"},
		// Answers outside their phase (the old IMV took them whenever
		// they came and went on asking).
		{"capabilities again in the D-H phase", [][]patnc.Attr{{okCaps, okAlgo}, {okCaps}},
			ResultError, "PTS Protocol Capabilities received in the D-H nonce phase (it answers the capabilities phase)"},
		{"TPM version before it was asked", [][]patnc.Attr{{okCaps, okAlgo, &patnc.TPMVersionInfo{Info: []byte{2, 0, 0, 3}}}},
			ResultError, "TPM Version Information received in the capabilities phase (it answers the TPM phase)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := OpenStore(":memory:")
			defer st.Close()
			ctx := context.Background()
			rec := &recorder{}
			c := newConn(testEnv(t, st, DefaultPolicy()), 1, tnccs.Peer{}, rec.send)
			c.Receive(ctx, loadVector(t, "01_02_c2s_*").pa)
			c.BatchEnding(ctx)
			for _, attrs := range tc.rounds {
				rec.take()
				c.Receive(ctx, ptsMsg(t, attrs...))
				c.BatchEnding(ctx)
			}
			if len(rec.msgs) != 0 {
				t.Fatalf("the IMV went on asking: %s", attrShape(t, rec.msgs[0]))
			}
			c.Decide(ctx)
			v := c.result()
			att := v.IMVs[1]
			if att.Result != tc.res || len(att.Reasons) == 0 || !strings.HasPrefix(att.Reasons[0], tc.reason) {
				t.Fatalf("attestation verdict %v %q, want %v %q", att.Result, att.Reasons, tc.res, tc.reason)
			}
			// An error from one IMV makes the connection's result an error.
			// and its access "denied", although the OS IMV allowed.
			if v.Result != ResultError || v.Access != AccessDenied {
				t.Fatalf("combined result %v / %v", v.Result, v.Access)
			}
			// The Attestation IMC hears about it in the RESULT round.
			out := rec.take()
			if len(out) != 1 || attrShape(t, out[0]) != "5597/1 imc=65535 imv=2 excl=false: IETF/Assessment Result" {
				t.Fatalf("final messages: %d", len(out))
			}
		})
	}
}

// TestInvalidPAMessageAnswered: a PA-TNC message of version 2 is answered
// with a PA-TNC Error (Version Not Supported) and ends the work item.
func TestInvalidPAMessageAnswered(t *testing.T) {
	st, _ := OpenStore(":memory:")
	defer st.Close()
	ctx := context.Background()
	rec := &recorder{}
	c := newConn(testEnv(t, st, DefaultPolicy()), 1, tnccs.Peer{}, rec.send)
	c.Receive(ctx, loadVector(t, "01_02_c2s_*").pa)
	c.BatchEnding(ctx)
	rec.take()
	m := ptsMsg(t, &patnc.ProtoCaps{Caps: patnc.CapT})
	m.Body[0] = 2
	c.Receive(ctx, m)
	c.BatchEnding(ctx)
	c.Decide(ctx)
	out := rec.take()
	if len(out) != 2 {
		t.Fatalf("sent %d messages", len(out))
	}
	msg, err := patnc.ParseMessage(out[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := msg.Attrs[0].(*patnc.PATNCError)
	if !ok || e.Code != uint32(patnc.ErrVersionNotSupported) || e.MsgHeader[0] != 2 {
		t.Fatalf("error attribute %+v", msg.Attrs[0])
	}
	if v := c.result(); v.IMVs[1].Result != ResultError {
		t.Fatalf("attestation verdict %+v", v.IMVs[1])
	}
}
