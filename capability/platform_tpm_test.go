package capability

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"math/big"
	"testing"

	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/internal/tpmtest"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tpmhost"
)

// TestTPMPlatform runs the TPM host functions through a Session against
// the in-process TPM simulator, with an ECC AK provisioned there: the
// quote's signature verifies with the key tpm_aik returns.
func TestTPMPlatform(t *testing.T) {
	tpm := tpmtest.Open(t, tpmtest.Simulator, hclog.NewNullLogger())
	const handle = 0x81010003
	if _, err := tpm.ProvisionAK(handle, tpmhost.AKECCP256, true); err != nil {
		t.Fatal(err)
	}
	p := NewTPMPlatform(tpm, TPMPlatformOptions{Root: testutil.Data("root"), EventLogPath: testutil.Data("eventlogs", "crypto_agile_eventlog")})
	s := NewSession(SessionConfig{IMCID: 2, Platform: p, Settings: map[string]string{"aik_handle": "0x81010003"}})
	call := func(fn string, in []byte) []byte {
		t.Helper()
		out, st := s.Call(fn, in)
		if st != abi.StatusOK {
			t.Fatalf("%s: status %d", fn, st)
		}
		return out
	}
	vi, err := abi.ParseTPMVersionInfo(call(abi.FnTPMVersionInfo, nil))
	if err != nil || vi.Family != 2 || vi.SpecYear == 0 {
		t.Fatalf("version info %+v %v", vi, err)
	}
	banks, err := abi.ParseBanks(call(abi.FnTPMBanks, nil))
	if err != nil || len(banks) == 0 {
		t.Fatalf("banks %v %v", banks, err)
	}
	aik, err := abi.ParseAIK(call(abi.FnTPMAIK, abi.AppendUint32(nil, 0)))
	if err != nil || aik.Handle != handle || aik.SigAlg != abi.AlgECDSA || len(aik.KeyID) != 40 {
		t.Fatalf("aik %+v %v", aik, err)
	}
	nonce := []byte("0123456789abcdef0123456789abcdef")
	q, err := abi.ParseQuote(call(abi.FnTPMQuote, abi.AppendQuoteRequest(nil, abi.QuoteRequest{Bank: abi.AlgSHA256, PCRs: 0x3ff, Qualifying: nonce})))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(aik.PublicDER)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(q.Attest)
	r, ss := new(big.Int).SetBytes(q.Signature[:32]), new(big.Int).SetBytes(q.Signature[32:])
	if !ecdsa.Verify(pub.(*ecdsa.PublicKey), digest[:], r, ss) {
		t.Fatal("quote signature does not verify with the tpm_aik key")
	}
	ev, err := abi.ParseEventLog(call(abi.FnEventLog, abi.AppendUint16(nil, abi.AlgSHA256)))
	if err != nil || !ev.SpecIDLog || len(ev.Events) == 0 || ev.Path != testutil.Data("eventlogs", "crypto_agile_eventlog") {
		t.Fatalf("event log: %v %+v", err, ev.Path)
	}
	if _, st := s.Call(abi.FnTPMAIK, abi.AppendUint32(nil, 0x81000999)); st != abi.StatusNotFound {
		t.Fatalf("missing AK: status %d", st)
	}
	// MODP through tpmhost's DH.
	out := call(abi.FnDHCreate, abi.AppendDHCreateRequest(nil, abi.DHCreateRequest{Group: 14}))
	if res, err := abi.ParseDHCreateResult(out); err != nil || len(res.Public) != 256 {
		t.Fatalf("MODP-2048 public: %v %d", err, len(res.Public))
	}
}
