package tpmhost_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/imchost/imchost/internal/imagen"
	"github.com/imchost/imchost/tpmhost"
)

// BenchmarkIMAReplay parses an IMA list and replays PCR 10 in the sha1 and
// sha256 banks (the sha256 bank hashes every entry's template data), on the
// real lists of the test data and a generated 100,000-entry list. No Go
// library reachable here parses IMA lists (go-attestation v0.6.4 and
// go-eventlog v0.0.2 have no IMA parser), so there is no side-by-side
// figure; MB/s and entries/s are reported.
func BenchmarkIMAReplay(b *testing.B) {
	var gen bytes.Buffer
	if err := imagen.Write(&gen, imagen.Options{Entries: 99999, Seed: 1, SigEvery: 10, ViolationEvery: 5000}); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		data    []byte
		entries int
	}{
		{"ibmtss-sha1", imaFile(b, "ibmtss-sha1.log"), 362},
		{"charra", imaFile(b, "charra-binary_runtime_measurements"), 1650},
		{"generated-100k", gen.Bytes(), 100000},
	} {
		for _, banks := range [][]tpmhost.Alg{{tpmhost.AlgSHA1}, {tpmhost.AlgSHA1, tpmhost.AlgSHA256}} {
			name := c.name + "/" + banks[len(banks)-1].String()
			if len(banks) == 2 {
				name = c.name + "/sha1+sha256"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(c.data)))
				b.ReportAllocs()
				for b.Loop() {
					reps, err := tpmhost.ReplayIMA(bytes.NewReader(c.data), tpmhost.AlgSHA1, banks...)
					if err != nil || reps[0].Entries != c.entries {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(c.entries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

// BenchmarkIMAParse is the parser alone (no hashing) on the 100,000-entry
// list: the floor under every replay.
func BenchmarkIMAParse(b *testing.B) {
	var gen bytes.Buffer
	if err := imagen.Write(&gen, imagen.Options{Entries: 99999, Seed: 1, SigEvery: 10}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(gen.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rd, _ := tpmhost.NewIMAReader(bytes.NewReader(gen.Bytes()), tpmhost.AlgSHA1)
		n := 0
		for {
			_, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100000 {
			b.Fatal(n)
		}
	}
}
