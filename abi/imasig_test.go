package abi

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestIMASignaturesGolden: the value's bytes, and values that must not
// parse.
func TestIMASignaturesGolden(t *testing.T) {
	sigs := []IMASignature{{Seq: 7, Algo: "sha256", Digest: []byte{0xaa, 0xbb}, Signature: []byte{3, 2, 4}}, {Seq: 0x01020304, Algo: "sha1", Digest: []byte{1}}}
	got := hex.EncodeToString(AppendIMASignatures(nil, sigs))
	want := "01" + "00000002" +
		"00000007" + "06" + hex.EncodeToString([]byte("sha256")) + "02aabb" + "0003030204" +
		"01020304" + "04" + hex.EncodeToString([]byte("sha1")) + "0101" + "0000"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	back, err := ParseIMASignatures(AppendIMASignatures(nil, sigs))
	if err != nil || len(back) != 2 || back[0].Seq != 7 || back[0].Algo != "sha256" || !bytes.Equal(back[0].Signature, []byte{3, 2, 4}) ||
		back[1].Seq != 0x01020304 || len(back[1].Signature) != 0 {
		t.Fatalf("%+v %v", back, err)
	}
	for _, bad := range []string{
		"", "0100000000ff", "0200000000", "01ffffffff00000000000000000000",
		"01000000010000000700" + "01aa0000",                 // empty algorithm name
		"010000000100000007017300" + "0000",                 // empty digest
		"0100000001000000070173" + "01aa" + "0005" + "0102", // signature past the end
		"01000000010000000701730" + "1" + "01aa0000",        // odd: truncated name
	} {
		b, _ := hex.DecodeString(bad)
		if _, err := ParseIMASignatures(b); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

// FuzzParseIMASignatures: what parses encodes back to the same bytes.
func FuzzParseIMASignatures(f *testing.F) {
	f.Add(AppendIMASignatures(nil, []IMASignature{{Seq: 1, Algo: "sha256", Digest: make([]byte, 32), Signature: []byte{3, 2, 4, 1, 2, 3, 4, 0, 1, 9}}}))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseIMASignatures(b)
		if err != nil {
			return
		}
		if !bytes.Equal(AppendIMASignatures(nil, s), b) {
			t.Fatalf("%x does not encode back", b)
		}
	})
}
