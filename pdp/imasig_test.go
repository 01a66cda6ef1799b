package pdp

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseIMASignature: the version 2 header's fields, and headers that
// must be refused.
func TestParseIMASignature(t *testing.T) {
	b, _ := hex.DecodeString("030204" + "a1b2c3d4" + "0003" + "010203")
	s, err := parseIMASignature(b)
	if err != nil || s.hash != crypto.SHA256 || s.keyID != 0xa1b2c3d4 || !bytes.Equal(s.sig, []byte{1, 2, 3}) {
		t.Fatalf("%+v %v", s, err)
	}
	for hx, want := range map[string]string{
		"":                       "shorter than",
		"0302040000000000":       "shorter than",
		"040204a1b2c3d4000101":   "not a digital signature",
		"030304a1b2c3d4000101":   "version 3",
		"030201a1b2c3d4000101":   "hash algorithm 1",
		"030204a1b2c3d4000201":   "signature size 2",
		"030204a1b2c3d40000":     "signature size 0",
		"030204a1b2c3d400010102": "signature size 1",
	} {
		b, _ := hex.DecodeString(hx)
		if _, err := parseIMASignature(b); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", hx, err, want)
		}
	}
}

// FuzzParseIMASignature: no panic; what parses has its signature right
// after the 9-byte header.
func FuzzParseIMASignature(f *testing.F) {
	f.Add([]byte{3, 2, 4, 0xa1, 0xb2, 0xc3, 0xd4, 0, 1, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseIMASignature(b)
		if err == nil && (len(s.sig) == 0 || !bytes.Equal(s.sig, b[imaSigV2HdrLen:])) {
			t.Fatalf("%x: %+v", b, s)
		}
	})
}

// TestReadIMAKeysRefuses: files that hold no usable key.
func TestReadIMAKeysRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.pem":   "-----BEGIN NOTHING-----\nAAAA\n-----END NOTHING-----\n",
		"garbage.der": "\x30\x03\x02\x01",
		"bad.pem":     "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		if _, err := ReadIMAKeys(p); err == nil {
			t.Errorf("%s: read", name)
		}
		pol := DefaultPolicy()
		pol.IMAKeys = []string{p}
		if err := pol.validate(); err == nil {
			t.Errorf("a policy with ima_keys %s validated", name)
		}
	}
	if _, err := ReadIMAKeys(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing file read")
	}
}
