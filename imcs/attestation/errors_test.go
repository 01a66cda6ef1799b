//go:build !wasip1

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
)

// rawMessage is a PA message from the IMV with a literal body.
func rawMessage(t testing.TB, hexBody string) imc.Message {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(hexBody, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return imc.Message{Type: msgTypePTS, Collector: 0xffff, Validator: imvID, Body: b}
}

// replyBodies returns the PA-TNC bodies the IMC sent for one batch.
func replyBodies(t testing.TB, h *imctest.Harness, m imc.Message) [][]byte {
	t.Helper()
	var out [][]byte
	for _, s := range h.Batch(m) {
		if s.Type != msgTypePTS || !s.Exclusive || s.Validator != imvID {
			t.Fatalf("reply framing %+v", s)
		}
		out = append(out, s.Body)
	}
	return out
}

// attrsAfterHeader strips the PA-TNC header (whose identifier is random).
func attrsAfterHeader(t testing.TB, body []byte) string {
	t.Helper()
	if len(body) < 8 || !bytes.Equal(body[:4], []byte{1, 0, 0, 0}) {
		t.Fatalf("bad PA-TNC header %x", body)
	}
	return hex.EncodeToString(body[8:])
}

// TestProbeReplies replays the probes of the 6.0.6 Attestation IMC that the
// spec records byte for byte and compares our answers.
func TestProbeReplies(t *testing.T) {
	env := newTPMEnv(t, useSwtpm, tpmhost.AKECCP256, recordedLog)
	settings := map[string]string{"aik_handle": "0x81010003", "eventlog": recordedLog, "hash_algorithm": "sha256"}
	// capsAlgo negotiates the capabilities and the algorithm, as the IMV's
	// first message does.
	const capsAlgo = "01000000 00000001 80005597 01000000 00000010 0000000e 80005597 06000000 00000010 0000e000"
	aikValue := "80" + hex.EncodeToString(env.ak.SPKI)
	for _, tc := range []struct {
		name  string
		setup []string // messages sent before, replies ignored
		in    string   // hex of the PA-TNC message
		want  []string // hex of each reply's attributes (after the 8-byte header)
	}{
		{name: "unknown NOSKIP type (RFC 5792 §4.2.8)",
			in:   "01000000 a1b2c3d4 80005597 7f000000 0000000c",
			want: []string{"00000000 00000008 00000024 00000000 00000003 01000000a1b2c3d4 80005597 7f000000"}},
		{name: "unknown type without NOSKIP is skipped",
			in: "01000000 a1b2c3d4 00005597 7f000000 0000000c"},
		{name: "version 2 (RFC 5792 §4.2.8)",
			in:   "02000000 a1b2c3d4",
			want: []string{"00000000 00000008 00000020 00000000 00000002 02000000a1b2c3d4 01010000"}},
		{name: "measurement algorithm SHA-512 only (PTS §3.9.1)",
			in:   "01000000 a1b2c3d4 80005597 06000000 00000010 00001000",
			want: []string{"00000000 00000008 00000018 00005597 00000001 0000c000"}},
		{name: "D-H groups none (PTS §3.8.1)",
			setup: []string{"01000000 00000001 80005597 06000000 00000010 0000e000"},
			in:    "01000000 a1b2c3d4 80005597 03000000 00000010 00000000",
			want:  []string{"00000000 00000008 00000018 00005597 00000006 0000f800"}},
		{name: "D-H minimum nonce 32 (PTS §3.8.1)",
			setup: []string{"01000000 00000001 80005597 06000000 00000010 0000e000"},
			in:    "01000000 a1b2c3d4 80005597 03000000 00000010 0020f000",
			want:  []string{"00000000 00000008 00000018 00005597 00000007 0014ffff"}},
		{name: "file measurement of a path outside the allowlist (PTS §3.19.1: File Not Found)",
			in:   "01000000 a1b2c3d4 80005597 00c00000 0000001b 00000007 0000002f 2f6574632f6873",
			want: []string{"00000000 00000008 00000023 00005597 00000003 00000007 0000002f 2f6574632f6873"}},
		{name: "segmented AIK (IF-M Segmentation §5 probe)",
			in: "01000000 a1b2c3d4 00005597 00000021 00000014 ffffffff 0000003c 80005597 0d000000 00000010 00000000",
			want: []string{"00005597 00000022 00000014 ffffffff 0000003c" +
				"00005597 00000023 0000004c c0000001 00005597 0e000000 00000068" + aikValue[:96]}},
		{name: "D-H Nonce Finish before the parameters",
			in:   "01000000 a1b2c3d4 80005597 05000000 00000064 00144000" + strings.Repeat("00", 84),
			want: []string{"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 00000008"}},
		{name: "evidence before the algorithm",
			in:   "01000000 a1b2c3d4 80005597 00100000 00000018 10000000 00902a21 00000003",
			want: []string{"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 00000008"}},
		{name: "generate before the D-H secret",
			setup: []string{"01000000 00000001 80005597 06000000 00000010 0000e000"},
			in:    "01000000 a1b2c3d4 80005597 00200000 00000010 00000000",
			want:  []string{"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 00000008"}},
		// No IMA list on this host: logged, nothing sent (strongSwan's
		// IMC stops processing the request when a component fails to measure).
		{name: "IMA evidence without an IMA list",
			setup: []string{capsAlgo},
			in:    "01000000 a1b2c3d4 80005597 00100000 00000018 10000000 00902a22 00000003"},
		{name: "TTC unsupported",
			setup: []string{capsAlgo},
			in:    "01000000 a1b2c3d4 80005597 00100000 00000018 90000000 00902a21 00000003",
			want:  []string{"00000000 00000008 00000020 00005597 0000000f 90000000 00902a21 00000003"}},
		{name: "unknown component is skipped",
			setup: []string{capsAlgo},
			in:    "01000000 a1b2c3d4 80005597 00100000 00000018 10000000 00559721 00000002"},
		{name: "truncated attribute",
			in:   "01000000 a1b2c3d4 80005597 06000000 00000010 0000",
			want: []string{"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 00000010"}},
		{name: "nested envelope",
			in:   "01000000 a1b2c3d4 00005597 00000023 00000020 40000001 00005597 00000023 00000010 40000002",
			want: []string{"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 00000008"}},
		{name: "segmented Get AIK, first part",
			in:   "01000000 a1b2c3d4 00005597 00000023 0000001c c0000001 80005597 0d000000 00000010",
			want: []string{"00005597 00000024 00000010 00000001"}},
		{name: "segmented Get AIK, both parts",
			setup: []string{"01000000 a1b2c3d4 00005597 00000023 0000001c c0000001 80005597 0d000000 00000010"},
			in:    "01000000 a1b2c3d5 00005597 00000023 00000014 00000001 00000000",
			want:  []string{"00005597 0e000000 00000068" + aikValue}},
		{name: "next segment for nothing",
			in: "01000000 a1b2c3d4 00005597 00000024 00000010 00000007"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := nativeHarness(t, env, settings)
			h.Start()
			for _, s := range tc.setup {
				h.Batch(rawMessage(t, s))
			}
			got := replyBodies(t, h, rawMessage(t, tc.in))
			if len(got) != len(tc.want) {
				t.Fatalf("%d replies, want %d", len(got), len(tc.want))
			}
			for i, b := range got {
				want := strings.ReplaceAll(tc.want[i], " ", "")
				if g := attrsAfterHeader(t, b); g != want {
					t.Fatalf("reply %d\n got %s\nwant %s", i, g, want)
				}
			}
		})
	}
}

