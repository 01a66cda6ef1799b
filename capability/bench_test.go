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

// BenchmarkNameLookup is the part of a native call (Session.Call) that
// resolves the name, in one run for the three ways to do it: the perfect
// hash Lookup uses, the map it replaced, and a string switch over the same
// names such as the host had before the table (issue 21). Each op resolves
// the four names of BenchmarkDispatch's native cases (host/bench_test.go).
func BenchmarkNameLookup(b *testing.B) {
	names4 := []string{abi.FnConfigGet, abi.FnHash, abi.FnRandom, "no_such_function"}
	m := map[string]*Func{}
	for _, f := range funcs {
		m[f.Name] = f
	}
	var sink *Func
	b.Run("perfect-hash", func(b *testing.B) {
		for b.Loop() {
			for _, n := range names4 {
				sink = Lookup(n)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			for _, n := range names4 {
				sink = m[n]
			}
		}
	})
	b.Run("switch", func(b *testing.B) {
		for b.Loop() {
			for _, n := range names4 {
				sink = switchLookup(n)
			}
		}
	})
	_ = sink
}

// switchLookup is a string switch over the table's names, the shape of the
// host's dispatch before the table (for BenchmarkNameLookup only).
func switchLookup(fn string) *Func {
	i := -1
	switch fn {
	case abi.FnSend:
		i = 0
	case abi.FnSubscribe:
		i = 1
	case abi.FnConfigGet:
		i = 2
	case abi.FnOSRelease:
		i = 3
	case abi.FnSystemFacts:
		i = 4
	case abi.FnPackages:
		i = 5
	case abi.FnSWInventory:
		i = 6
	case abi.FnSWEvents:
		i = 7
	case abi.FnReport:
		i = 8
	case abi.FnTPMVersionInfo:
		i = 9
	case abi.FnTPMBanks:
		i = 10
	case abi.FnTPMAIK:
		i = 11
	case abi.FnTPMQuote:
		i = 12
	case abi.FnEventLog:
		i = 13
	case abi.FnIMAEvents:
		i = 14
	case abi.FnFileMeasure:
		i = 15
	case abi.FnFileMetadata:
		i = 16
	case abi.FnSymlinks:
		i = 17
	case abi.FnDHCreate:
		i = 18
	case abi.FnDHFinish:
		i = 19
	case abi.FnHash:
		i = 20
	case abi.FnRandom:
		i = 21
	case abi.FnResultTake:
		i = 22
	case abi.FnLog:
		i = 23
	case abi.FnLogLevel:
		i = 24
	}
	if i < 0 {
		return nil
	}
	return funcs[i]
}
