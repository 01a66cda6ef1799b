//go:build !wasip1

package main

import (
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
)

// FuzzReceive feeds arbitrary PA-TNC messages to a fresh IMC on the TPM
// simulator: nothing may panic, and every reply must be a well-formed
// PA-TNC message within max_message_size. Seeds are the recorded
// verifier's messages, one message carrying the whole exchange (the
// recorded D-H Nonce Finish is a valid P-256 point, so it reaches the
// quote) and the probes of TestProbeReplies.
func FuzzReceive(f *testing.F) {
	env := newTPMEnvLog(f, useSimulator, tpmhost.AKECCP256, recordedLog, hclog.NewNullLogger())
	platform := env.platform(f)
	settings := map[string]string{"aik_handle": "0x81010003", "eventlog": recordedLog,
		"hash_algorithm": "sha256", "max_message_size": "2048"}
	var all []patnc.Attr
	for _, name := range []string{"02_02_s2c_TCG-PTS_imc65535_imv2.txt", "04_01_s2c_TCG-PTS_imc65535_imv2.txt",
		"06_01_s2c_TCG-PTS_imc65535_imv2.txt", "08_01_s2c_TCG-PTS_imc65535_imv2.txt", "10_01_s2c_TCG-PTS_imc65535_imv2.txt"} {
		m := vector(f, name)
		f.Add(m.Body)
		pm, err := patnc.ParseMessage(m.Body)
		if err != nil {
			f.Fatal(err)
		}
		all = append(all, pm.Attrs...)
	}
	f.Add(imvMessage(f, all...).Body)
	for _, s := range []string{
		"01000000 a1b2c3d4 80005597 7f000000 0000000c",
		"02000000 a1b2c3d4",
		"01000000 a1b2c3d4 00005597 00000021 00000014 ffffffff 0000003c 80005597 0d000000 00000010 00000000",
		"01000000 a1b2c3d4 00005597 00000023 00000020 c0000001 00005597 0e000000 00000068 80308130",
		"01000000 a1b2c3d4 80005597 00c00000 0000001b 00000007 0000002f 2f6574632f6873",
	} {
		f.Add(rawMessage(f, s).Body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h := imctest.New(t, newAttestation(), imctest.Options{ID: imcID, Name: "Attestation", Settings: settings,
			Platform: platform,
			Logger:   hclog.NewNullLogger()})
		h.Start()
		for _, s := range h.Batch(imc.Message{Type: msgTypePTS, Collector: 0xffff, Validator: imvID, Body: body}) {
			if !s.Exclusive || s.Validator != imvID || len(s.Body) > 2048 {
				t.Fatalf("reply framing: excl %v validator %d, %d bytes", s.Exclusive, s.Validator, len(s.Body))
			}
			if _, err := patnc.ParseMessage(s.Body); err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
		}
	})
}
