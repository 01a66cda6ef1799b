package tpmhost

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
)

// Quote signature failures, for errors.Is.
var (
	ErrQuoteSignature = errors.New("tpmhost: quote signature invalid")
	ErrQuoteKey       = errors.New("tpmhost: quote key unsupported")
)

// PCRDigest is the TPMS_QUOTE_INFO pcrDigest of PCR values: h(v0 ‖ v1 ‖ …).
func PCRDigest(h crypto.Hash, pcrValues [][]byte) []byte {
	d := h.New()
	for _, v := range pcrValues {
		d.Write(v)
	}
	return d.Sum(nil)
}

// VerifySignature checks a quote signature over data (TPM 2.0 Part 3 §18.4):
// RSA PKCS#1 v1.5 with sigHash, or ECDSA with the curve's fixed hash
// (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512; sigHash must equal it) and
// sig = R‖S, each half the curve size. A verifier passes the TPMS_ATTEST it
// rebuilt with its own nonce and PCR digest (patnc.SimpleEvidFinal.TPMSAttest),
// so that a valid signature proves both. Errors wrap ErrQuoteSignature or
// ErrQuoteKey.
func VerifySignature(pub crypto.PublicKey, data, sig []byte, sigHash crypto.Hash) error {
	if sigHash == 0 || !sigHash.Available() {
		return fmt.Errorf("%w: hash %v not available", ErrQuoteKey, sigHash)
	}
	d := sigHash.New()
	d.Write(data)
	digest := d.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(k, sigHash, digest, sig); err != nil {
			return fmt.Errorf("%w: RSASSA-PKCS1-v1_5/%v: %w", ErrQuoteSignature, sigHash, err)
		}
		return nil
	case *ecdsa.PublicKey:
		want, size := curveHash(k.Curve)
		if want == 0 {
			return fmt.Errorf("%w: curve %s", ErrQuoteKey, k.Curve.Params().Name)
		}
		if sigHash != want {
			return fmt.Errorf("%w: %s signatures use %v, not %v", ErrQuoteKey, k.Curve.Params().Name, want, sigHash)
		}
		if len(sig) != 2*size {
			return fmt.Errorf("%w: ECDSA signature has %d bytes, want R‖S of %d", ErrQuoteSignature, len(sig), 2*size)
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(k, digest, r, s) {
			return fmt.Errorf("%w: ECDSA %s/%v", ErrQuoteSignature, k.Curve.Params().Name, sigHash)
		}
		return nil
	}
	return fmt.Errorf("%w: key type %T", ErrQuoteKey, pub)
}

// curveHash returns the hash strongSwan pairs with a curve and the size of
// one coordinate.
func curveHash(c elliptic.Curve) (crypto.Hash, int) {
	switch c {
	case elliptic.P256():
		return crypto.SHA256, 32
	case elliptic.P384():
		return crypto.SHA384, 48
	case elliptic.P521():
		return crypto.SHA512, 66
	}
	return 0, 0
}
