//go:build !wasip1

package main

import (
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
)

// BenchmarkExchange measures one whole attestation of the 105-event log on
// the TPM simulator, natively: contract, algorithm, D-H, version, AIK,
// evidence and quote.
func BenchmarkExchange(b *testing.B) {
	env := newTPMEnvLog(b, useSimulator, tpmhost.AKECCP256, recordedLog, hclog.NewNullLogger())
	platform := env.platform(b)
	settings := map[string]string{"aik_handle": "0x81010003", "eventlog": recordedLog, "hash_algorithm": "sha256"}
	m1 := vector(b, "02_02_s2c_TCG-PTS_imc65535_imv2.txt")
	m2 := vector(b, "04_01_s2c_TCG-PTS_imc65535_imv2.txt")
	m3 := vector(b, "06_01_s2c_TCG-PTS_imc65535_imv2.txt") // the recorded Finish is a valid point
	m4 := vector(b, "08_01_s2c_TCG-PTS_imc65535_imv2.txt")
	b.ReportAllocs()
	for b.Loop() {
		h := imctest.New(b, newAttestation(), imctest.Options{ID: imcID, Name: "Attestation", Settings: settings,
			Platform: platform, Logger: hclog.NewNullLogger()})
		h.Start()
		h.Batch(m1)
		h.Batch(m2)
		h.Batch(m3)
		out := h.Batch(m4)
		if len(out) != 1 {
			b.Fatalf("%d evidence messages", len(out))
		}
		pm, err := patnc.ParseMessage(out[0].Body)
		if err != nil || len(pm.Attrs) != 107 {
			b.Fatalf("evidence: %v", err)
		}
		h.Close()
	}
}
