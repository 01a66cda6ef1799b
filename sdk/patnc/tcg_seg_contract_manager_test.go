package patnc

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestContractArithmetic(t *testing.T) {
	for _, c := range []struct {
		imv, imc         uint32
		wantReq, wantRsp uint32
	}{
		{65490, 32722, 65466, 32698},         // strongSwan's EAP default
		{2097104, 2097104, 2097080, 2097080}, // PT-TLS defaults (verified)
		{32722, 65490, 32698, 32698},         // a smaller request is kept
		{0, 65490, NoLimit, NoLimit},         // no segmentation stays so
		{10, 65490, 0, 0},                    // saturates
	} {
		ci, req := NewContractRequest(c.imv)
		cr, resp := RespondToContract(req, c.imc)
		ci.Accept(resp)
		if req.MaxMsgSize != NoLimit || req.MaxSegSize != c.wantReq || resp.MaxMsgSize != NoLimit ||
			resp.MaxSegSize != c.wantRsp || ci.MaxSegSize != c.wantRsp || cr.MaxSegSize != c.wantRsp {
			t.Errorf("%d/%d: request %+v response %+v", c.imv, c.imc, req, resp)
		}
	}
	null, _ := NewContractRequest(NoLimit)
	if !null.IsNull() || null.String() != "null contract" {
		t.Errorf("null contract: %v", null)
	}
	lim := &Contract{MaxMsgSize: 1000, MaxSegSize: NoLimit}
	if lim.String() != "maximum message size of 1000 bytes, with no segmentation" {
		t.Errorf("got %q", lim)
	}
}

// TestContractVerifiedProbe reproduces the 6.0.6 probe (TCG IF-M Segmentation §5):
// contract (no limit, 60), the 92-byte AIK value gives a 60-byte first
// envelope and, on Next Segment, a 44-byte last one.
func TestContractVerifiedProbe(t *testing.T) {
	aikValue := mustHex(t, "803059301306072a8648ce3d020106082a8648ce3d0301070342000498576b52"+
		"5eb41e15731f1f7633e14bb9023d87733ab9ddd4c4303e99f7f27dae99472657"+
		"1e7b70e3e898b631aed6b4c9b964868c2005a9aef76440b6874bc052")
	aik := &AIK{Naked: true, DER: aikValue[1:]}
	c, resp := RespondToContract(&SegContractRequest{MaxMsgSize: NoLimit, MaxSegSize: 60}, 2097104)
	if resp.MaxSegSize != 60 {
		t.Fatalf("response %+v", resp)
	}
	msgs, dropped, err := c.Split([]Attr{resp, aik}, 2097104)
	if err != nil || len(dropped) != 0 || len(msgs) != 1 || len(msgs[0]) != 2 {
		t.Fatalf("Split: %v %v %v", msgs, dropped, err)
	}
	first, err := MarshalAttr(msgs[0][1])
	if err != nil {
		t.Fatal(err)
	}
	want := append(mustHex(t, "00005597 00000023 0000004c c0000001 00005597 0e000000 00000068"), aikValue[:48]...)
	if !bytes.Equal(first, want) {
		t.Fatalf("first envelope\n got %x\nwant %x", first, want)
	}
	next, err := c.NextSegment(&NextSegment{BaseMsgID: 1})
	if err != nil {
		t.Fatal(err)
	}
	last, _ := MarshalAttr(next)
	want = append(mustHex(t, "00005597 00000023 0000003c 00000001"), aikValue[48:]...)
	if !bytes.Equal(last, want) {
		t.Fatalf("last envelope\n got %x\nwant %x", last, want)
	}
	if c.Pending() != 0 {
		t.Error("segments left after the last one")
	}
	if _, err := c.NextSegment(&NextSegment{BaseMsgID: 1}); !errors.Is(err, ErrUnknownSegment) {
		t.Errorf("next after last: %v", err)
	}

	// the receiving side reassembles it
	var r Contract
	a, ns, err := r.Reassemble(msgs[0][1].(*SegEnvelope))
	if err != nil || a != nil || ns == nil || ns.BaseMsgID != 1 || ns.Cancel {
		t.Fatalf("first segment: %v %v %v", a, ns, err)
	}
	a, ns, err = r.Reassemble(next)
	if err != nil || ns != nil {
		t.Fatalf("last segment: %v %v", ns, err)
	}
	if !reflect.DeepEqual(a, aik) {
		t.Errorf("reassembled %+v", a)
	}
}