// TestProbeSegmentedAIKNext completes the segmented AIK of the probe: the
// Next Segment request gets the last 44 value bytes (TCG IF-M Segmentation §5.4).
func TestProbeSegmentedAIKNext(t *testing.T) {
	env := newTPMEnv(t, useSwtpm, tpmhost.AKECCP256, recordedLog)
	h := nativeHarness(t, env, map[string]string{"aik_handle": "0x81010003", "eventlog": recordedLog})
	h.Start()
	replyBodies(t, h, rawMessage(t, "01000000 a1b2c3d4 00005597 00000021 00000014 ffffffff 0000003c 80005597 0d000000 00000010 00000000"))
	got := replyBodies(t, h, rawMessage(t, "01000000 a1b2c3d5 00005597 00000024 00000010 00000001"))
	aikValue := "80" + hex.EncodeToString(env.ak.SPKI)
	want := "00005597 00000023 0000003c 00000001" + aikValue[96:]
	if len(got) != 1 || attrsAfterHeader(t, got[0]) != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("next segment reply %x", got)
	}
	// The segment is gone now: a repeated request gets nothing.
	if got := replyBodies(t, h, rawMessage(t, "01000000 a1b2c3d6 00005597 00000024 00000010 00000001")); len(got) != 0 {
		t.Fatalf("repeated next segment answered: %x", got)
	}
}

