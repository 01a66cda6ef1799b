package capability

import (
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/tnccs"
)

// paBench is a PA-TNC message of n attributes of size bytes each: 8 of 30
// bytes is the OS IMC's first message, 105 of 250 the Attestation IMC's
// evidence message with the bundled boot log.
func paBench(n, size int) []byte {
	var attrs [][]byte
	for range n {
		attrs = append(attrs, testutil.PAAttr(0x5597, 0x00000009, make([]byte, size-12)))
	}
	return testutil.PAMsg(attrs...)
}

var paBenchSizes = []struct {
	name    string
	n, size int
}{{"os-8x30", 8, 30}, {"evidence-105x250", 105, 250}}

// BenchmarkSend is the send host function natively (decode the header,
// lane, PA-TNC framing, budget, hand to the SendFunc), on a connection
// with room for every message.
func BenchmarkSend(b *testing.B) {
	for _, sz := range paBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			in := append(abi.AppendMessageHeader(nil, abi.MessageHeader{Type: benchType, Validator: 1}), paBench(sz.n, sz.size)...)
			s := NewSession(SessionConfig{IMCID: 1, Conn: 1, SendTypes: []abi.MsgType{benchType},
				MaxBatchSize: 1 << 30, Send: func(tnccs.PAMessage) error { return nil }})
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, st := s.Call(abi.FnSend, in); st != abi.StatusOK {
					b.Fatal(st)
				}
				s.EndRound()
			}
		})
	}
}

// BenchmarkPATNCFraming is the RFC 5792 framing check of send alone.
func BenchmarkPATNCFraming(b *testing.B) {
	for _, sz := range paBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			body := paBench(sz.n, sz.size)
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := CheckPATNC(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchType is the PA message type of the send benchmarks.
var benchType = abi.MsgType{Vendor: 32473, Subtype: 1}
