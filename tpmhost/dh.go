package tpmhost

import (
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// DHGroup is a PTS Diffie-Hellman group, numbered as in IKE
// (PTS IF-M Binding §3.8.6).
type DHGroup uint16

// The groups PTS uses.
const (
	DHModp1024 DHGroup = 2  // RFC 2409 §6.2, PTS bit 0x8000
	DHModp1536 DHGroup = 5  // RFC 3526 §2, PTS bit 0x4000
	DHModp2048 DHGroup = 14 // RFC 3526 §3, PTS bit 0x2000
	DHECP256   DHGroup = 19 // NIST P-256, PTS bit 0x1000
	DHECP384   DHGroup = 20 // NIST P-384, PTS bit 0x0800
)

// DHGroups returns the supported groups, strongest first (the PTS selection
// order).
func DHGroups() []DHGroup {
	return []DHGroup{DHECP384, DHECP256, DHModp2048, DHModp1536, DHModp1024}
}

// String names the group as strongSwan logs it ("ECP_256", "MODP_2048").
func (g DHGroup) String() string {
	switch g {
	case DHModp1024:
		return "MODP_1024"
	case DHModp1536:
		return "MODP_1536"
	case DHModp2048:
		return "MODP_2048"
	case DHECP256:
		return "ECP_256"
	case DHECP384:
		return "ECP_384"
	}
	return fmt.Sprintf("DH_GROUP_%d", uint16(g))
}

// PublicSize is the length of a public value on the wire: the prime length
// for MODP, X‖Y for ECP (0 for an unknown group).
func (g DHGroup) PublicSize() int {
	switch g {
	case DHModp1024:
		return 128
	case DHModp1536:
		return 192
	case DHModp2048:
		return 256
	case DHECP256:
		return 64
	case DHECP384:
		return 96
	}
	return 0
}

// SharedSize is the length of the shared secret: the prime length for MODP,
// one coordinate for ECP.
func (g DHGroup) SharedSize() int {
	if g == DHECP256 || g == DHECP384 {
		return g.PublicSize() / 2
	}
	return g.PublicSize()
}

func (g DHGroup) curve() ecdh.Curve {
	switch g {
	case DHECP256:
		return ecdh.P256()
	case DHECP384:
		return ecdh.P384()
	}
	return nil
}

// MODP primes, generator 2 (RFC 2409 §6.2, RFC 3526 §2 and §3).
var (
	modp1024 = mustHex(
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
			"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
			"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
			"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF")
	modp1536 = mustHex(
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
			"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
			"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
			"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
			"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
			"9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF")
	modp2048 = mustHex(
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74" +
			"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437" +
			"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
			"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05" +
			"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB" +
			"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
			"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718" +
			"3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF")
)

func mustHex(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("tpmhost: bad built-in MODP prime") // our own constant, checked by TestMODPPrimes
	}
	return v
}

func (g DHGroup) prime() *big.Int {
	switch g {
	case DHModp1024:
		return modp1024
	case DHModp1536:
		return modp1536
	case DHModp2048:
		return modp2048
	}
	return nil
}

// ErrDHGroup: the group is not one tpmhost supports.
var ErrDHGroup = errors.New("tpmhost: unsupported D-H group")

// DHKey is one side's ephemeral Diffie-Hellman key.
type DHKey struct {
	group DHGroup
	ec    *ecdh.PrivateKey // ECP
	x     *big.Int         // MODP private exponent
	pub   []byte
}

// GenerateDH creates an ephemeral key in group g. rnd nil means crypto/rand.
func GenerateDH(g DHGroup, rnd io.Reader) (*DHKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	k := &DHKey{group: g}
	if c := g.curve(); c != nil {
		priv, err := c.GenerateKey(rnd)
		if err != nil {
			return nil, fmt.Errorf("tpmhost: D-H %s: %w", g, err)
		}
		k.ec = priv
		k.pub = priv.PublicKey().Bytes()[1:] // drop the 0x04 prefix: PTS sends X‖Y
		return k, nil
	}
	p := g.prime()
	if p == nil {
		return nil, fmt.Errorf("%w: %d", ErrDHGroup, uint16(g))
	}
	// x uniform in [2, p-2].
	x, err := rand.Int(rnd, new(big.Int).Sub(p, big.NewInt(3)))
	if err != nil {
		return nil, fmt.Errorf("tpmhost: D-H %s: %w", g, err)
	}
	k.x = x.Add(x, big.NewInt(2))
	y := new(big.Int).Exp(big.NewInt(2), k.x, p)
	k.pub = y.FillBytes(make([]byte, g.PublicSize()))
	return k, nil
}

// Group returns the key's group.
func (k *DHKey) Group() DHGroup { return k.group }

