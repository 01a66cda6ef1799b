package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// attest145 is the TPMS_ATTEST of the recorded strongSwan 6.0.6 exchange
// (pts.md §11): P-256/SHA-256 AK, SHA-256 bank, PCRs 0-9 and 14.
const attest145 = "ff54434780180022000b63bcb6d0bfc9bbd558c9c22d73a8e67c65ff47f61ad0" +
	"8b3234aaf030e8b92b83002012fc32b380b49533c87f47a463940b28037b1257" +
	"d67722b80ef1e5eb96f25c720000000000029cf8000000050000000001201910" +
	"230016363600000001000b03ff43000020ae59abee4cd55315eb17deeda2cfab" +
	"b9790ccf6cdc4595ba425f1ab8a5e92467"

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseQuoteInfoRecorded(t *testing.T) {
	in := mustHex(t, attest145)
	q, err := parseQuoteInfo(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"qualifiedSigner": {hex.EncodeToString(q.QualifiedSigner), "000b63bcb6d0bfc9bbd558c9c22d73a8e67c65ff47f61ad08b3234aaf030e8b92b83"},
		"extraData":       {hex.EncodeToString(q.ExtraData), "12fc32b380b49533c87f47a463940b28037b1257d67722b80ef1e5eb96f25c72"},
		"clockInfo":       {hex.EncodeToString(q.ClockInfo), "0000000000029cf8000000050000000001"},
		"firmwareVersion": {hex.EncodeToString(q.FirmwareVersion), "2019102300163636"},
		"pcrSelect":       {hex.EncodeToString(q.PCRSelect), "00000001000b03ff4300"},
		"pcrDigest":       {hex.EncodeToString(q.PCRDigest), "ae59abee4cd55315eb17deeda2cfabb9790ccf6cdc4595ba425f1ab8a5e92467"},
	}
	for name, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %s, want %s", name, v[0], v[1])
		}
	}
}

// TestParseQuoteInfoPrefixes: no strict prefix of a valid TPMS_ATTEST parses,
// and neither does one with a trailing byte.
func TestParseQuoteInfoPrefixes(t *testing.T) {
	in := mustHex(t, attest145)
	for n := 0; n < len(in); n++ {
		if q, err := parseQuoteInfo(in[:n]); err == nil || q != nil {
			t.Fatalf("prefix of %d bytes parsed", n)
		} else if !errors.Is(err, errAttest) {
			t.Fatalf("prefix %d: error %v does not wrap errAttest", n, err)
		}
	}
	if _, err := parseQuoteInfo(append(bytes.Clone(in), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestParseQuoteInfoRejects(t *testing.T) {
	in := mustHex(t, attest145)
	for _, tc := range []struct {
		name string
		off  int
		val  byte
	}{
		{"magic", 0, 0x00},
		{"type certify", 5, 0x17},
		{"selection count 17", 6 + 2 + 34 + 2 + 32 + 17 + 8 + 3, 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(in)
			b[tc.off] = tc.val
			if _, err := parseQuoteInfo(b); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func FuzzParseQuoteInfo(f *testing.F) {
	f.Add(mustHex(f, attest145))
	f.Fuzz(func(t *testing.T, in []byte) {
		q, err := parseQuoteInfo(in)
		if (q == nil) == (err == nil) {
			t.Fatalf("want exactly one of result/err, got %v / %v", q, err)
		}
		if err != nil {
			return
		}
		// Re-assemble and compare: the pieces cover the input exactly.
		var b []byte
		b = append(b, in[:6]...)
		b = append(b, byte(len(q.QualifiedSigner)>>8), byte(len(q.QualifiedSigner)))
		b = append(b, q.QualifiedSigner...)
		b = append(b, byte(len(q.ExtraData)>>8), byte(len(q.ExtraData)))
		b = append(b, q.ExtraData...)
		b = append(b, q.ClockInfo...)
		b = append(b, q.FirmwareVersion...)
		b = append(b, q.PCRSelect...)
		b = append(b, byte(len(q.PCRDigest)>>8), byte(len(q.PCRDigest)))
		b = append(b, q.PCRDigest...)
		if !bytes.Equal(b, in) {
			t.Fatalf("pieces do not reassemble the input")
		}
	})
}
