package capability

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/imchost/imchost/abi"
)

// TestDHFinish runs the PTS exchange against the host's DH with an own key
// and checks the secret assessment value H('1' || ni || nr || x).
func TestDHFinish(t *testing.T) {
	s := NewSession(SessionConfig{IMCID: 1})
	out, st := s.Call(abi.FnDHCreate, abi.AppendDHCreateRequest(nil, abi.DHCreateRequest{Group: 19}))
	if st != abi.StatusOK {
		t.Fatal(st)
	}
	res, err := abi.ParseDHCreateResult(out)
	if err != nil || len(res.Public) != 64 {
		t.Fatalf("%v %x", err, res.Public)
	}
	peer, _ := StdDH{}.NewKey(19)
	shared, err := peer.Shared(res.Public)
	if err != nil {
		t.Fatal(err)
	}
	ni, nr := []byte("initiator-nonce-20by"), []byte("responder-nonce-20by")
	got, st := s.Call(abi.FnDHFinish, abi.AppendDHFinishRequest(nil, abi.DHFinishRequest{
		Handle: res.Handle, HashAlg: abi.AlgSHA256, PeerPublic: peer.Public(), InitiatorNonce: ni, ResponderNonce: nr}))
	if st != abi.StatusOK {
		t.Fatal(st)
	}
	want := sha256.Sum256(slices.Concat([]byte("1"), ni, nr, shared))
	if hex.EncodeToString(got) != hex.EncodeToString(want[:]) {
		t.Fatalf("secret %x, want %x", got, want)
	}
	// A key is used once.
	if _, st := s.Call(abi.FnDHFinish, abi.AppendDHFinishRequest(nil, abi.DHFinishRequest{Handle: res.Handle, HashAlg: abi.AlgSHA256, PeerPublic: peer.Public()})); st != abi.StatusNotFound {
		t.Fatalf("second finish: %d", st)
	}
}

// TestConfigGetMaxMessageSize: an IMC that does not set max_message_size
// reads the connection's [tnccs] limit; its own setting wins.
func TestConfigGetMaxMessageSize(t *testing.T) {
	s := NewSession(SessionConfig{IMCID: 1, MaxMessageSize: 32722})
	if v, st := s.Call(abi.FnConfigGet, []byte(SettingMaxMessageSize)); st != abi.StatusOK || string(v) != "32722" {
		t.Errorf("fallback: %q %v", v, st)
	}
	s = NewSession(SessionConfig{IMCID: 1, MaxMessageSize: 32722, Settings: map[string]string{SettingMaxMessageSize: "2000"}})
	if v, st := s.Call(abi.FnConfigGet, []byte(SettingMaxMessageSize)); st != abi.StatusOK || string(v) != "2000" {
		t.Errorf("own setting: %q %v", v, st)
	}
	s = NewSession(SessionConfig{IMCID: 1})
	if _, st := s.Call(abi.FnConfigGet, []byte(SettingMaxMessageSize)); st != abi.StatusNotFound {
		t.Errorf("no limit anywhere: %v", st)
	}
}
