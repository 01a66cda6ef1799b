// Package tpmtest prepares TPMs for tests the way an attested machine's TPM
// is: a fresh swtpm (started at locality 3, as strongSwan's test bed) or the
// in-process simulator, an Attestation Key, and PCRs extended from a real
// boot event log.
package tpmtest

import (
	"errors"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/tpmhost"
	"github.com/imchost/imchost/tpmhost/tpmsim"
)

// Kind names the TPM a test runs on.
type Kind string

// The kinds of TPM a test can open.
const (
	Swtpm     Kind = "swtpm"     // swtpm started at locality 3
	Simulator Kind = "simulator" // the in-process simulator, locality 0
)

// Locality is the locality the kind of TPM starts at.
func (k Kind) Locality() uint8 {
	if k == Simulator {
		return 0
	}
	return 3
}

// Open opens a fresh TPM of the kind, closed when the test ends. A kind
// this build cannot run (the simulator without cgo) skips the test.
func Open(t testing.TB, kind Kind, log hclog.Logger) *tpmhost.TPM {
	t.Helper()
	var (
		tpm *tpmhost.TPM
		err error
	)
	if kind == Simulator {
		tpm, err = tpmsim.Open(log)
	} else {
		tpm, err = tpmhost.Open(swtpm.Start(t, swtpm.WithLocality(3)).Spec, log)
	}
	if errors.Is(err, tpmhost.ErrNotSupported) {
		t.Skipf("%s: %v", kind, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tpm.Close() })
	return tpm
}

// Provision makes an AK of the kind at handle and extends the PCRs from the
// boot log at logPath (see Extend). It returns the AK and the log.
func Provision(t testing.TB, tpm *tpmhost.TPM, handle uint32, kind tpmhost.AKKind, logPath string, wantLocality uint8) (*tpmhost.AK, *tpmhost.EventLog) {
	t.Helper()
	ak, err := tpm.ProvisionAK(handle, kind, false)
	if err != nil {
		t.Fatal(err)
	}
	return ak, Extend(t, tpm, logPath, wantLocality)
}

// Extend extends the PCRs from the boot log at logPath, then checks that the
// log's SHA-256 replay matches the TPM with PCR 0 seeded from wantLocality
// (the StartupLocality of the TCG PC Client Platform Firmware Profile).
func Extend(t testing.TB, tpm *tpmhost.TPM, logPath string, wantLocality uint8) *tpmhost.EventLog {
	t.Helper()
	l, err := tpmhost.ReadEventLog(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ExtendFromLog(l); err != nil {
		t.Fatal(err)
	}
	loc, matched, err := tpm.StartupLocality(l, tpmhost.AlgSHA256)
	if err != nil || !matched || loc != wantLocality {
		t.Fatalf("startup locality %d (want %d), replay matched %v: %v", loc, wantLocality, matched, err)
	}
	return l
}
