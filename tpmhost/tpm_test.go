package tpmhost_test

import (
	"bytes"
	"crypto"
	"errors"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/hashicorp/go-hclog"
	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/tpmhost"
	"github.com/imchost/imchost/tpmhost/tpmsim"
)

const akHandle = 0x81010003

func testLogger(t testing.TB) hclog.Logger {
	return testutil.Logger(t, "test", hclog.Debug)
}

// tpmUnderTest names a way to get a fresh TPM and the locality it started at.
type tpmUnderTest struct {
	name string
	open func(t *testing.T) (*tpmhost.TPM, uint8)
}

func openSwtpm(loc uint8) func(t *testing.T) (*tpmhost.TPM, uint8) {
	return func(t *testing.T) (*tpmhost.TPM, uint8) {
		inst := swtpm.Start(t, swtpm.WithLocality(loc))
		tpm, err := tpmhost.Open(inst.Spec, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tpm.Close() })
		return tpm, loc
	}
}

func openSimulator(t *testing.T) (*tpmhost.TPM, uint8) {
	tpm, err := tpmsim.Open(testLogger(t))
	if errors.Is(err, tpmhost.ErrNotSupported) {
		t.Skip("simulator needs cgo")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tpm.Close() })
	return tpm, 0
}

var tpms = []tpmUnderTest{
	{"swtpm-locality3", openSwtpm(3)},
	{"simulator", openSimulator},
}

func TestVersionAndBanks(t *testing.T) {
	for _, tt := range tpms {
		t.Run(tt.name, func(t *testing.T) {
			tpm, _ := tt.open(t)
			v, err := tpm.VersionInfo()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s vendor %q fw %x level %d day %d", v, v.VendorString, v.FirmwareVersion, v.Level, v.DayOfYear)
			if v.Family != "2.0" || v.Revision < 100 || v.Year < 2012 || v.Manufacturer == "" {
				t.Errorf("implausible version info %+v", v)
			}
			banks, err := tpm.Banks()
			if err != nil {
				t.Fatal(err)
			}
			alloc, err := tpm.AllocatedBanks()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("listed %v allocated %v", banks, alloc)
			for _, b := range alloc {
				if len(banks[b]) == 0 {
					t.Errorf("bank %s reported allocated with no PCRs", b)
				}
			}
			for b, pcrs := range banks {
				if len(pcrs) == 0 {
					for _, a := range alloc {
						if a == b {
							t.Errorf("empty bank %s reported as allocated", b)
						}
					}
				}
			}
			if len(alloc) == 0 {
				t.Fatal("no allocated banks")
			}
			vals, err := tpm.ReadPCRs(alloc[0], []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 16, 23})
			if err != nil {
				t.Fatal(err)
			}
			if len(vals) != 14 {
				t.Errorf("read %d PCRs, want 14", len(vals))
			}
		})
	}
}

func TestQuoteRealLog(t *testing.T) {
	l, err := tpmhost.ReadEventLog(testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tpms {
		for _, kind := range []tpmhost.AKKind{tpmhost.AKECCP256, tpmhost.AKRSA2048} {
			t.Run(tt.name+"/"+kind.String(), func(t *testing.T) {
				tpm, startLoc := tt.open(t)
				ak, err := tpm.ProvisionAK(akHandle, kind, true)
				if err != nil {
					t.Fatal(err)
				}
				loaded, err := tpm.LoadAK(akHandle)
				if err != nil {
					t.Fatal(err)
				}
				if loaded.KeyID != ak.KeyID || !bytes.Equal(loaded.Name, ak.Name) {
					t.Fatalf("LoadAK gives keyid %s, provisioned %s", loaded.KeyID, ak.KeyID)
				}
				if _, err := tpm.ExtendFromLog(l); err != nil {
					t.Fatal(err)
				}
				bank := tpmhost.AlgSHA256
				loc, matched, err := tpm.StartupLocality(l, bank)
				if err != nil {
					t.Fatal(err)
				}
				if !matched || loc != startLoc {
					t.Fatalf("detected locality %d (matched %v), TPM started at %d", loc, matched, startLoc)
				}
				r, err := l.ReplayLocality(bank, loc)
				if err != nil {
					t.Fatal(err)
				}
				pcrs := r.Indices()
				actual, err := tpm.ReadPCRs(bank, pcrs)
				if err != nil {
					t.Fatal(err)
				}
				if mm := l.Compare(r, actual); len(mm) != 0 {
					t.Fatalf("replay differs from TPM: %v", mm)
				}
				nonce := bytes.Repeat([]byte{0x5a}, 32)
				q, err := tpm.Quote(loaded, bank, pcrs, nonce)
				if err != nil {
					t.Fatal(err)
				}
				var vals [][]byte
				for _, p := range pcrs {
					vals = append(vals, r.Value(p))
				}
				h := q.HashAlg.Hash()
				a, err := checkQuote(ak.Public, q.Attest, q.Signature, h, nonce, vals)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if !bytes.Equal(a.QualifiedSigner, ak.QualifiedName) {
					t.Errorf("qualifiedSigner %x, AK qualified name %x", a.QualifiedSigner, ak.QualifiedName)
				}
				// Rebuild from the pieces, as the PDP does.
				re, err := a.TPMSAttest(nonce, a.PCRComposite)
				if err != nil || !bytes.Equal(re, q.Attest) {
					t.Fatalf("rebuilt TPMS_ATTEST differs (%v)", err)
				}
				// Failures.
				bad := append([][]byte(nil), vals...)
				bad[3] = bytes.Repeat([]byte{1}, 32)
				if _, err := checkQuote(ak.Public, q.Attest, q.Signature, h, nonce, bad); !errors.Is(err, tpmhost.ErrQuoteSignature) {
					t.Errorf("tampered PCR: %v", err)
				}
				if _, err := checkQuote(ak.Public, q.Attest, q.Signature, h, bytes.Repeat([]byte{0x5b}, 32), vals); !errors.Is(err, tpmhost.ErrQuoteSignature) {
					t.Errorf("wrong nonce: %v", err)
				}
				other, err := tpm.ProvisionAK(akHandle+1, kind, true)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := checkQuote(other.Public, q.Attest, q.Signature, h, nonce, vals); !errors.Is(err, tpmhost.ErrQuoteSignature) {
					t.Errorf("foreign key: %v", err)
				}
				if h != crypto.SHA256 {
					t.Errorf("hash %v", h)
				}
			})
		}
	}
}

func newBufLogger(w *bytes.Buffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Debug, Output: w})
}

