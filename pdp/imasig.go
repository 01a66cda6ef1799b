package pdp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tpmhost"
)

// IMA digital signatures (the security.ima extended attribute an ima-sig
// entry carries): a version 2 header, then the signature of the file
// digest (Linux security/integrity/integrity.h, struct signature_v2_hdr;
// evmctl writes it):
//
//	u8    type: 3 (EVM_IMA_XATTR_DIGSIG)
//	u8    version: 2
//	u8    hash algorithm (Linux enum hash_algo: 2 sha1, 4 sha256, 5 sha384, 6 sha512, 7 sha224)
//	be32  key ID: the last 4 bytes of the signing key's X.509 subject key identifier
//	be16  signature size
//	...   signature: RSA PKCS #1 v1.5 or ECDSA (DER) over the file digest
const (
	imaDigSig      = 3
	imaSigV2       = 2
	imaSigV2HdrLen = 9
)

// imaSigHashes maps Linux's enum hash_algo to the hash it names.
var imaSigHashes = map[byte]crypto.Hash{2: crypto.SHA1, 4: crypto.SHA256, 5: crypto.SHA384, 6: crypto.SHA512, 7: crypto.SHA224}

// imaSignature is a parsed version 2 IMA signature.
type imaSignature struct {
	hash  crypto.Hash
	keyID uint32
	sig   []byte
}

// parseIMASignature decodes an ima-sig entry's sig field.
func parseIMASignature(b []byte) (imaSignature, error) {
	var s imaSignature
	if len(b) < imaSigV2HdrLen {
		return s, fmt.Errorf("%d bytes, shorter than the %d-byte signature header", len(b), imaSigV2HdrLen)
	}
	if b[0] != imaDigSig {
		return s, fmt.Errorf("type %d is not a digital signature (3)", b[0])
	}
	if b[1] != imaSigV2 {
		return s, fmt.Errorf("signature version %d (only version 2 is verified)", b[1])
	}
	h, ok := imaSigHashes[b[2]]
	if !ok {
		return s, fmt.Errorf("unsupported hash algorithm %d", b[2])
	}
	s.hash = h
	s.keyID = binary.BigEndian.Uint32(b[3:])
	n := int(binary.BigEndian.Uint16(b[7:]))
	if n == 0 || n != len(b)-imaSigV2HdrLen {
		return s, fmt.Errorf("signature size %d, but %d bytes follow the header", n, len(b)-imaSigV2HdrLen)
	}
	s.sig = b[imaSigV2HdrLen:]
	return s, nil
}

// IMAKey is a key IMA signatures are verified against.
type IMAKey struct {
	// ID is the key ID a signature names: the last 4 bytes of the
	// certificate's subject key identifier, or of the SHA-1 of the
	// subjectPublicKey (RFC 5280 §4.2.1.2 method 1) without one.
	ID uint32
	// Key is an *rsa.PublicKey or *ecdsa.PublicKey.
	Key crypto.PublicKey
	// Source names where the key came from (file and subject).
	Source string
}

// ReadIMAKeys reads the keys of an ima_keys file: PEM (CERTIFICATE or
// PUBLIC KEY blocks, any number) or one DER X.509 certificate, as the
// kernel's .ima keyring and evmctl take them.
func ReadIMAKeys(path string) ([]IMAKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pdp: ima key: %w", err)
	}
	var out []IMAKey
	add := func(spki []byte, skid []byte, pub crypto.PublicKey, what string) error {
		switch pub.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
		default:
			return fmt.Errorf("pdp: ima key %s: %s: %T keys are not supported (RSA, ECDSA)", path, what, pub)
		}
		if len(skid) < 4 {
			var info struct {
				Algorithm asn1.RawValue
				Key       asn1.BitString
			}
			if _, err := asn1.Unmarshal(spki, &info); err != nil {
				return fmt.Errorf("pdp: ima key %s: %s: %v", path, what, err)
			}
			s := sha1.Sum(info.Key.Bytes)
			skid = s[:]
		}
		out = append(out, IMAKey{ID: binary.BigEndian.Uint32(skid[len(skid)-4:]), Key: pub, Source: path + " " + what})
		return nil
	}
	if !bytes.Contains(b, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("pdp: ima key %s: neither PEM nor a DER certificate: %v", path, err)
		}
		if err := add(c.RawSubjectPublicKeyInfo, c.SubjectKeyId, c.PublicKey, "("+c.Subject.String()+")"); err != nil {
			return nil, err
		}
		return out, nil
	}
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("pdp: ima key %s: %v", path, err)
			}
			if err := add(c.RawSubjectPublicKeyInfo, c.SubjectKeyId, c.PublicKey, "("+c.Subject.String()+")"); err != nil {
				return nil, err
			}
		case "PUBLIC KEY":
			pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("pdp: ima key %s: %v", path, err)
			}
			if err := add(blk.Bytes, nil, pub, "(public key)"); err != nil {
				return nil, err
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pdp: ima key %s: no CERTIFICATE or PUBLIC KEY block", path)
	}
	return out, nil
}

// verifyIMASignature checks a signed IMA entry: its record (file digest and
// signature) must give the measurement the quote covers (the ima-sig
// template hash), and the signature must verify with one of keys. It
// returns "" or what is wrong, naming the entry and the file.
func verifyIMASignature(bank crypto.Hash, e imaEvidence, rec abi.IMASignature, keys []IMAKey) string {
	where := fmt.Sprintf("IMA entry %d %s", e.seq, e.path)
	if e.legacy || rec.Algo != e.algo {
		return fmt.Sprintf("%s: signature record for a %s digest, the entry's is %s", where, rec.Algo, e.algo)
	}
	dng := append([]byte(rec.Algo+":\x00"), rec.Digest...)
	x := bank.New()
	x.Write(tpmhost.IMATemplateData("ima-sig", [][]byte{dng, append([]byte(e.path), 0), rec.Signature}))
	if !bytes.Equal(x.Sum(nil), e.measurement) {
		return fmt.Sprintf("%s: its file digest and signature do not give its measurement %s", where, hex.EncodeToString(e.measurement))
	}
	s, err := parseIMASignature(rec.Signature)
	if err != nil {
		return fmt.Sprintf("%s: signature: %v", where, err)
	}
	if a, err := tpmhost.ParseAlg(rec.Algo); err != nil || a.Hash() != s.hash || s.hash.Size() != len(rec.Digest) {
		return fmt.Sprintf("%s: signature over a %v digest, the file digest is %s", where, s.hash, rec.Algo)
	}
	found := false
	for _, k := range keys {
		if k.ID != s.keyID {
			continue
		}
		found = true
		if verifyDigest(k.Key, s.hash, rec.Digest, s.sig) == nil {
			return ""
		}
	}
	if !found {
		return fmt.Sprintf("%s: signed by key %08x, which is not among the ima_keys", where, s.keyID)
	}
	return fmt.Sprintf("%s: signature by key %08x does not verify", where, s.keyID)
}

// verifyDigest verifies sig over digest with an RSA (PKCS #1 v1.5) or
// ECDSA (ASN.1) public key.
func verifyDigest(pub crypto.PublicKey, h crypto.Hash, digest, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h, digest, sig)
	case *ecdsa.PublicKey:
		if ecdsa.VerifyASN1(k, digest, sig) {
			return nil
		}
		return errors.New("ecdsa: invalid signature")
	}
	return fmt.Errorf("%T keys are not supported", pub)
}
