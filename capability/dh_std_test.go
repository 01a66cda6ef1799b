package capability

import (
	"bytes"
	"errors"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tpmhost"
)

// TestStdDHAllGroups: a Platform without its own DH offers every PTS group
// through tpmhost's one D-H implementation (the old standard-library StdDH
// refused the MODP groups), and both sides derive the same shared secret.
func TestStdDHAllGroups(t *testing.T) {
	for _, g := range tpmhost.DHGroups() {
		s := NewSession(SessionConfig{IMCID: 1})
		out, st := s.Call(abi.FnDHCreate, abi.AppendDHCreateRequest(nil, abi.DHCreateRequest{Group: uint16(g)}))
		if st != abi.StatusOK {
			t.Fatalf("%s: dh_create %v", g, st)
		}
		res, err := abi.ParseDHCreateResult(out)
		if err != nil || len(res.Public) != g.PublicSize() {
			t.Fatalf("%s: %v, %d-byte public value", g, err, len(res.Public))
		}
		peer, err := StdDH{}.NewKey(uint16(g))
		if err != nil {
			t.Fatal(err)
		}
		k, _ := StdDH{}.NewKey(uint16(g))
		a, err1 := peer.Shared(k.Public())
		b, err2 := k.Shared(peer.Public())
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) || len(a) != g.SharedSize() {
			t.Fatalf("%s: shared secrets %x / %x (%v, %v)", g, a, b, err1, err2)
		}
		if _, err := k.Shared(make([]byte, g.PublicSize())); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: an all-zero public value gives %v", g, err)
		}
	}
	if _, err := (StdDH{}).NewKey(99); !errors.Is(err, ErrUnsupported) {
		t.Errorf("group 99: %v", err)
	}
}
