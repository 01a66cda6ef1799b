package tpmhost_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/sdk/patnc"

	"github.com/imchost/imchost/tpmhost"
)

// readVectors reads testdata/pts-vectors.txt: `name hex` with continuation
// lines starting with a space and # comments.
func readVectors(t testing.TB) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/pts-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hexes := map[string]string{}
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || line[0] == '#':
		case line[0] == ' ':
			hexes[cur] += strings.TrimSpace(line)
		default:
			name, h, _ := strings.Cut(line, " ")
			cur = name
			hexes[cur] = strings.TrimSpace(h)
		}
	}
	out := map[string][]byte{}
	for k, v := range hexes {
		b, err := hex.DecodeString(v)
		if err != nil {
			t.Fatalf("vector %s: %v", k, err)
		}
		out[k] = b
	}
	return out
}

// checkQuote verifies a TPM2_Quote the way the PDP does: the project's one
// TPMS_ATTEST codec (sdk/patnc) splits it into Simple Evidence Final pieces,
// the verifier rebuilds it with its own nonce and the PCR digest of the
// values it expects, and the signature must hold over the rebuild.
func checkQuote(pub crypto.PublicKey, attest, sig []byte, h crypto.Hash, nonce []byte, vals [][]byte) (*patnc.SimpleEvidFinal, error) {
	var sef patnc.SimpleEvidFinal
	if _, err := sef.FromTPMSAttest(attest); err != nil {
		return nil, err
	}
	raw, err := sef.TPMSAttest(nonce, tpmhost.PCRDigest(h, vals))
	if err != nil {
		return nil, err
	}
	return &sef, tpmhost.VerifySignature(pub, raw, sig, h)
}

// TestStrongSwanVectors checks tpmhost against every relation of the recorded
// strongSwan 6.0.6 exchange (testdata/pts-vectors.txt):
// the D-H secret, the AK key id, the TPMS_ATTEST rebuilt from Simple Evidence
// Final, its signature, and the PCR digest from a replay of the real log.
func TestStrongSwanVectors(t *testing.T) {
	v := readVectors(t)

	// D-H: responder nonce after the 8 fixed bytes of the Response; the
	// initiator nonce is the last 20 bytes of the Finish.
	resp, fin := v["dh_params_response"], v["dh_nonce_finish"]
	respNonce := resp[8 : 8+resp[3]]
	initNonce := fin[len(fin)-int(fin[1]):]
	if len(resp[8+20:]) != tpmhost.DHECP256.PublicSize() || len(fin)-4-20 != tpmhost.DHECP256.PublicSize() {
		t.Fatal("public value sizes do not match ECP_256")
	}
	secret, err := tpmhost.SecretAssessmentValue(crypto.SHA256, initNonce, respNonce, v["shared"])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(secret, v["secret"]) {
		t.Fatalf("secret %x, want %x", secret, v["secret"])
	}
	if swapped, _ := tpmhost.SecretAssessmentValue(crypto.SHA256, respNonce, initNonce, v["shared"]); bytes.Equal(swapped, secret) {
		t.Fatal("nonce order does not matter?")
	}

	// AK: SPKI, keyid, and Go's DER is byte-identical.
	spki := v["aik"][1:]
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		t.Fatal(err)
	}
	if der, _ := x509.MarshalPKIXPublicKey(pub); !bytes.Equal(der, spki) {
		t.Error("x509.MarshalPKIXPublicKey differs from strongSwan's SPKI")
	}
	if sum := sha1.Sum(spki); hex.EncodeToString(sum[:]) != hex.EncodeToString(v["keyid"]) {
		t.Errorf("keyid %x", sum)
	}
	pemb, err := os.ReadFile(testutil.Data("ak", "ak-0x81010003.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(pemb); blk == nil || !bytes.Equal(blk.Bytes, spki) {
		t.Error("ak-0x81010003.pem is not the AIK of the exchange")
	}

	// Simple Evidence Final → TPMS_ATTEST with our secret.
	var sef patnc.SimpleEvidFinal
	if err := sef.UnmarshalValue(v["simple_evidence_final"]); err != nil {
		t.Fatal(err)
	}
	sig := sef.QuoteSig
	rebuilt, err := sef.TPMSAttest(secret, sef.PCRComposite)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rebuilt, v["tpms_attest"]) {
		t.Fatalf("rebuilt TPMS_ATTEST\n%x\nwant\n%x", rebuilt, v["tpms_attest"])
	}
	sels, err := tpmhost.ParsePCRSelection(sef.PCRSelect)
	if err != nil || len(sels) != 1 || sels[0].Bank != tpmhost.AlgSHA256 ||
		fmt.Sprint(sels[0].PCRs) != "[0 1 2 3 4 5 6 7 8 9 14]" {
		t.Errorf("selection %+v %v", sels, err)
	}
	if sel, _ := tpmhost.MarshalPCRSelection(tpmhost.AlgSHA256, sels[0].PCRs); !bytes.Equal(sel, sef.PCRSelect) {
		t.Errorf("MarshalPCRSelection %x, want %x", sel, sef.PCRSelect)
	}

	// PCR values: replay of the real log with the detected locality.
	l, err := tpmhost.ReadEventLog(testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog"))
	if err != nil {
		t.Fatal(err)
	}
	loc, matched, err := l.DetectLocality(tpmhost.AlgSHA256, v["pcr0"])
	if err != nil || !matched || loc != 3 {
		t.Fatalf("DetectLocality = %d %v %v, want 3", loc, matched, err)
	}
	r, err := l.ReplayLocality(tpmhost.AlgSHA256, loc)
	if err != nil {
		t.Fatal(err)
	}
	var vals [][]byte
	for _, p := range sels[0].PCRs {
		want := v[fmt.Sprintf("pcr%d", p)]
		if !bytes.Equal(r.Value(p), want) {
			t.Errorf("PCR %d replays to %x, want %x", p, r.Value(p), want)
		}
		vals = append(vals, r.Value(p))
	}
	if _, err := checkQuote(pub, v["tpms_attest"], sig, crypto.SHA256, secret, vals); err != nil {
		t.Fatalf("the recorded quote does not verify: %v", err)
	}
	// The rule of the PDP: a wrong locality gives a wrong PCR 0 and fails.
	r0, _ := l.ReplayLocality(tpmhost.AlgSHA256, 0)
	vals0 := append([][]byte{r0.Value(0)}, vals[1:]...)
	if _, err := checkQuote(pub, v["tpms_attest"], sig, crypto.SHA256, secret, vals0); !errors.Is(err, tpmhost.ErrQuoteSignature) {
		t.Errorf("locality 0: %v", err)
	}
	// A signature with a DER encoding instead of R‖S is rejected.
	if _, err := checkQuote(pub, v["tpms_attest"], sig[:63], crypto.SHA256, secret, vals); !errors.Is(err, tpmhost.ErrQuoteSignature) {
		t.Errorf("short signature: %v", err)
	}
	if _, err := checkQuote(pub, v["tpms_attest"], sig, crypto.SHA384, secret, vals); !errors.Is(err, tpmhost.ErrQuoteKey) {
		t.Errorf("P-256 with SHA-384: %v", err)
	}
}

