package tpmhost_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/imchost/imchost/internal/testutil"
	"os"
	"strings"
	"testing"

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

// sefPieces splits a Simple Evidence Final value (TPM 2.0 flags 0x10) as
// PTS IF-M Binding §3.15.2 and strongSwan's TPM 2.0 extension lay it out. The real codec lives in sdk/patnc; this is just
// enough to reach the quote.
func sefPieces(t *testing.T, v []byte) (a tpmhost.Attest, sig []byte) {
	t.Helper()
	if v[0] != 0x10 {
		t.Fatalf("flags %02x", v[0])
	}
	p := v[4:]
	u32 := func() []byte {
		n := binary.BigEndian.Uint32(p)
		b := p[4 : 4+n]
		p = p[4+n:]
		return b
	}
	u16 := func() []byte {
		n := binary.BigEndian.Uint16(p)
		b := p[2 : 2+n]
		p = p[2+n:]
		return b
	}
	a.PCRDigest = u32()
	a.QualifiedSigner = u16()
	a.ClockInfo = u16()
	a.FirmwareVersion = u16()
	a.PCRSelect = u16()
	sig = u32()
	if len(p) != 0 {
		t.Fatalf("%d bytes left", len(p))
	}
	return a, sig
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
	a, sig := sefPieces(t, v["simple_evidence_final"])
	a.ExtraData = secret
	rebuilt, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rebuilt, v["tpms_attest"]) {
		t.Fatalf("rebuilt TPMS_ATTEST\n%x\nwant\n%x", rebuilt, v["tpms_attest"])
	}
	parsed, err := tpmhost.ParseTPMSAttest(v["tpms_attest"])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%x", *parsed) != fmt.Sprintf("%x", a) {
		t.Errorf("parsed %x\nwant   %x", *parsed, a)
	}
	sels, err := parsed.Selections()
	if err != nil || len(sels) != 1 || sels[0].Bank != tpmhost.AlgSHA256 ||
		fmt.Sprint(sels[0].PCRs) != "[0 1 2 3 4 5 6 7 8 9 14]" {
		t.Errorf("selection %+v %v", sels, err)
	}
	if sel, _ := tpmhost.MarshalPCRSelection(tpmhost.AlgSHA256, sels[0].PCRs); !bytes.Equal(sel, a.PCRSelect) {
		t.Errorf("MarshalPCRSelection %x, want %x", sel, a.PCRSelect)
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
	if _, err := tpmhost.VerifyQuote(pub, v["tpms_attest"], sig, crypto.SHA256, secret, vals); err != nil {
		t.Fatalf("VerifyQuote of the recorded quote: %v", err)
	}
	// The rule of the PDP: a wrong locality gives a wrong PCR 0 and fails.
	r0, _ := l.ReplayLocality(tpmhost.AlgSHA256, 0)
	vals0 := append([][]byte{r0.Value(0)}, vals[1:]...)
	if _, err := tpmhost.VerifyQuote(pub, v["tpms_attest"], sig, crypto.SHA256, secret, vals0); !errors.Is(err, tpmhost.ErrQuotePCRDigest) {
		t.Errorf("locality 0: %v", err)
	}
	// A signature with a DER encoding instead of R‖S is rejected.
	if _, err := tpmhost.VerifyQuote(pub, v["tpms_attest"], sig[:63], crypto.SHA256, secret, vals); !errors.Is(err, tpmhost.ErrQuoteSignature) {
		t.Errorf("short signature: %v", err)
	}
	if _, err := tpmhost.VerifyQuote(pub, v["tpms_attest"], sig, crypto.SHA384, secret, vals); !errors.Is(err, tpmhost.ErrQuoteKey) {
		t.Errorf("P-256 with SHA-384: %v", err)
	}
}

// TestAttestPrefixes: no strict prefix of the recorded TPMS_ATTEST parses.
func TestAttestPrefixes(t *testing.T) {
	full := readVectors(t)["tpms_attest"]
	for n := 0; n < len(full); n++ {
		a, err := tpmhost.ParseTPMSAttest(full[:n])
		var ae *tpmhost.AttestError
		if a != nil || !errors.As(err, &ae) {
			t.Fatalf("prefix %d: %v %v", n, a, err)
		}
	}
	bad := bytes.Clone(full)
	bad[5] = 0x17 // TPM_ST_ATTEST_CERTIFY
	if _, err := tpmhost.ParseTPMSAttest(bad); err == nil || !strings.Contains(err.Error(), "type") {
		t.Errorf("certify type accepted: %v", err)
	}
	if _, err := tpmhost.ParseTPMSAttest(append(bytes.Clone(full), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
}

func FuzzParseTPMSAttest(f *testing.F) {
	f.Add(readVectors(f)["tpms_attest"])
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := tpmhost.ParseTPMSAttest(in)
		if (a == nil) == (err == nil) {
			t.Fatalf("want exactly one of attest/err")
		}
		if err != nil {
			return
		}
		out, err := a.Marshal()
		if err != nil {
			// Only clockInfo/firmwareVersion sizes can fail, and the parser fixes those.
			t.Fatalf("marshal of a parsed attest: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip differs:\n%x\n%x", in, out)
		}
		_, _ = a.Selections()
	})
}

const tpmSHA256 = crypto.SHA256

func parseSPKI(der []byte) (crypto.PublicKey, error) { return x509.ParsePKIXPublicKey(der) }
