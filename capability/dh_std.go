package capability

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"

	"github.com/imchost/imchost/tpmhost"
)

// StdDH is the PTS D-H of tpmhost, the project's one Diffie-Hellman
// implementation (the PDP's IMV uses it too): MODP groups 2, 5, 14 and ECP
// groups 19 (P-256) and 20 (P-384), public values and shared secrets in
// strongSwan's encoding (PTS IF-M Binding §3.8). A Platform with a nil DH
// uses it.
type StdDH struct{}

// NewKey implements DH.
func (StdDH) NewKey(group uint16) (DHKey, error) {
	if !slices.Contains(tpmhost.DHGroups(), tpmhost.DHGroup(group)) {
		return nil, fmt.Errorf("%w: DH group %d", ErrUnsupported, group)
	}
	k, err := tpmhost.GenerateDH(tpmhost.DHGroup(group), rand.Reader)
	if err != nil {
		return nil, err
	}
	return stdKey{k}, nil
}

type stdKey struct{ k *tpmhost.DHKey }

// Public is the public value (MODP: big-endian padded to the modulus size;
// ECP: X||Y).
func (k stdKey) Public() []byte { return k.k.PublicValue() }

// Shared validates the peer's public value and derives the shared secret
// (ECP: the X coordinate).
func (k stdKey) Shared(peer []byte) ([]byte, error) {
	s, err := k.k.SharedSecret(peer)
	if err != nil {
		return nil, errors.Join(ErrInvalid, err)
	}
	return s, nil
}