// TestLocalityDetectionSwtpm: swtpm started at locality 0 is detected as 0
// with the same log that gives 3 at locality 3 (TestQuoteRealLog).
func TestLocalityDetectionSwtpm(t *testing.T) {
	l, err := tpmhost.ReadEventLog(testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog"))
	if err != nil {
		t.Fatal(err)
	}
	tpm, _ := openSwtpm(0)(t)
	if _, err := tpm.ExtendFromLog(l); err != nil {
		t.Fatal(err)
	}
	for _, bank := range []tpmhost.Alg{tpmhost.AlgSHA1, tpmhost.AlgSHA256, tpmhost.AlgSHA384} {
		loc, matched, err := tpm.StartupLocality(l, bank)
		if err != nil || !matched || loc != 0 {
			t.Errorf("%s: locality %d matched %v err %v", bank, loc, matched, err)
		}
		r, _ := l.ReplayLocality(bank, loc)
		actual, err := tpm.ReadPCRs(bank, r.Indices())
		if err != nil {
			t.Fatal(err)
		}
		if mm, q := l.CompareWithQuirks(r, actual, testLogger(t)); len(mm) != 0 || len(q) != 0 {
			t.Errorf("%s: %v %v", bank, mm, q)
		}
		if mm, q, err := tpm.CheckReplay(l, r); err != nil || len(mm) != 0 || len(q) != 0 {
			t.Errorf("CheckReplay %s: %v %v %v", bank, mm, q, err)
		}
		// With the wrong seed, PCR 0 (and only PCR 0) differs, and the
		// mismatch names the last event extended into it.
		r3, _ := l.ReplayLocality(bank, 3)
		mm, _, err := tpm.CheckReplay(l, r3)
		if err != nil || len(mm) != 1 || mm[0].PCR != 0 || mm[0].LastEvent == nil || mm[0].Bank != bank {
			t.Errorf("CheckReplay seed 3 %s: %v %v", bank, mm, err)
		} else if s := mm[0].String(); !strings.Contains(s, "PCR 0 ("+bank.String()+") differs") || !strings.Contains(s, "last event #") {
			t.Errorf("mismatch text %q", s)
		}
	}
}

// TestQuoteSHA384Bank: quoting the sha384 bank with a P-256 AK gives a
// SHA-256 pcrDigest over 48-byte PCR values (TPM 2.0 Part 3 §18.4: the digest follows
// the AK's hash, not the bank).
func TestQuoteSHA384Bank(t *testing.T) {
	l, err := tpmhost.ReadEventLog(testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog"))
	if err != nil {
		t.Fatal(err)
	}
	tpm, loc := openSimulator(t)
	ak, err := tpm.ProvisionAK(akHandle, tpmhost.AKECCP256, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ExtendFromLog(l); err != nil {
		t.Fatal(err)
	}
	r, _ := l.ReplayLocality(tpmhost.AlgSHA384, loc)
	nonce := bytes.Repeat([]byte{9}, 48)
	q, err := tpm.Quote(ak, tpmhost.AlgSHA384, r.Indices(), nonce)
	if err != nil {
		t.Fatal(err)
	}
	var vals [][]byte
	for _, p := range r.Indices() {
		vals = append(vals, r.Value(p))
	}
	a, err := checkQuote(ak.Public, q.Attest, q.Signature, crypto.SHA256, nonce, vals)
	if err != nil {
		t.Fatal(err)
	}
	sel, _ := tpmhost.ParsePCRSelection(a.PCRSelect)
	if len(a.PCRComposite) != 32 || len(sel) != 1 || sel[0].Bank != tpmhost.AlgSHA384 || len(a.PCRSelect) != 10 {
		t.Errorf("digest %d bytes, selection %+v (%x)", len(a.PCRComposite), sel, a.PCRSelect)
	}
}
