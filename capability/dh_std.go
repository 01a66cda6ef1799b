package capability

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
)

// StdDH is the standard-library DH: the ECP groups 19 (P-256) and 20
// (P-384). MODP groups need tpmhost's DH (NewTPMPlatform wires it).
type StdDH struct{}

// NewKey implements DH.
func (StdDH) NewKey(group uint16) (DHKey, error) {
	var c ecdh.Curve
	switch group {
	case 19:
		c = ecdh.P256()
	case 20:
		c = ecdh.P384()
	default:
		return nil, fmt.Errorf("%w: DH group %d", ErrUnsupported, group)
	}
	k, err := c.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return ecpKey{k}, nil
}

type ecpKey struct{ k *ecdh.PrivateKey }

// Public is X||Y: the uncompressed point without its 0x04 prefix.
func (e ecpKey) Public() []byte { return e.k.PublicKey().Bytes()[1:] }

// Shared is the X coordinate of the shared point (what crypto/ecdh returns
// for the NIST curves).
func (e ecpKey) Shared(peer []byte) ([]byte, error) {
	pub, err := e.k.Curve().NewPublicKey(append([]byte{4}, peer...))
	if err != nil {
		return nil, fmt.Errorf("%w: peer public value: %v", ErrInvalid, err)
	}
	return e.k.ECDH(pub)
}
