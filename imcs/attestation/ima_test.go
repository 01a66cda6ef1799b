//go:build !wasip1

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"github.com/imchost/imchost/internal/testutil"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/hosttest"
	"github.com/imchost/imchost/internal/imagen"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
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
	const quoted = 250
	env, o, path := imaSetup(t, quoted, 97)
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
			nBIOS, nIMA, nSigs := 0, 0, 0
			for _, a := range r[:len(r)-1] {
				if u, ok := a.(*patnc.Unknown); ok && u.T.Vendor == abi.IMASignaturesVendor && u.T.Type == abi.IMASignaturesType {
					sigs, err := abi.ParseIMASignatures(u.Value)
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range sigs {
						// every third generated entry is an ima-sig one, and it
						// follows its evidence
						if s.Seq%3 != 0 || int(s.Seq) >= nIMA || !bytes.Equal(s.Digest, imagen.FileDigest(9, int(s.Seq))) {
							t.Fatalf("IMA signature record %d (after %d entries)", s.Seq, nIMA)
						}
						nSigs++
					}
					continue
				}
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
			if nBIOS != wantBIOS || nIMA != quoted+1 || nSigs != quoted/3 {
				t.Fatalf("%d BIOS and %d IMA evidence attributes, %d signature records, want %d, %d and %d", nBIOS, nIMA, nSigs, wantBIOS, quoted+1, quoted/3)
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
	return hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: io.MultiWriter(testutil.LogWriter(t), b), DisableTime: true})
}

// imaSetup is swtpm with the recorded boot log, an IMA list of 401
// generated entries (every violationEvery-th a violation; 0: none) of which
// the first quoted+1 are extended into PCR 10.
func imaSetup(t *testing.T, quoted, violationEvery int) (*tpmEnv, imagen.Options, string) {
	env := newTPMEnv(t, useSwtpm, tpmhost.AKECCP256, recordedLog)
	rep, err := env.log.ReplayLocality(tpmhost.AlgSHA256, env.locality)
	if err != nil {
		t.Fatal(err)
	}
	o := imagen.Options{Entries: 400, BootPCRs: imagen.BootPCRs(rep), Seed: 9, SigEvery: 3, ViolationEvery: violationEvery}
	path := filepath.Join(t.TempDir(), "binary_runtime_measurements")
	if err := imagen.WriteFile(path, o); err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= quoted; i++ {
		extendIMA(t, env, o.Entry(i))
	}
	return env, o, path
}

func extendIMA(t *testing.T, env *tpmEnv, e *tpmhost.IMAEntry) {
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

// TestIMAPDP: the built module in the real host against the project's PDP
// with the IMA policy, over PT-TLS on loopback. First contact learns the
// 251 quoted entries (compliant), the second attestation matches them; a
// file whose measurement changed (a new entry for /usr/bin/f0000005, in
// the list and PCR 10) fails with a reason naming the entry and the file;
// a PDP with an imported reference list fails the file whose reference
// digest differs and accepts those that match.
func TestIMAPDP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	env, o, path := imaSetup(t, 250, 0)
	attMod := builtModule(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "pdp.db")
	policy := pdp.DefaultPolicy()
	policy.IMA = true

	h := imaHost(t, env, attMod, path)
	run := func(pol pdp.Policy, dbPath string) pdp.IMVVerdict {
		t.Helper()
		return pdpVerdict(t, h, pol, dbPath)
	}
	for round := 1; round <= 2; round++ {
		if v := run(policy, db); v.Result != pdp.Compliant {
			t.Fatalf("round %d: %v %v", round, v.Result, v.Reasons)
		}
	}

	// Entries 251.. of the generated list were never extended: replace the
	// list by its quoted prefix and one changed file, and extend that.
	changed := o.Entry(5)
	changed.Fields[0] = append([]byte("sha256:\x00"), bytes.Repeat([]byte{0x5a}, 32)...)
	changed.Data = tpmhost.IMATemplateData(changed.Template, changed.Fields)
	d1, _ := tpmhost.IMADigest(&tpmhost.IMAEntry{Data: changed.Data, Digest: []byte{1}}, tpmhost.AlgSHA256, tpmhost.AlgSHA1)
	changed.Digest = d1
	var list []byte
	for i := 0; i <= 250; i++ {
		list = tpmhost.AppendIMAEntry(list, o.Entry(i))
	}
	list = tpmhost.AppendIMAEntry(list, changed)
	if err := os.WriteFile(path, list, 0o644); err != nil {
		t.Fatal(err)
	}
	extendIMA(t, env, changed)
	v := run(policy, db)
	if v.Result == pdp.Compliant || !strings.Contains(strings.Join(v.Reasons, "\n"), "IMA entry 251 /usr/bin/f0000005: measurement") {
		t.Fatalf("changed file: %v %v", v.Result, v.Reasons)
	}

	// A fresh PDP with a reference list: f0000004 right, f0000007 wrong.
	refs := filepath.Join(dir, "refs.sha256")
	os.WriteFile(refs, []byte(fmt.Sprintf("# reference digests\n%x  /usr/bin/f0000004\nsha256:%x /usr/bin/f0000007\n",
		imagen.FileDigest(9, 4), bytes.Repeat([]byte{1}, 32))), 0o644)
	strict := policy
	strict.IMAReferences = refs
	v = run(strict, filepath.Join(dir, "fresh.db"))
	all := strings.Join(v.Reasons, "\n")
	if v.Result == pdp.Compliant || !strings.Contains(all, "IMA entry 7 /usr/bin/f0000007: no reference sha256 digest") ||
		strings.Contains(all, "f0000004") {
		t.Fatalf("reference list: %v %v", v.Result, v.Reasons)
	}
}

