//go:build !wasip1

package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/imagen"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tpmhost"
)

// imaSigner signs file digests the way evmctl ima_sign does: an IMA
// digital signature v2 (type 3, version 2, hash algorithm 4 = sha256, the
// key ID, the size) then the signature of the digest.
type imaSigner struct {
	key   crypto.Signer
	keyID [4]byte
}

func (s imaSigner) sign(t *testing.T, digest []byte) []byte {
	t.Helper()
	sig, err := s.key.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	hdr := append([]byte{3, 2, 4}, s.keyID[:]...)
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(sig)))
	return append(hdr, sig...)
}

// signedEntry is a signed ima-sig entry of file name with content digest d.
func signedEntry(t *testing.T, s imaSigner, name string, d []byte) *tpmhost.IMAEntry {
	e := &tpmhost.IMAEntry{PCR: tpmhost.IMAPCR, Template: "ima-sig",
		Fields: [][]byte{append([]byte("sha256:\x00"), d...), []byte(name + "\x00"), s.sign(t, d)}}
	e.Data = tpmhost.IMATemplateData(e.Template, e.Fields)
	h := sha1.Sum(e.Data)
	e.Digest = h[:]
	return e
}

// TestIMASignaturesPDP: an IMA list whose files are signed, a third with
// an RSA key (its CA certificate, with a subject key identifier, in
// ima_keys), a third with an ECDSA P-256 key (its bare public key in
// ima_keys, key ID from the SHA-1 of the public key), a third unsigned.
// The built module sends each signed entry's file digest and signature
// besides the evidence; the PDP verifies them against ima_keys and finds
// the endpoint compliant on first contact with ima_strict (nothing
// learned: the signatures vouch for the signed files, a reference list for
// the unsigned). Then two files are added: one signed by a key not in
// ima_keys, one whose signature is of another digest. Both fail, with
// reasons naming the entry and the file; nothing else does. (Without
// signature checks — before ima_keys — both passed as new files.)
func TestIMASignaturesPDP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	env := newTPMEnv(t, useSwtpm, tpmhost.AKECCP256, recordedLog)
	rep, err := env.log.ReplayLocality(tpmhost.AlgSHA256, env.locality)
	if err != nil {
		t.Fatal(err)
	}
	o := imagen.Options{Seed: 31, BootPCRs: imagen.BootPCRs(rep)}
	dir := t.TempDir()

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	skid := []byte("imchost-ima-test-key")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "IMA test signing key"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, SubjectKeyId: skid}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rsaKey.Public(), rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner := imaSigner{key: rsaKey}
	copy(rsaSigner.keyID[:], skid[len(skid)-4:])
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, err := ecKey.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	ecID := sha1.Sum(ecPub.Bytes()) // the subjectPublicKey: the uncompressed point
	ecSigner := imaSigner{key: ecKey}
	copy(ecSigner.keyID[:], ecID[16:])
	pkix, err := x509.MarshalPKIXPublicKey(ecKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaFile := testutil.WritePEM(t, filepath.Join(dir, "ima-rsa.pem"), "CERTIFICATE", der)
	ecFile := testutil.WritePEM(t, filepath.Join(dir, "ima-ec.pem"), "PUBLIC KEY", pkix)

	// boot_aggregate, then 30 files
	entries := []*tpmhost.IMAEntry{o.Entry(0)}
	var refs strings.Builder
	for i := 1; i <= 30; i++ {
		name, d := fmt.Sprintf("/usr/bin/signed%02d", i), imagen.FileDigest(31, i)
		switch i % 3 {
		case 0:
			entries = append(entries, signedEntry(t, rsaSigner, name, d))
		case 1:
			entries = append(entries, signedEntry(t, ecSigner, name, d))
		default:
			entries = append(entries, o.Entry(i))
			fmt.Fprintf(&refs, "%x  %s\n", d, o.FileName(i))
		}
	}
	refFile := filepath.Join(dir, "refs.sha256")
	if err := os.WriteFile(refFile, []byte(refs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "binary_runtime_measurements")
	write := func() {
		var b []byte
		for _, e := range entries {
			b = tpmhost.AppendIMAEntry(b, e)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	for _, e := range entries {
		extendIMA(t, env, e)
	}
	h := imaHost(t, env, builtModule(t), path)
	policy := pdp.DefaultPolicy()
	policy.IMA, policy.IMAStrict, policy.IMAReferences = true, true, refFile
	policy.IMAKeys = []string{rsaFile, ecFile}
	if v := pdpVerdict(t, h, policy, filepath.Join(dir, "pdp.db")); v.Result != pdp.Compliant {
		t.Fatalf("signed list: %v %v", v.Result, v.Reasons)
	}

	// Two more files: signed by a stranger, and a signature of another digest.
	strangerKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	stranger := imaSigner{key: strangerKey, keyID: [4]byte{0xde, 0xad, 0xbe, 0xef}}
	bad1 := signedEntry(t, stranger, "/usr/bin/stranger", imagen.FileDigest(31, 100))
	other := sha256.Sum256([]byte("another file"))
	bad2 := signedEntry(t, rsaSigner, "/usr/bin/forged", imagen.FileDigest(31, 101))
	bad2.Fields[2] = rsaSigner.sign(t, other[:])
	bad2.Data = tpmhost.IMATemplateData(bad2.Template, bad2.Fields)
	h2 := sha1.Sum(bad2.Data)
	bad2.Digest = h2[:]
	entries = append(entries, bad1, bad2)
	write()
	extendIMA(t, env, bad1)
	extendIMA(t, env, bad2)
	lax := policy
	lax.IMAStrict = false // new files would be learned: only the signatures fail them
	v := pdpVerdict(t, h, lax, filepath.Join(dir, "pdp2.db"))
	all := strings.Join(v.Reasons, "\n")
	if v.Result == pdp.Compliant || len(v.Reasons) != 2 ||
		!strings.Contains(all, "IMA entry 31 /usr/bin/stranger: signed by key deadbeef, which is not among the ima_keys") ||
		!strings.Contains(all, fmt.Sprintf("IMA entry 32 /usr/bin/forged: signature by key %x does not verify", rsaSigner.keyID)) {
		t.Fatalf("bad signatures: %v %q", v.Result, v.Reasons)
	}
}
