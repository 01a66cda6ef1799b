package tpmhost

import (
	"bytes"
	"crypto"
	"math/big"
	"testing"
)

// TestDHBothRoles: for every group, responder (IMC) and initiator (IMV) derive
// the same shared secret and the same secret assessment value.
func TestDHBothRoles(t *testing.T) {
	for _, g := range DHGroups() {
		t.Run(g.String(), func(t *testing.T) {
			imc, err := NewDHSession(DHResponder, g, 20, nil)
			if err != nil {
				t.Fatal(err)
			}
			imv, err := NewDHSession(DHInitiator, g, 20, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(imc.Key.PublicValue()); n != g.PublicSize() {
				t.Fatalf("public value %d bytes, want %d", n, g.PublicSize())
			}
			s1, z1, err := imc.Finish(crypto.SHA256, imv.Key.PublicValue(), imv.Nonce)
			if err != nil {
				t.Fatal(err)
			}
			s2, z2, err := imv.Finish(crypto.SHA256, imc.Key.PublicValue(), imc.Nonce)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(z1, z2) || len(z1) != g.SharedSize() {
				t.Fatalf("shared secrets differ or wrong size: %d", len(z1))
			}
			if !bytes.Equal(s1, s2) || len(s1) != 32 {
				t.Fatalf("secrets differ")
			}
			want, _ := SecretAssessmentValue(crypto.SHA256, imv.Nonce, imc.Nonce, z1)
			if !bytes.Equal(s1, want) {
				t.Fatal("role order wrong")
			}
			s384, _, _ := imc.Finish(crypto.SHA384, imv.Key.PublicValue(), imv.Nonce)
			if len(s384) != 48 {
				t.Errorf("SHA-384 secret %d bytes", len(s384))
			}
			// Bad peer values.
			if _, _, err := imc.Finish(crypto.SHA256, imv.Key.PublicValue()[1:], imv.Nonce); err == nil {
				t.Error("short public value accepted")
			}
			if _, _, err := imc.Finish(crypto.SHA256, imv.Key.PublicValue(), imv.Nonce[1:]); err == nil {
				t.Error("nonce of another length accepted")
			}
			junk := bytes.Repeat([]byte{0xff}, g.PublicSize())
			if _, err := imc.Key.SharedSecret(junk); err == nil {
				t.Error("invalid public value accepted")
			}
			one := make([]byte, g.PublicSize())
			one[len(one)-1] = 1
			if _, err := imc.Key.SharedSecret(one); err == nil {
				t.Error("public value 1 (or not on the curve) accepted")
			}
		})
	}
	if _, err := GenerateDH(DHGroup(21), nil); err == nil {
		t.Error("unknown group accepted")
	}
}

// TestMODPPrimes: the built-in primes are the RFC's safe primes: prime, (p-1)/2
// prime, top 64 bits set, and 2 generates the subgroup of order q.
func TestMODPPrimes(t *testing.T) {
	for _, g := range []DHGroup{DHModp1024, DHModp1536, DHModp2048} {
		p := g.prime()
		if p.BitLen() != 8*g.PublicSize() {
			t.Errorf("%s: %d bits", g, p.BitLen())
		}
		q := new(big.Int).Rsh(p, 1)
		if !p.ProbablyPrime(20) || !q.ProbablyPrime(20) {
			t.Errorf("%s: not a safe prime", g)
		}
		if new(big.Int).Exp(big.NewInt(2), q, p).Cmp(big.NewInt(1)) != 0 {
			t.Errorf("%s: 2 does not have order q", g)
		}
	}
}

func TestMODPPadding(t *testing.T) {
	// A public value with leading zero bytes keeps the prime's length.
	k, err := GenerateDH(DHModp1024, nil)
	if err != nil {
		t.Fatal(err)
	}
	peer := make([]byte, 128)
	peer[127] = 4 // 2^2: a valid, tiny public value
	z, err := k.SharedSecret(peer)
	if err != nil || len(z) != 128 {
		t.Fatalf("%d bytes, %v", len(z), err)
	}
}

func BenchmarkDH(b *testing.B) {
	for _, g := range DHGroups() {
		b.Run(g.String(), func(b *testing.B) {
			peer, _ := GenerateDH(g, nil)
			for b.Loop() {
				k, err := GenerateDH(g, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := k.SharedSecret(peer.PublicValue()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzDHPeerValue feeds arbitrary peer public values to every group: an error
// or a shared secret of the group's size, never a panic.
func FuzzDHPeerValue(f *testing.F) {
	keys := map[DHGroup]*DHKey{}
	for _, g := range DHGroups() {
		k, err := GenerateDH(g, nil)
		if err != nil {
			f.Fatal(err)
		}
		keys[g] = k
		other, _ := GenerateDH(g, nil)
		f.Add(uint8(g), other.PublicValue())
	}
	f.Fuzz(func(t *testing.T, g uint8, peer []byte) {
		k, ok := keys[DHGroup(g)]
		if !ok {
			k = keys[DHECP256]
		}
		z, err := k.SharedSecret(peer)
		if err == nil && len(z) != k.Group().SharedSize() {
			t.Fatalf("%s: %d-byte secret", k.Group(), len(z))
		}
	})
}
