package patnc

import (
	"bytes"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"
)

// FuzzParseMessage feeds whole PA-TNC messages to ParseMessage. Seeds are
// the recorded strongSwan messages (the attestation exchange and the
// SWIMA messages of testdata/swima), one message per catalog type (so that
// every attribute decoder is reachable) and the table cases.
func FuzzParseMessage(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.msg)
	}
	for _, name := range []string{"strongswan-sw-id-inventory.hex", "strongswan-sw-id-events.hex"} {
		b, err := os.ReadFile(testutil.Data("swima", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(mustHex(f, strings.TrimSpace(string(b))))
	}
	g := gen{rand.New(rand.NewPCG(5, 6))}
	for _, typ := range allKnownTypes() {
		m := &Message{ID: 1, Attrs: []Attr{g.attr(typ)}}
		enc, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	for _, c := range attrCases {
		v := mustHex(f, c.value)
		a := &Unknown{T: c.t, Value: v}
		enc, _ := (&Message{Attrs: []Attr{a}}).Marshal()
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkMessage(t, in)
	})
}

// checkMessage asserts the decoder contract on one input: exactly one of
// message and error; a decoded message re-encodes, and the re-encoding
// decodes to the same message and encodes to the same bytes.
func checkMessage(t *testing.T, in []byte) {
	m, err := ParseMessage(in)
	if (m == nil) == (err == nil) {
		t.Fatalf("want exactly one of message/error, got %v / %v", m, err)
	}
	if err != nil {
		e, ok := err.(*Error)
		if !ok || int(e.Offset) > len(in) {
			t.Fatalf("error %v is not a *Error within the input", err)
		}
		if _, err := MarshalAttr(e.ErrorAttr()); err != nil {
			t.Fatalf("cannot encode the error reply: %v", err)
		}
		return
	}
	enc, err := m.Marshal()
	if err != nil {
		t.Fatalf("decoded message does not re-encode: %v", err)
	}
	m2, err := ParseMessage(enc)
	if err != nil {
		t.Fatalf("re-encoding %x does not decode: %v", enc, err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("round trip differs:\n%#v\n%#v", m, m2)
	}
	enc2, _ := m2.Marshal()
	if !bytes.Equal(enc, enc2) {
		t.Fatalf("second encoding differs")
	}
	if len(enc) > len(in) {
		t.Fatalf("re-encoding grew from %d to %d bytes", len(in), len(enc))
	}
}

// FuzzReassemble feeds a sequence of envelope values to a Contract: it
// must never panic, never hold more than its limits, and a completed
// attribute must re-encode.
func FuzzReassemble(f *testing.F) {
	f.Add(mustHex(f, "c0000001 00005597 0e000000 00000014 80 0102"), mustHex(f, "00000001 030405060708"))
	f.Add(mustHex(f, "40000002 0000902a 00000008 0000000e 6162"), []byte{})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		c := &Contract{MaxReassembled: 1 << 12, MaxPending: 2}
		for _, v := range [][]byte{a, b, a} {
			var env SegEnvelope
			if env.UnmarshalValue(v) != nil {
				continue
			}
			attr, ns, err := c.Reassemble(&env)
			if attr != nil && (ns != nil || err != nil) {
				t.Fatal("attribute with next request or error")
			}
			if attr != nil {
				if _, err := MarshalAttr(attr); err != nil {
					t.Fatalf("reassembled attribute does not encode: %v", err)
				}
			}
			if len(c.in) > 2 {
				t.Fatal("MaxPending exceeded")
			}
			for _, p := range c.in {
				if cap(p.buf) > 1<<12 {
					t.Fatal("MaxReassembled exceeded")
				}
			}
		}
	})
}

// FuzzParseSWIMAErrorInfo: the SWIMA error information decoder never
// panics, and what it returns re-encodes to its input.
func FuzzParseSWIMAErrorInfo(f *testing.F) {
	f.Add(uint8(6), NewSWIMAError(ErrSWIMAResponseTooLarge, 7, 65536, "response too large").Info)
	f.Add(uint8(4), NewSWIMAError(ErrSWIMA, 1, 0, "failed to collect SW inventory").Info)
	f.Fuzz(func(t *testing.T, code uint8, in []byte) {
		c := ErrorCode(code)
		v, err := ParseSWIMAErrorInfo(c, in)
		if err != nil {
			return
		}
		if out := NewSWIMAError(c, v.RequestID, v.MaxSize, v.Description).Info; !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs: %x, in %x", out, in)
		}
	})
}

// FuzzSubscriptionStatusResponse: the Subscription Status Response decoder
// (RFC 8412 §5.12) never panics, and what it accepts re-encodes to its
// input (the reserved Status Flags as zero).
func FuzzSubscriptionStatusResponse(f *testing.F) {
	fuzzReencodes(f, TypeSubscriptionStatusResponse, func() Attr { return new(SubscriptionStatusResponse) }, 1)
}

// FuzzSourceMetadataResponse: the Source Metadata Response decoder (RFC
// 8412 §5.14) never panics, and what it accepts re-encodes to its input
// (the reserved field as zero).
func FuzzSourceMetadataResponse(f *testing.F) {
	fuzzReencodes(f, TypeSourceMetadataResponse, func() Attr { return new(SourceMetadataResponse) }, 2)
}

// fuzzReencodes fuzzes the decoder of attributes of type typ (seeded with
// attrCases' values of that type): it never panics, and a value it accepts
// re-encodes to the same bytes, its first reserved bytes as zero.
func fuzzReencodes(f *testing.F, typ Type, newAttr func() Attr, reserved int) {
	for _, c := range attrCases {
		if c.t == typ {
			f.Add(mustHex(f, c.value))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a := newAttr()
		if a.UnmarshalValue(in) != nil {
			return
		}
		enc, err := MarshalAttr(a)
		if err != nil {
			t.Fatalf("MarshalAttr: %v", err)
		}
		want := bytes.Clone(in)
		clear(want[:reserved])
		if !bytes.Equal(enc[12:], want) {
			t.Fatalf("re-encoding %x, input %x", enc[12:], in)
		}
	})
}
