package abi

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestModuleReportGolden: the attribute's bytes, header included.
func TestModuleReportGolden(t *testing.T) {
	r := ModuleReport{PCR: 14, Bank: AlgSHA256, SigAlg: 0x18, HashAlg: AlgSHA256, Log: []byte("L"), Attest: []byte{0xff, 0x54}, Signature: []byte{1}}
	got := hex.EncodeToString(AppendModuleReportAttr(nil, r))
	want := "00007ed9" + "00000001" + "00000024" + // flags, vendor 32473, type 1, length 36
		"010e000b0018000b" + "000000014c" + "00000002ff54" + "0000000101"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	back, err := ParseModuleReport(AppendModuleReport(nil, r))
	if err != nil || back.PCR != 14 || string(back.Log) != "L" || !bytes.Equal(back.Attest, r.Attest) || !bytes.Equal(back.Signature, r.Signature) {
		t.Fatalf("%+v %v", back, err)
	}
	for _, bad := range []string{"", "020e000b0018000b000000000000000000000000", "010e000b0018000b00000005", "010e000b0018000b00000000000000000000000000"} {
		b, _ := hex.DecodeString(bad)
		if _, err := ParseModuleReport(b); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

// FuzzParseModuleReport: what parses encodes back to the same bytes.
func FuzzParseModuleReport(f *testing.F) {
	f.Add(AppendModuleReport(nil, ModuleReport{PCR: 14, Bank: AlgSHA256, Log: []byte("x"), Attest: []byte{1}, Signature: []byte{2}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseModuleReport(b)
		if err != nil {
			return
		}
		if !bytes.Equal(AppendModuleReport(nil, r), b) {
			t.Fatalf("%x does not encode back", b)
		}
	})
}