// PublicValue returns the public value as PTS encodes it: MODP big-endian
// left-padded to the prime length; ECP X‖Y, each padded, no 0x04 prefix.
func (k *DHKey) PublicValue() []byte { return append([]byte(nil), k.pub...) }

// SharedSecret combines the own private key with the peer's public value
// (PTS encoding). ECP: the X coordinate only; MODP: g^xy mod p left-padded to
// the prime length (PTS IF-M Binding §3.8.4). The peer value is validated (on the curve,
// or 1 < y < p-1).
func (k *DHKey) SharedSecret(peer []byte) ([]byte, error) {
	if len(peer) != k.group.PublicSize() {
		return nil, fmt.Errorf("tpmhost: D-H %s: peer public value has %d bytes, want %d", k.group, len(peer), k.group.PublicSize())
	}
	if k.ec != nil {
		pub, err := k.ec.Curve().NewPublicKey(append([]byte{0x04}, peer...))
		if err != nil {
			return nil, fmt.Errorf("tpmhost: D-H %s: invalid peer public value: %w", k.group, err)
		}
		s, err := k.ec.ECDH(pub)
		if err != nil {
			return nil, fmt.Errorf("tpmhost: D-H %s: %w", k.group, err)
		}
		return s, nil
	}
	p := k.group.prime()
	y := new(big.Int).SetBytes(peer)
	pm1 := new(big.Int).Sub(p, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pm1) >= 0 {
		return nil, fmt.Errorf("tpmhost: D-H %s: invalid peer public value (not in 2..p-2)", k.group)
	}
	z := new(big.Int).Exp(y, k.x, p)
	return z.FillBytes(make([]byte, k.group.SharedSize())), nil
}

// SecretAssessmentValue computes the PTS secret (PTS IF-M Binding §3.8.4), the
// TPM2_Quote qualifyingData:
//
//	H('1' ‖ initiator nonce ‖ responder nonce ‖ shared secret)
//
// where '1' is the byte 0x31, the initiator is the verifier (IMV) and the
// responder the IMC.
func SecretAssessmentValue(h crypto.Hash, initiatorNonce, responderNonce, shared []byte) ([]byte, error) {
	if h == 0 || !h.Available() {
		return nil, fmt.Errorf("tpmhost: secret assessment value: hash %v not available", h)
	}
	d := h.New()
	d.Write([]byte{'1'})
	d.Write(initiatorNonce)
	d.Write(responderNonce)
	d.Write(shared)
	return d.Sum(nil), nil
}

// DHRole is a side of the PTS D-H nonce exchange.
type DHRole int

const (
	// DHResponder is the IMC: it answers D-H Nonce Parameters Request.
	DHResponder DHRole = iota + 1
	// DHInitiator is the IMV: it sends D-H Nonce Finish.
	DHInitiator
)

// DHSession is one side of a PTS D-H nonce exchange: an ephemeral key and an
// own nonce. Finish combines them with the peer's and returns the secret.
type DHSession struct {
	Role  DHRole
	Key   *DHKey
	Nonce []byte
}

// NewDHSession creates the key and a random nonce of nonceLen bytes (PTS
// requires at least 17; strongSwan sends 20). rnd nil means crypto/rand.
func NewDHSession(role DHRole, g DHGroup, nonceLen int, rnd io.Reader) (*DHSession, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if nonceLen < 1 || nonceLen > 255 {
		return nil, fmt.Errorf("tpmhost: D-H nonce length %d (want 1..255)", nonceLen)
	}
	k, err := GenerateDH(g, rnd)
	if err != nil {
		return nil, err
	}
	n := make([]byte, nonceLen)
	if _, err := io.ReadFull(rnd, n); err != nil {
		return nil, fmt.Errorf("tpmhost: D-H nonce: %w", err)
	}
	return &DHSession{Role: role, Key: k, Nonce: n}, nil
}

// Finish computes the shared secret with the peer's public value and returns
// the secret assessment value, with the nonces in the order the role implies,
// and the raw shared secret (for Trace logging only).
func (s *DHSession) Finish(h crypto.Hash, peerPublic, peerNonce []byte) (secret, shared []byte, err error) {
	if len(peerNonce) != len(s.Nonce) {
		return nil, nil, fmt.Errorf("tpmhost: D-H nonces have differing lengths (peer %d, own %d)", len(peerNonce), len(s.Nonce))
	}
	shared, err = s.Key.SharedSecret(peerPublic)
	if err != nil {
		return nil, nil, err
	}
	initiator, responder := peerNonce, s.Nonce
	if s.Role == DHInitiator {
		initiator, responder = s.Nonce, peerNonce
	}
	secret, err = SecretAssessmentValue(h, initiator, responder, shared)
	return secret, shared, err
}
