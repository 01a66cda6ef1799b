package tpmhost

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
)

// Quote verification failures, for errors.Is.
var (
	ErrQuoteSignature = errors.New("tpmhost: quote signature invalid")
	ErrQuoteMalformed = errors.New("tpmhost: quote malformed")
	ErrQuoteExtraData = errors.New("tpmhost: quote extraData (nonce) mismatch")
	ErrQuotePCRDigest = errors.New("tpmhost: quote PCR digest mismatch")
	ErrQuoteKey       = errors.New("tpmhost: quote key unsupported")
)

// VerifyQuote checks a TPM2_Quote as the PTS verifier does (PTS IF-M Binding
// §3.15.2, TPM 2.0 Part 3 §18.4):
//
//   - sig over attest with pub: RSA PKCS#1 v1.5 with sigHash, or ECDSA with
//     the curve's fixed hash (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512;
//     sigHash must equal it) and sig = R‖S, each half the curve size;
//   - attest is a TPMS_ATTEST with TPM_GENERATED magic and type QUOTE;
//   - its extraData equals wantExtraData;
//   - its pcrDigest equals sigHash(concatenation of pcrValues), the selected
//     PCR values in ascending index order.
//
// It returns the parsed structure on success. Errors wrap one of the
// ErrQuote* sentinels.
func VerifyQuote(pub crypto.PublicKey, attest, sig []byte, sigHash crypto.Hash, wantExtraData []byte, pcrValues [][]byte) (*Attest, error) {
	if err := VerifySignature(pub, attest, sig, sigHash); err != nil {
		return nil, err
	}
	a, err := ParseTPMSAttest(attest)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrQuoteMalformed, err)
	}
	if subtle.ConstantTimeCompare(a.ExtraData, wantExtraData) != 1 {
		return nil, fmt.Errorf("%w: quoted %x, expected %x", ErrQuoteExtraData, a.ExtraData, wantExtraData)
	}
	want := PCRDigest(sigHash, pcrValues)
	if subtle.ConstantTimeCompare(a.PCRDigest, want) != 1 {
		return nil, fmt.Errorf("%w: quoted %x, constructed %x", ErrQuotePCRDigest, a.PCRDigest, want)
	}
	return a, nil
}

// PCRDigest is the TPMS_QUOTE_INFO pcrDigest of PCR values: h(v0 ‖ v1 ‖ …).
func PCRDigest(h crypto.Hash, pcrValues [][]byte) []byte {
	d := h.New()
	for _, v := range pcrValues {
		d.Write(v)
	}
	return d.Sum(nil)
}

// VerifySignature checks a quote signature over data as VerifyQuote does,
// without looking inside data.
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
