//go:build !wasip1

package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/internal/imagen"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
)

// negotiate plays rounds 1 to 3 of the recorded verifier (capabilities and
// algorithm, D-H, TPM version and AIK) and returns our copy of the secret.
func negotiate(t *testing.T, v *imv, bank tpmhost.Alg) []byte {
	t.Helper()
	measBit, _ := measFromTPMAlg(uint16(bank))
	r := v.exchange(vector(t, "02_02_s2c_TCG-PTS_imc65535_imv2.txt"))
	if len(r) != 3 || uint16(r[2].(*patnc.MeasAlgoSelection).Alg) != measBit {
		t.Fatalf("round 1: %v", types(r))
	}
	v.contract.Accept(r[0].(*patnc.SegContractResponse))
	r = v.exchange(vector(t, "04_01_s2c_TCG-PTS_imc65535_imv2.txt"))
	dh := r[0].(*patnc.DHNonceParamsResp)
	ini, err := tpmhost.NewDHSession(tpmhost.DHInitiator, 19, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := ini.Finish(bank.Hash(), dh.Public, dh.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	pm3, _ := patnc.ParseMessage(vector(t, "06_01_s2c_TCG-PTS_imc65535_imv2.txt").Body)
	pm3.Attrs[0] = patnc.WithNoSkip(&patnc.DHNonceFinish{HashAlg: patnc.HashAlgs(measBit), Public: ini.Key.PublicValue(), Nonce: ini.Nonce})
	if r = v.exchange(imvMessage(t, pm3.Attrs...)); len(r) != 2 {
		t.Fatalf("round 3: %v", types(r))
	}
	return secret
}

// TestIMAEvidence: the IMV asks for the ITA-HSR Linux IMA component (with
// and without the BIOS one). The list on disk has 400 entries after
// boot_aggregate but the TPM's PCR 10 holds only the first 250 (IMA
// appended after the quote): the IMC quotes first, sends the BIOS evidence,
// then exactly the 251 entries the quote covers, as strongSwan's IMC does
// (ITA-HSR Linux IMA, qualifier 0x22, PCR 10, validation passed, policy URI
// "sha256:<path>"); the IMV-side replay of all evidence equals the TPM's
// PCRs and the quote verifies over PCR 10 included.
func TestIMAEvidence(t *testing.T) {
	env := newTPMEnv(t, useSwtpm, tpmhost.AKECCP256, recordedLog)
	rep, err := env.log.ReplayLocality(tpmhost.AlgSHA256, env.locality)
	if err != nil {
		t.Fatal(err)
	}
	var boot [][]byte
	for i := 0; i <= 9; i++ {
		boot = append(boot, rep.Value(i))
	}
	o := imagen.Options{Entries: 400, BootPCRs: boot, Seed: 9, SigEvery: 3, ViolationEvery: 97}
	path := filepath.Join(t.TempDir(), "binary_runtime_measurements")
	f, _ := os.Create(path)
	if err := imagen.Write(f, o); err != nil {
		t.Fatal(err)
	}
	f.Close()
	const quoted = 250
	for i := 0; i <= quoted; i++ {
		e := o.Entry(i)
		for _, b := range []tpmhost.Alg{tpmhost.AlgSHA1, tpmhost.AlgSHA256} {
			d, err := tpmhost.IMADigest(e, tpmhost.AlgSHA1, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := env.tpm.ExtendPCR(b, 10, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		comps []patnc.ComponentName
	}{
		{"bios and ima", []patnc.ComponentName{patnc.BIOSComponent, patnc.IMAComponent}},
		{"ima only", []patnc.ComponentName{patnc.IMAComponent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log strings.Builder
			h := imctest.New(t, newAttestation(), imctest.Options{
				ID: imcID, Name: "Attestation", Platform: env.platform(t), Logger: testLoggerTo(t, &log),
				Settings: map[string]string{"aik_handle": "0x81010003", "eventlog": recordedLog, "ima_log": path,
					"hash_algorithm": "sha256", "max_message_size": "32722"},
			})
			v := newIMV(t, h)
			h.Start()
			secret := negotiate(t, v, tpmhost.AlgSHA256)
			var reqs []patnc.CompEvidRequest
			for _, c := range tc.comps {
				reqs = append(reqs, patnc.CompEvidRequest{Flags: patnc.CompEvidPCR, Name: c})
			}
			r := v.exchange(imvMessage(t, patnc.WithNoSkip(&patnc.ReqFuncCompEvid{Requests: reqs}), patnc.WithNoSkip(&patnc.GenAttestEvid{})))
			if len(r) == 0 || r[len(r)-1].Type() != patnc.TypeSimpleEvidFinal {
				t.Fatalf("types %v", types(r))
			}
			shadow := map[int][]byte{}
			nBIOS, nIMA := 0, 0
			for _, a := range r[:len(r)-1] {
				sce := a.(*patnc.SimpleCompEvid)
				p := int(sce.PCR)
				if shadow[p] == nil {
					shadow[p] = make([]byte, 32)
					if p == 0 {
						shadow[0][31] = env.locality
					}
				}
				h := tpmhost.AlgSHA256.Hash().New()
				h.Write(shadow[p])
				h.Write(sce.Measurement)
				shadow[p] = h.Sum(nil)
				if sce.Name == patnc.BIOSComponent {
					nBIOS++
					continue
				}
				want := "sha256:" + o.FileName(nIMA)
				if nIMA == 0 {
					want = "sha256:boot_aggregate"
				}
				if sce.Name != patnc.IMAComponent || sce.PCR != 10 || sce.Validation != patnc.ValidationPassed ||
					sce.PolicyURI != want || sce.Transform != patnc.TransformMatch || uint16(sce.HashAlg) != measSHA256 {
					t.Fatalf("IMA evidence %d: %+v", nIMA, sce)
				}
				nIMA++
			}
			wantBIOS := 0
			if len(tc.comps) == 2 {
				wantBIOS = 105
			}
			if nBIOS != wantBIOS || nIMA != quoted+1 {
				t.Fatalf("%d BIOS and %d IMA evidence attributes, want %d and %d", nBIOS, nIMA, wantBIOS, quoted+1)
			}
			verifyFinal(t, env, r[len(r)-1].(*patnc.SimpleEvidFinal), secret, tpmhost.AlgSHA256, shadow)
			if wantBIOS > 0 && !strings.Contains(log.String(), "boot aggregate computed over PCR0..PCR9 is correct") {
				t.Errorf("boot aggregate not checked:\n%s", log.String())
			}
			if strings.Contains(log.String(), "do not replay") || strings.Contains(log.String(), "does not match") {
				t.Errorf("the IMC reported a mismatch:\n%s", log.String())
			}
			if len(v.bodies) < 2 || slices.Max(v.bodies) > 32722 {
				t.Errorf("PA-TNC messages %v", v.bodies)
			}
		})
	}
}

// testLoggerTo logs to the test and into b.
func testLoggerTo(t testing.TB, b *strings.Builder) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: io.MultiWriter(tWriter{t}, b), DisableTime: true})
}
