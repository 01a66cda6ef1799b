package patnc

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkParseEvidence decodes the recorded 9111-byte message with
// Symlinks, 105 Simple Component Evidence and Simple Evidence Final.
func BenchmarkParseEvidence(b *testing.B) {
	var msg []byte
	for _, v := range loadVectors(b) {
		if len(v.attrs) == 107 {
			msg = v.msg
		}
	}
	if msg == nil {
		b.Fatal("evidence vector missing")
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse1000 decodes a synthetic message of 1000 random attributes
// of every catalog type.
func BenchmarkParse1000(b *testing.B) {
	g := gen{rand.New(rand.NewPCG(7, 8))}
	msg, err := g.message(1000).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshalEvidence encodes the decoded evidence message again.
func BenchmarkMarshalEvidence(b *testing.B) {
	var m *Message
	for _, v := range loadVectors(b) {
		if len(v.attrs) == 107 {
			m, _ = ParseMessage(v.msg)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