// TestNoTPM: without a TPM the IMC offers only V, and refuses what needs T.
func TestNoTPM(t *testing.T) {
	h := imctest.New(t, newAttestation(), imctest.Options{ID: imcID, Name: "Attestation",
		Settings: map[string]string{"eventlog": recordedLog}, Logger: testLogger(t)})
	h.Start()
	got := replyBodies(t, h, vector(t, "02_02_s2c_TCG-PTS_imc65535_imv2.txt"))
	if len(got) != 1 {
		t.Fatalf("%d replies", len(got))
	}
	m, err := patnc.ParseMessage(got[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attrs) != 3 {
		t.Fatalf("attributes %v", types(m.Attrs))
	}
	if c := m.Attrs[1].(*patnc.ProtoCaps).Caps; c != patnc.CapV {
		t.Fatalf("caps %s without a TPM", c)
	}
	if e, ok := m.Attrs[2].(*patnc.PATNCError); !ok || e.Vendor != abi.PENTCG || e.Code != 1 {
		t.Fatalf("algorithm request without PCR banks answered with %+v", m.Attrs[2])
	}
}

// TestSettingsRefused: a bad setting fails Initialize.
func TestSettingsRefused(t *testing.T) {
	h := imctest.New(t, newAttestation(), imctest.Options{ID: imcID, Name: "Attestation", ExpectErrors: true,
		Settings: map[string]string{"nonce_len": "8"}, Logger: testLogger(t)})
	if errs := h.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "nonce_len") {
		t.Fatalf("errors %v", errs)
	}
}

// TestAIKCertificate: with aik_cert set the host adds the certificate and
// the IMC sends it instead of the naked key (flags 0x00, PTS IF-M Binding §3.13).
func TestAIKCertificate(t *testing.T) {
	env := newTPMEnv(t, useSwtpm, tpmhost.AKECCP256, recordedLog)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: env.ak.KeyID},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, env.ak.Public, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(t.TempDir(), "aik.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	h := nativeHarness(t, env, map[string]string{"aik_handle": "0x81010003", "aik_cert": certPath, "eventlog": recordedLog})
	h.Start()
	got := replyBodies(t, h, rawMessage(t, "01000000 a1b2c3d4 80005597 0d000000 00000010 00000000"))
	if len(got) != 1 {
		t.Fatalf("%d replies", len(got))
	}
	m, err := patnc.ParseMessage(got[0])
	if err != nil {
		t.Fatal(err)
	}
	aik, ok := m.Attrs[0].(*patnc.AIK)
	if !ok || aik.Naked || !bytes.Equal(aik.DER, der) {
		t.Fatalf("AIK %+v", m.Attrs[0])
	}
}
