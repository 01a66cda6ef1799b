package capability

import (
	"crypto/sha256"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/imagen"
)

// BenchmarkIMAEvents pages through generated IMA lists of 10,000 and
// 100,000 entries as the Attestation IMC does (pages of 1024, sha256 bank,
// bound to a quote whose digest the last entry completes): the host's native
// work per attestation. live-heap-MiB is the largest live heap (after a
// collection) seen between pages: it must not grow with the list (one page
// and one entry are held, never the list).
func BenchmarkIMAEvents(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		path := filepath.Join(b.TempDir(), "ima")
		if err := imagen.WriteFile(path, imagen.Options{Entries: n - 1, Seed: 5, SigEvery: 10}); err != nil {
			b.Fatal(err)
		}
		// The quote covers the whole list: PCR 10 of the sha256 bank after
		// the last entry, alone in the quote.
		s := imaSession(path)
		var pcr10 []byte
		for next := uint32(0); ; {
			out, st := s.Call(abi.FnIMAEvents, abi.AppendIMARequest(nil, abi.IMARequest{Bank: abi.AlgSHA256, Start: next, Max: abi.MaxIMAPage}))
			if st != abi.StatusOK {
				b.Fatal(st)
			}
			v, _ := abi.ParseIMAEvents(out)
			next, pcr10 = v.Next, v.PCR10
			if v.End {
				break
			}
		}
		s.Close()
		digest := sha256.Sum256(pcr10)
		b.Run(map[int]string{10000: "10k", 100000: "100k"}[n], func(b *testing.B) {
			var peak uint64
			var ms runtime.MemStats
			b.ReportAllocs()
			for b.Loop() {
				s := imaSession(path)
				got := 0
				for next := uint32(0); ; {
					out, st := s.Call(abi.FnIMAEvents, abi.AppendIMARequest(nil, abi.IMARequest{Bank: abi.AlgSHA256,
						Start: next, Max: 1024, QuoteHash: abi.AlgSHA256, QuoteDigest: digest[:]}))
					if st != abi.StatusOK {
						b.Fatal(st)
					}
					v, err := abi.ParseIMAEvents(out)
					if err != nil {
						b.Fatal(err)
					}
					got += len(v.Events)
					if next%(16*1024) == 0 {
						b.StopTimer()
						runtime.GC()
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapAlloc)
						b.StartTimer()
					}
					next = v.Next
					if v.End {
						if !v.Matched || got != n {
							b.Fatalf("%d entries, matched %v", got, v.Matched)
						}
						break
					}
				}
				s.Close()
			}
			b.ReportMetric(float64(peak)/(1<<20), "live-heap-MiB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
		})
	}
}