// TestContractSplitPacking packs many attributes into messages of a
// limited size, segments the big ones and reassembles everything.
func TestContractSplitPacking(t *testing.T) {
	const limit = 300
	_, req := NewContractRequest(limit)
	sender, _ := RespondToContract(req, limit)
	var attrs []Attr
	for i := 0; i < 20; i++ {
		attrs = append(attrs, &ITADummy{Data: bytes.Repeat([]byte{byte(i)}, i*37)})
	}
	msgs, dropped, err := sender.Split(attrs, limit)
	if err != nil || len(dropped) != 0 {
		t.Fatalf("Split: %v, dropped %d", err, len(dropped))
	}
	receiver := &Contract{MaxMsgSize: NoLimit, MaxSegSize: sender.MaxSegSize}
	var got []Attr
	var queue []*SegEnvelope
	for _, m := range msgs {
		body, err := (&Message{Attrs: m}).Marshal()
		if err != nil || len(body) > limit {
			t.Fatalf("message of %d bytes (limit %d): %v", len(body), limit, err)
		}
		for _, a := range m {
			if env, ok := a.(*SegEnvelope); ok {
				queue = append(queue, env)
			} else {
				got = append(got, a)
			}
		}
	}
	for len(queue) > 0 {
		env := queue[0]
		queue = queue[1:]
		a, ns, err := receiver.Reassemble(env)
		if err != nil {
			t.Fatal(err)
		}
		if ns != nil {
			next, err := sender.NextSegment(ns)
			if err != nil {
				t.Fatal(err)
			}
			if enc, _ := MarshalAttr(next); len(enc)+MsgHeaderLen > limit {
				t.Fatalf("next segment of %d bytes", len(enc))
			}
			queue = append(queue, next)
		}
		if a != nil {
			got = append(got, a)
		}
	}
	if len(got) != len(attrs) || sender.Pending() != 0 {
		t.Fatalf("got %d attributes back, %d pending", len(got), sender.Pending())
	}
	seen := map[int]bool{}
	for _, a := range got {
		d := a.(*ITADummy)
		n := len(d.Data) / 37
		if !bytes.Equal(d.Data, bytes.Repeat([]byte{byte(n)}, n*37)) {
			t.Errorf("attribute %d corrupted", n)
		}
		seen[n] = true
	}
	if len(seen) != len(attrs) {
		t.Errorf("duplicates: %v", seen)
	}
}

func TestContractSplitDropsAndNoContract(t *testing.T) {
	var c *Contract // no contract: nothing segmented
	big := &ITADummy{Data: make([]byte, 200)}
	small := &ITADummy{Data: make([]byte, 10)}
	msgs, dropped, err := c.Split([]Attr{small, big, small}, 100)
	if err != nil || len(dropped) != 1 || dropped[0] != big || len(msgs) != 2 || len(msgs[0]) != 1 || len(msgs[1]) != 1 {
		t.Fatalf("got %v %v %v", msgs, dropped, err)
	}
	msgs, dropped, _ = c.Split([]Attr{small, big}, 0)
	if len(msgs) != 1 || len(msgs[0]) != 2 || len(dropped) != 0 {
		t.Fatalf("unlimited: %v %v", msgs, dropped)
	}
	if _, _, err := c.Split([]Attr{&ForwardingEnabled{Status: 9}}, 0); err == nil {
		t.Error("invalid attribute packed")
	}
	// a tiny limit never loops forever
	seg := &Contract{MaxMsgSize: NoLimit, MaxSegSize: 16}
	msgs, dropped, _ = seg.Split([]Attr{small, big}, 30)
	if len(dropped) != 1 || dropped[0] != big || len(msgs) != 1 {
		t.Fatalf("tiny limit: %v %v", msgs, dropped)
	}
	// an attribute over MaxMsgSize is not segmented (strongSwan: oversize)
	over := &Contract{MaxMsgSize: 100, MaxSegSize: 16}
	msgs, _, _ = over.Split([]Attr{big}, 0)
	if _, isEnv := msgs[0][0].(*SegEnvelope); isEnv {
		t.Error("oversized attribute segmented")
	}
}