// TestPCRSelectionPrefixes: no strict prefix of the recorded PCR
// selection decodes, nor one with a trailing byte.
func TestPCRSelectionPrefixes(t *testing.T) {
	var sef patnc.SimpleEvidFinal
	if err := sef.UnmarshalValue(readVectors(t)["simple_evidence_final"]); err != nil {
		t.Fatal(err)
	}
	full := sef.PCRSelect
	for n := 0; n < len(full); n++ {
		if s, err := tpmhost.ParsePCRSelection(full[:n]); err == nil {
			t.Fatalf("prefix %d decoded: %+v", n, s)
		}
	}
	if _, err := tpmhost.ParsePCRSelection(append(bytes.Clone(full), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
}

// FuzzParsePCRSelection: a decoded selection re-encodes to the input when
// it is the one-bank, 3-byte form strongSwan sends.
func FuzzParsePCRSelection(f *testing.F) {
	var sef patnc.SimpleEvidFinal
	if err := sef.UnmarshalValue(readVectors(f)["simple_evidence_final"]); err != nil {
		f.Fatal(err)
	}
	f.Add(sef.PCRSelect)
	f.Fuzz(func(t *testing.T, in []byte) {
		sels, err := tpmhost.ParsePCRSelection(in)
		if err != nil {
			return
		}
		if len(sels) == 1 && len(in) == 10 {
			out, err := tpmhost.MarshalPCRSelection(sels[0].Bank, sels[0].PCRs)
			if err != nil || !bytes.Equal(out, in) {
				t.Fatalf("round trip: %x -> %+v -> %x (%v)", in, sels, out, err)
			}
		}
	})
}

const tpmSHA256 = crypto.SHA256

func parseSPKI(der []byte) (crypto.PublicKey, error) { return x509.ParsePKIXPublicKey(der) }
