package tpmhost_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-attestation/attest"
	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/tpmhost"
	"github.com/imchost/imchost/tpmhost/tpmsim"
)

// benchLogs are the bundled logs both parsers accept, with the bank to
// replay and the expected PCRs of that bank.
func benchLogs(b *testing.B) []struct {
	name string
	data []byte
	bank tpmhost.Alg
	want map[int][]byte
} {
	var out []struct {
		name string
		data []byte
		bank tpmhost.Alg
		want map[int][]byte
	}
	for _, path := range logFiles(b) {
		name := filepath.Base(path)
		if name == "specid-vendordata.bin" || name == "ebs_event_missing_eventlog" {
			continue // not a replay benchmark: one is malformed, one needs a workaround
		}
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		lines := readPCRFile(b, path+".pcrs")
		bank := lines[len(lines)-1].bank // sha256 where the log has it
		want := map[int][]byte{}
		for _, l := range lines {
			if l.bank == bank {
				want[l.pcr] = l.val
			}
		}
		out = append(out, struct {
			name string
			data []byte
			bank tpmhost.Alg
			want map[int][]byte
		}{name, data, bank, want})
	}
	return out
}

// BenchmarkEventLog parses, replays one bank and compares with the expected
// PCRs: tpmhost against go-attestation's ParseEventLog + Verify, per log.
func BenchmarkEventLog(b *testing.B) {
	for _, lg := range benchLogs(b) {
		b.Run("tpmhost/"+lg.name, func(b *testing.B) {
			b.SetBytes(int64(len(lg.data)))
			for b.Loop() {
				l, err := tpmhost.ParseEventLog(lg.data)
				if err != nil {
					b.Fatal(err)
				}
				r, err := l.Replay(lg.bank)
				if err != nil {
					b.Fatal(err)
				}
				if mm := l.Compare(r, lg.want); len(mm) != 0 {
					b.Fatal(mm)
				}
			}
		})
		var pcrs []attest.PCR
		for i, v := range lg.want {
			pcrs = append(pcrs, attest.PCR{Index: i, Digest: v, DigestAlg: lg.bank.Hash()})
		}
		b.Run("go-attestation/"+lg.name, func(b *testing.B) {
			if _, err := attest.ParseEventLog(lg.data); err != nil {
				b.Skipf("go-attestation cannot parse it: %v", err)
			}
			b.SetBytes(int64(len(lg.data)))
			for b.Loop() {
				el, err := attest.ParseEventLog(lg.data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := el.Verify(pcrs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQuote measures TPM2_Quote latency (11 PCRs of sha256) on swtpm and
// the in-process simulator, for both AK kinds.
func BenchmarkQuote(b *testing.B) {
	pcrs := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14}
	nonce := bytes.Repeat([]byte{1}, 32)
	run := func(b *testing.B, tpm *tpmhost.TPM) {
		for _, kind := range []tpmhost.AKKind{tpmhost.AKECCP256, tpmhost.AKRSA2048} {
			b.Run(kind.String(), func(b *testing.B) {
				ak, err := tpm.ProvisionAK(akHandle, kind, true)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := tpm.Quote(ak, tpmhost.AlgSHA256, pcrs, nonce); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("swtpm", func(b *testing.B) {
		inst := swtpm.Start(b)
		tpm, err := tpmhost.Open(inst.Spec, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer tpm.Close()
		run(b, tpm)
	})
	b.Run("simulator", func(b *testing.B) {
		tpm, err := tpmsim.Open(nil)
		if errors.Is(err, tpmhost.ErrNotSupported) {
			b.Skip("simulator needs cgo")
		}
		if err != nil {
			b.Fatal(err)
		}
		defer tpm.Close()
		run(b, tpm)
	})
}

// BenchmarkVerifyQuote is the PDP's side: split, rebuild with the own nonce
// and PCR digest, signature.
func BenchmarkVerifyQuote(b *testing.B) {
	v := readVectors(b)
	pcrs := [][]byte{}
	for _, n := range []string{"pcr0", "pcr1", "pcr2", "pcr3", "pcr4", "pcr5", "pcr6", "pcr7", "pcr8", "pcr9", "pcr14"} {
		pcrs = append(pcrs, v[n])
	}
	sef := v["simple_evidence_final"]
	sig := sef[len(sef)-64:]
	pub, err := parseSPKI(v["aik"][1:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := checkQuote(pub, v["tpms_attest"], sig, tpmSHA256, v["secret"], pcrs); err != nil {
			b.Fatal(err)
		}
	}
}
