package patnc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// recordedTPMSAttest is the 145-byte TPMS_ATTEST of the recorded strongSwan
// 6.0.6 exchange, with the PDP's D-H secret as extraData
// (tpmhost/testdata/pts-vectors.txt, tpms_attest).
const recordedTPMSAttest = "ff54434780180022000b63bcb6d0bfc9bbd558c9c22d73a8e67c65ff47f61ad0" +
	"8b3234aaf030e8b92b83002012fc32b380b49533c87f47a463940b28037b1257" +
	"d67722b80ef1e5eb96f25c720000000000029cf8000000050000000001201910" +
	"230016363600000001000b03ff43000020ae59abee4cd55315eb17deeda2cfab" +
	"b9790ccf6cdc4595ba425f1ab8a5e92467"

// TestTPMSAttestGolden pins each field FromTPMSAttest reads out of the
// recorded quote.
func TestTPMSAttestGolden(t *testing.T) {
	var a SimpleEvidFinal
	extra, err := a.FromTPMSAttest(mustHex(t, recordedTPMSAttest))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"extraData", extra, mustHex(t, "12fc32b380b49533c87f47a463940b28037b1257d67722b80ef1e5eb96f25c72")},
		{"qualifiedSigner", a.QualifiedSigner, mustHex(t, "000b63bcb6d0bfc9bbd558c9c22d73a8e67c65ff47f61ad08b3234aaf030e8b92b83")},
		{"clockInfo", a.ClockInfo, mustHex(t, "0000000000029cf80000000500000000 01")},
		{"firmwareVersion", a.VersionInfo, mustHex(t, "2019102300163636")},
		{"pcrSelect", a.PCRSelect, mustHex(t, "00000001000b03ff4300")},
		{"pcrDigest", a.PCRComposite, mustHex(t, "ae59abee4cd55315eb17deeda2cfabb9790ccf6cdc4595ba425f1ab8a5e92467")},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s = %x, want %x", c.name, c.got, c.want)
		}
	}
}

// TestTPMSAttestPrefixes: no strict prefix of the recorded TPMS_ATTEST
// decodes, nor another attestation type or trailing bytes.
func TestTPMSAttestPrefixes(t *testing.T) {
	full := mustHex(t, recordedTPMSAttest)
	for n := 0; n < len(full); n++ {
		var a SimpleEvidFinal
		_, err := a.FromTPMSAttest(full[:n])
		var ae *AttestError
		if !errors.As(err, &ae) || ae.Offset > n {
			t.Fatalf("prefix %d: %v", n, err)
		}
	}
	bad := bytes.Clone(full)
	bad[5] = 0x17 // TPM_ST_ATTEST_CERTIFY
	if _, err := new(SimpleEvidFinal).FromTPMSAttest(bad); err == nil || !strings.Contains(err.Error(), "type") {
		t.Errorf("certify type accepted: %v", err)
	}
	if _, err := new(SimpleEvidFinal).FromTPMSAttest(append(bytes.Clone(full), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
}

// TestTPMSAttestRefusesBadFields: the encoder refuses fields a TPM never
// signs (the old tpmhost encoder did the same).
func TestTPMSAttestRefusesBadFields(t *testing.T) {
	var good SimpleEvidFinal
	if _, err := good.FromTPMSAttest(mustHex(t, recordedTPMSAttest)); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*SimpleEvidFinal){
		"clockInfo 16 bytes":           func(a *SimpleEvidFinal) { a.ClockInfo = a.ClockInfo[:16] },
		"firmwareVersion 9 bytes":      func(a *SimpleEvidFinal) { a.VersionInfo = append(bytes.Clone(a.VersionInfo), 0) },
		"pcrSelect with trailing byte": func(a *SimpleEvidFinal) { a.PCRSelect = append(bytes.Clone(a.PCRSelect), 0) },
		"pcrSelect count 17":           func(a *SimpleEvidFinal) { a.PCRSelect = mustHex(t, "00000011") },
	} {
		a := good
		mod(&a)
		var ae *AttestError
		if _, err := a.TPMSAttest(nil, a.PCRComposite); !errors.As(err, &ae) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzFromTPMSAttest: the decoder either refuses with an *AttestError or
// its fields rebuild exactly the input.
func FuzzFromTPMSAttest(f *testing.F) {
	f.Add(mustHex(f, recordedTPMSAttest))
	f.Fuzz(func(t *testing.T, in []byte) {
		var a SimpleEvidFinal
		extra, err := a.FromTPMSAttest(in)
		if err != nil {
			var ae *AttestError
			if !errors.As(err, &ae) || ae.Offset > len(in) {
				t.Fatalf("error %v is not an *AttestError within the input", err)
			}
			return
		}
		out, err := a.TPMSAttest(extra, a.PCRComposite)
		if err != nil {
			t.Fatalf("encoding a decoded TPMS_ATTEST: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip differs:\n%x\n%x", in, out)
		}
	})
}