func TestContractCancelAndErrors(t *testing.T) {
	c := &Contract{MaxMsgSize: NoLimit, MaxSegSize: 20}
	msgs, _, _ := c.Split([]Attr{&ITADummy{Data: make([]byte, 100)}}, 0)
	env := msgs[0][0].(*SegEnvelope)
	if len(env.Segment) != 20 || c.Pending() != 1 {
		t.Fatalf("first segment %d bytes", len(env.Segment))
	}
	if e, err := c.NextSegment(&NextSegment{Cancel: true, BaseMsgID: env.BaseMsgID}); e != nil || err != nil || c.Pending() != 0 {
		t.Fatalf("cancel: %v %v", e, err)
	}

	var r Contract
	hdr := [8]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7}
	for _, tc := range []struct {
		name string
		envs []*SegEnvelope
		off  uint32
	}{
		{"short first segment", []*SegEnvelope{{Start: true, More: true, BaseMsgID: 7, Segment: []byte{1}}}, 0},
		{"length below header", []*SegEnvelope{{Start: true, More: true, BaseMsgID: 7, Segment: mustHex(t, "0000902a 00000002 0000000b")}}, 8},
		{"segment longer than announced", []*SegEnvelope{{Start: true, More: false, BaseMsgID: 7, Segment: mustHex(t, "0000902a 00000002 0000000c 00")}}, 8},
		{"last segment short", []*SegEnvelope{{Start: true, More: false, BaseMsgID: 7, Segment: mustHex(t, "0000902a 00000002 0000000e 00")}}, 13},
		{"more after complete", []*SegEnvelope{{Start: true, More: true, BaseMsgID: 7, Segment: mustHex(t, "0000902a 00000002 0000000d 00")}}, 13},
		{"bad base attribute", []*SegEnvelope{{Start: true, More: true, BaseMsgID: 7, Segment: mustHex(t, "00000000 0000000b 00000012 00")},
			{BaseMsgID: 7, Segment: mustHex(t, "0000000003")}}, 16},
		{"grows past announced", []*SegEnvelope{{Start: true, More: true, BaseMsgID: 7, Segment: mustHex(t, "0000902a 00000002 0000000e 00")},
			{BaseMsgID: 7, Segment: mustHex(t, "0000")}}, 13},
	} {
		var err error
		for _, e := range tc.envs {
			if _, _, err = r.Reassemble(e); err != nil {
				break
			}
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Code != ErrInvalidParameter || pe.Offset != tc.off || pe.Header != hdr {
			t.Errorf("%s: %v", tc.name, err)
		}
		if len(r.in) != 0 {
			t.Errorf("%s: failed reassembly kept", tc.name)
		}
	}
	if _, _, err := r.Reassemble(&SegEnvelope{BaseMsgID: 9}); !errors.Is(err, ErrUnknownSegment) {
		t.Errorf("continuation without start: %v", err)
	}
	// limits
	lim := &Contract{MaxPending: 1, MaxReassembled: 100}
	start := func(id uint32, n uint32) error {
		_, _, err := lim.Reassemble(&SegEnvelope{Start: true, More: true, BaseMsgID: id,
			Segment: []byte{0, 0, 0x90, 0x2a, 0, 0, 0, 2, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}})
		return err
	}
	if err := start(1, 101); err == nil {
		t.Error("attribute over MaxReassembled accepted")
	}
	if err := start(1, 50); err != nil {
		t.Fatal(err)
	}
	if err := start(1, 50); err == nil {
		t.Error("base message ID reused")
	}
	if err := start(2, 50); err == nil {
		t.Error("MaxPending exceeded")
	}
}

// TestContractSplitRandom: random attributes, limits and segment sizes;
// every message respects the limit, nothing is lost except what cannot fit
// an empty message, and the receiver gets every attribute back intact.
func TestContractSplitRandom(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(9, 10))}
	types := allKnownTypes()
	for round := 0; round < 300; round++ {
		limit := uint32(40 + g.n(400))
		_, req := NewContractRequest(uint32(40 + g.n(400)))
		sender, _ := RespondToContract(req, limit)
		var attrs []Attr
		for i := g.n(12); i > 0; i-- {
			a := g.attr(types[g.r.IntN(len(types))])
			if _, isEnv := a.(*SegEnvelope); !isEnv {
				attrs = append(attrs, a)
			}
		}
		msgs, dropped, err := sender.Split(attrs, limit)
		if err != nil {
			t.Fatal(err)
		}
		receiver := &Contract{MaxMsgSize: NoLimit, MaxSegSize: sender.MaxSegSize}
		var got []Attr
		for _, m := range msgs {
			body, err := (&Message{Attrs: m}).Marshal()
			if err != nil || len(body) > int(limit) {
				t.Fatalf("round %d: message of %d bytes, limit %d: %v", round, len(body), limit, err)
			}
			for _, a := range m {
				for a != nil {
					env, ok := a.(*SegEnvelope)
					if !ok {
						got = append(got, a)
						break
					}
					base, ns, err := receiver.Reassemble(env)
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					a = base
					if ns != nil {
						if a, err = sender.NextSegment(ns); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		}
		for _, d := range dropped {
			if enc, _ := MarshalAttr(d); len(enc)+MsgHeaderLen <= int(limit) && sender.MaxSegSize == NoLimit {
				t.Errorf("round %d: dropped an attribute of %d bytes that fits", round, len(enc))
			}
		}
		if len(got)+len(dropped) != len(attrs) || sender.Pending() != 0 {
			t.Fatalf("round %d: %d back + %d dropped of %d, %d pending", round, len(got), len(dropped), len(attrs), sender.Pending())
		}
		j := 0
		for _, a := range attrs {
			if j < len(dropped) && dropped[j] == a {
				j++
				continue
			}
			want, _ := MarshalAttr(a)
			found := false
			for _, b := range got {
				if enc, _ := MarshalAttr(b); bytes.Equal(enc, want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("round %d: %s lost", round, a.Type())
			}
		}
	}
}
