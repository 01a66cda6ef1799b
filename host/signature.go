package host

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Module signatures. A sha256 pin fixes one build; a vendor who ships
// updates signs each build with an Ed25519 key instead, and config.toml
// trusts the vendor's public key ([wasm] trusted_keys, or per IMC
// `signers`).
//
// Formats (host/README.md; the same tools as OpenSSL's):
//
//   - private key: PEM "PRIVATE KEY", PKCS #8 (RFC 8410), what
//     `openssl genpkey -algorithm ed25519` writes; `imchost imc keygen`
//     makes one (mode 0600) with its public key beside it;
//   - public key: PEM "PUBLIC KEY", SubjectPublicKeyInfo (RFC 8410), what
//     `openssl pkey -pubout` writes;
//   - signature: the 64 bytes of a pure Ed25519 signature (RFC 8032) over
//     SignatureContext followed by the 32-byte SHA-256 of the module file,
//     alone in a file beside the module: `<module>.sig` unless the IMC sets
//     `signature`.
//
// A key is named by its key ID: the SHA-256 of its 32 raw bytes, hex.

// SignatureContext starts every signed message, so that a signature over
// a module can never be taken for a signature over anything else.
const SignatureContext = "imchost module v1\x00"

// SignatureSuffix is appended to a module's path to find its signature
// when the IMC does not name one.
const SignatureSuffix = ".sig"

// ErrSignature: a module that must be signed has no signature, or none by
// a key it trusts.
var ErrSignature = errors.New("signature check failed")

// SignatureMessage is what is signed for a module file whose SHA-256 is
// sum.
func SignatureMessage(sum [sha256.Size]byte) []byte {
	return append([]byte(SignatureContext), sum[:]...)
}

// KeyID names a public key: the hex SHA-256 of its raw 32 bytes.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:])
}

// GenerateSigningKey makes an Ed25519 key pair and returns the private key
// and the public key as PEM (PKCS #8 and SubjectPublicKeyInfo).
func GenerateSigningKey() (privPEM, pubPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), nil
}

// ParseSigningKey reads an Ed25519 private key in PEM (PKCS #8).
func ParseSigningKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" (PKCS #8)")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return priv, nil
}

// ParseTrustedKey reads an Ed25519 public key in PEM (SubjectPublicKeyInfo).
func ParseTrustedKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM \"PUBLIC KEY\"")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return pub, nil
}

// SignModule signs a module file with priv and returns the signature (what
// `imchost imc sign` writes to <module>.sig).
func SignModule(priv ed25519.PrivateKey, path string) ([]byte, error) {
	mf, err := statModule(path)
	if err != nil {
		return nil, err
	}
	sum, _ := hex.DecodeString(mf.sha)
	return ed25519.Sign(priv, SignatureMessage([sha256.Size]byte(sum))), nil
}

// signaturePath is where an IMC's module signature is read from.
func (c *IMCConfig) signaturePath() string {
	if c.Signature != "" {
		return c.Signature
	}
	return c.Path + SignatureSuffix
}

// trustedKeys reads the public keys that may sign c: its signers, else
// [wasm] trusted_keys. A key file that cannot be read is an error: a
// configuration that names a key means it.
func (cfg *Config) trustedKeys(c *IMCConfig) ([]ed25519.PublicKey, error) {
	paths := cfg.Wasm.TrustedKeys
	if len(c.Signers) > 0 {
		paths = c.Signers
	}
	keys := make([]ed25519.PublicKey, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil {
			var k ed25519.PublicKey
			if k, err = ParseTrustedKey(b); err == nil {
				keys = append(keys, k)
				continue
			}
		}
		return nil, fmt.Errorf("trusted key '%s': %v", p, err)
	}
	return keys, nil
}

// checkSignature verifies the signature of the module file mf for c and
// returns the signer's key ID ("" for a module that need not be signed
// and is not, or not by a key it trusts: then it loads unsigned, with a
// warning when a signature was there). A module that must be signed ([wasm]
// require_signature, or `signers` set for it) is refused without a
// signature by a trusted key.
func (h *Host) checkSignature(full *Config, c *IMCConfig, mf *moduleFile) (string, error) {
	required := full.Wasm.RequireSignature || len(c.Signers) > 0
	keys, err := full.trustedKeys(c)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSignature, err)
	}
	sigPath := c.signaturePath()
	sig, err := readSignature(sigPath)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !required:
		return "", nil
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%w: '%s' is not signed (no '%s') and %s requires a signature", ErrSignature, c.Path, sigPath, full.source())
	case err != nil && required:
		return "", fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if err == nil {
		sum, _ := hex.DecodeString(mf.sha)
		msg := SignatureMessage([sha256.Size]byte(sum))
		for _, k := range keys {
			if ed25519.Verify(k, msg, sig) {
				return KeyID(k), nil
			}
		}
		err = fmt.Errorf("the signature '%s' of '%s' (sha256 %s) is not by any of the %d trusted keys (%s)",
			sigPath, c.Path, mf.sha, len(keys), keyIDs(keys))
	}
	if required {
		return "", fmt.Errorf("%w: %v", ErrSignature, err)
	}
	h.wlog.Warn(fmt.Sprintf("IMC \"%s\": %v; loading it as unsigned", c.Name, err))
	return "", nil
}

// readSignature reads a signature file: 64 bytes.
func readSignature(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != ed25519.SignatureSize {
		return nil, fmt.Errorf("the signature '%s' is not a file of %d bytes (a raw Ed25519 signature)", path, ed25519.SignatureSize)
	}
	b, err := os.ReadFile(path)
	if err == nil && len(b) != ed25519.SignatureSize {
		err = fmt.Errorf("the signature '%s' changed while it was read", path)
	}
	return b, err
}

// keyIDs lists key IDs shortened for a log line.
func keyIDs(keys []ed25519.PublicKey) string {
	if len(keys) == 0 {
		return "none configured"
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = KeyID(k)[:16]
	}
	return strings.Join(ids, ", ")
}