// imaHost is the real host with the built Attestation module reading the
// IMA list at path.
func imaHost(t *testing.T, env *tpmEnv, attMod, path string) *host.Host {
	cfg := &host.Config{IMCs: []host.IMCConfig{
		{Name: "Attestation", Path: attMod, Grants: readmeGrants, Settings: host.Settings{"aik_handle": "0x81010003",
			"eventlog": recordedLog, "hash_algorithm": "sha256", "ima_log": path}},
	}}
	return hosttest.Start(t, cfg, host.Options{Logger: testLogger(t), Platform: env.platform(t)})
}

// TestFilesPDP: the PDP's policy asks for a file and a directory; the
// built module measures them through the host's allowlist. First contact
// learns the digests (compliant), the second attestation matches them, a
// changed file fails with a reason naming it, and a path outside the
// allowlist comes back as File Not Found, which the PDP names too.
func TestFilesPDP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	env := newTPMEnv(t, useSwtpm, tpmhost.AKECCP256, recordedLog)
	attMod := builtModule(t)
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(etc, 0o755)
	os.MkdirAll(bin, 0o755)
	conf := filepath.Join(etc, "sshd_config")
	os.WriteFile(conf, []byte("PermitRootLogin no\n"), 0o644)
	os.WriteFile(filepath.Join(bin, "ls"), []byte("ls"), 0o755)
	os.WriteFile(filepath.Join(bin, "cat"), []byte("cat"), 0o755)
	cfg := &host.Config{IMCs: []host.IMCConfig{
		{Name: "Attestation", Path: attMod, Grants: readmeGrants, Files: []string{conf, bin},
			Settings: host.Settings{"aik_handle": "0x81010003", "eventlog": recordedLog, "hash_algorithm": "sha256"}},
	}}
	h := hosttest.Start(t, cfg, host.Options{Logger: testLogger(t), Platform: env.platform(t)})
	db := filepath.Join(dir, "pdp.db")
	policy := pdp.DefaultPolicy()
	policy.FileMeasurements = []string{conf, bin + "/"}
	run := func(pol pdp.Policy) pdp.IMVVerdict {
		t.Helper()
		return pdpVerdict(t, h, pol, db)
	}
	for round := 1; round <= 2; round++ {
		if v := run(policy); v.Result != pdp.Compliant {
			t.Fatalf("round %d: %v %v", round, v.Result, v.Reasons)
		}
	}
	os.WriteFile(conf, []byte("PermitRootLogin yes\n"), 0o644)
	if v := run(policy); v.Result == pdp.Compliant || !strings.Contains(strings.Join(v.Reasons, "\n"), "file "+conf+": sha256 digest") {
		t.Fatalf("changed file: %v %v", v.Result, v.Reasons)
	}
	os.WriteFile(conf, []byte("PermitRootLogin no\n"), 0o644)
	outside := policy
	outside.FileMeasurements = []string{conf, filepath.Join(dir, "secret")}
	if v := run(outside); v.Result == pdp.Compliant || !strings.Contains(strings.Join(v.Reasons, "\n"), "file "+filepath.Join(dir, "secret")+": not found") {
		t.Fatalf("outside the allowlist: %v %v", v.Result, v.Reasons)
	}
}

// pdpVerdict runs one attestation of host h against a fresh PDP with
// policy pol and database dbPath over PT-TLS on loopback, and returns the
// Attestation IMV's verdict.
func pdpVerdict(t *testing.T, h *host.Host, pol pdp.Policy, dbPath string) pdp.IMVVerdict {
	t.Helper()
	cert, pool, err := pdp.SelfSignedCertificate(time.Hour, "pdp.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := pdp.New(pdp.Config{Addr: "127.0.0.1:0", Certificates: []tls.Certificate{cert},
		DBPath: dbPath, Policy: pol, Logger: testLogger(t).Named("pdp")})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	defer func() { srv.Close(); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ccfg := tnccs.ClientConfig{Addr: srv.Addr().String()}
	ccfg.PTTLS.RootCAs, ccfg.PTTLS.ServerName = pool, "pdp.test"
	if _, err := tnccs.Dial(ctx, ccfg, h); err != nil {
		t.Fatal(err)
	}
	outs, err := srv.WaitOutcomes(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range outs[0].Verdict.IMVs {
		if v.IMV == "Attestation" {
			return v
		}
	}
	t.Fatal("no Attestation verdict")
	return pdp.IMVVerdict{}
}
