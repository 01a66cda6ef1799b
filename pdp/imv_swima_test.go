package pdp

import (
	"context"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
)

// swimaAttrs decodes the SWIMA messages among out.
func swimaAttrs(t *testing.T, out []tnccs.PAMessage) []patnc.Attr {
	t.Helper()
	var attrs []patnc.Attr
	for _, m := range out {
		if m.Vendor != abi.PENIETF || m.Subtype != subtypeSWIMA {
			continue
		}
		msg, err := patnc.ParseMessage(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		attrs = append(attrs, msg.Attrs...)
	}
	return attrs
}

// TestSWIMAStatusResubscribes: with sw_reassess, a re-assessment under a
// standing subscription asks for the Subscription Status (RFC 8412
// §3.8.4) beside its SW Request; an endpoint that lists the subscription
// is left alone, one that no longer lists it gets a new subscribing SW
// Request under the same ID before the IMV decides.
func TestSWIMAStatusResubscribes(t *testing.T) {
	for _, lost := range []bool{false, true} {
		st, _ := OpenStore(":memory:")
		defer st.Close()
		ctx := context.Background()
		p := DefaultPolicy()
		p.SWIMA, p.SWReassess = true, true
		rec := &recorder{}
		c := newConn(testEnv(t, st, p), 1, tnccs.Peer{}, rec.send)
		c.swSub = 77 // established in an earlier assessment of the session
		c.Restart(ctx)
		c.BatchEnding(ctx)
		attrs := swimaAttrs(t, rec.take())
		req, ok := attrs[0].(*patnc.SWRequest)
		if len(attrs) != 2 || !ok || req.RequestID != 77 || req.Flags&patnc.SWReqSubscribe != 0 ||
			attrs[1].Type() != patnc.TypeSubscriptionStatusRequest {
			t.Fatalf("re-assessment request %#v", attrs)
		}
		status := &patnc.SubscriptionStatusResponse{Subscriptions: []patnc.SubscriptionRecord{{Flags: patnc.SWReqSubscribe, RequestID: 77}}}
		if lost {
			status.Subscriptions = []patnc.SubscriptionRecord{}
		}
		body, err := (&patnc.Message{ID: 2, Attrs: []patnc.Attr{
			&patnc.SWEvents{RequestID: 77, EIDEpoch: 1, LastEID: 4, LastConsultedEID: 4}, status}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		c.Receive(ctx, tnccs.PAMessage{Vendor: abi.PENIETF, Subtype: subtypeSWIMA, Collector: 3, Validator: SWIMAIMVID, Exclusive: true, Body: body})
		c.BatchEnding(ctx)
		attrs = swimaAttrs(t, rec.take())
		if !lost {
			// Nothing more to ask: the assessment waits for the RESULT batch.
			if c.swSub != 77 || len(attrs) != 0 {
				t.Fatalf("subscription listed: swSub %d, sent %#v", c.swSub, attrs)
			}
			c.Decide(ctx)
			if attrs = swimaAttrs(t, rec.take()); len(attrs) != 1 || attrs[0].Type() != patnc.TypeAssessmentResult {
				t.Fatalf("subscription listed: the decision sent %#v", attrs)
			}
			continue
		}
		req, ok = attrs[0].(*patnc.SWRequest)
		if len(attrs) != 1 || !ok || req.RequestID != 77 || req.Flags&patnc.SWReqSubscribe == 0 || c.swSub != 77 {
			t.Fatalf("subscription lost: swSub %d, sent %#v", c.swSub, attrs)
		}
	}
}
