package host

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/tnccs"
)

// TestDispatch: a message goes to every IMC subscribed to its type
// (wildcards included); with EXCL only to the IMC named by Collector.
func TestDispatch(t *testing.T) {
	h, _ := newTestHost(t,
		IMCConfig{Name: "Hello", Path: modPath("hello"), Grants: helloGrants}, // 1: 32473/1
		IMCConfig{Name: "Echo", Path: modPath("echo"), Grants: helloGrants})   // 2: 32473/1, TCG/any
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		t.Fatal(err)
	}
	var s sink
	c, _ := h.OpenConn(ctx, 1, s.send)
	defer c.Close(ctx)
	body := []byte{1, 0, 0, 0, 0, 0, 0, 9}
	collectors := func(m tnccs.PAMessage) []uint16 {
		t.Helper()
		c.Receive(ctx, m)
		var out []uint16
		for _, r := range s.take() {
			out = append(out, r.Collector)
		}
		return out
	}
	tests := []struct {
		name string
		msg  tnccs.PAMessage
		want []uint16
	}{
		{"by type", tnccs.PAMessage{Vendor: 32473, Subtype: 1, Collector: 0xffff, Validator: 1, Body: body}, []uint16{1, 2}},
		{"EXCL to 2", tnccs.PAMessage{Vendor: 32473, Subtype: 1, Collector: 2, Validator: 1, Exclusive: true, Body: body}, []uint16{2}},
		{"EXCL to 1", tnccs.PAMessage{Vendor: 32473, Subtype: 1, Collector: 1, Validator: 1, Exclusive: true, Body: body}, []uint16{1}},
		{"EXCL to an IMC not subscribed", tnccs.PAMessage{Vendor: abi.PENTCG, Subtype: 1, Collector: 1, Validator: 1, Exclusive: true, Body: body}, nil},
		{"collector without EXCL is ignored", tnccs.PAMessage{Vendor: 32473, Subtype: 1, Collector: 1, Validator: 1, Body: body}, []uint16{1, 2}},
		{"subtype wildcard", tnccs.PAMessage{Vendor: abi.PENTCG, Subtype: 77, Collector: 0xffff, Validator: 1, Body: body}, []uint16{2}},
		{"nobody subscribed", tnccs.PAMessage{Vendor: 0, Subtype: 1, Collector: 0xffff, Validator: 1, Body: body}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := collectors(tc.msg)
			if len(got) != len(tc.want) {
				t.Fatalf("answered by %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("answered by %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestExplicitIDs: an [[imc]] id is kept; automatic numbering skips it.
func TestExplicitIDs(t *testing.T) {
	h, _ := newTestHost(t,
		IMCConfig{Name: "A", Path: modPath("hello"), Grants: helloGrants},
		IMCConfig{Name: "B", ID: 1, Path: modPath("echo"), Grants: helloGrants},
		IMCConfig{Name: "C", ID: 7, Path: modPath("echo"), Grants: helloGrants})
	if err := h.LoadIMCs(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint32{}
	for _, m := range h.List() {
		got[m.Name] = m.ID
	}
	if got["A"] != 2 || got["B"] != 1 || got["C"] != 7 {
		t.Fatalf("ids %v", got)
	}
}

// TestCloseWithCanceledContext: Close after the connection's context ended
// still terminates the IMCs cleanly (no failure logged).
func TestCloseWithCanceledContext(t *testing.T) {
	h, logs := newTestHost(t, IMCConfig{Name: "Hello", Path: modPath("hello"), Grants: helloGrants})
	if err := h.LoadIMCs(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var s sink
	c, _ := h.OpenConn(ctx, 1, s.send)
	c.BeginHandshake(ctx)
	cancel()
	c.Close(ctx)
	if h.Instances() != 0 || strings.Contains(logs.String(), "canceled") {
		t.Fatalf("instances %d, log:\n%s", h.Instances(), logs.String())
	}
}

// TestEchoBodiesIntact: the Go SDK encodes every send into one buffer it
// reuses (sdk/imc sendBuf); the messages the echo module sends back, a long
// one then shorter ones, each arrive with the body it was given, none
// overwritten by the next.
func TestEchoBodiesIntact(t *testing.T) {
	h, _ := newTestHost(t, IMCConfig{Name: "Echo", Path: modPath("echo"), Grants: helloGrants})
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		t.Fatal(err)
	}
	var s sink
	c, err := h.OpenConn(ctx, 1, s.send)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var want [][]byte
	for i, n := range []int{3, 2, 1} {
		attr := bytes.Repeat([]byte{byte('a' + i)}, 100*n)
		body := testutil.PAMsg(testutil.PAAttr(32473, 1, attr))
		want = append(want, body)
		c.Receive(ctx, tnccs.PAMessage{Vendor: 32473, Subtype: 1, Collector: 0xffff, Validator: 1, Body: body})
	}
	got := s.take()
	if len(got) != len(want) {
		t.Fatalf("%d messages echoed, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Body, want[i]) {
			t.Errorf("message %d came back as %q, want %q", i, got[i].Body, want[i])
		}
	}
}
