//go:build !wasip1

package main

import (
	"crypto/x509"
	"errors"
	"github.com/imchost/imchost/internal/testutil"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/tpmhost"
	"github.com/imchost/imchost/tpmhost/tpmsim"
)

// akHandle is where the tests provision the AK, as the recorded run had it.
const akHandle = 0x81010003

// tpmEnv is a swtpm started at locality 3 whose PCRs were extended from an
// event log, with an AK at akHandle.
type tpmEnv struct {
	tpm      *tpmhost.TPM
	ak       *tpmhost.AK
	log      *tpmhost.EventLog
	logPath  string
	locality uint8
}

// platform is the production host.Platform on this TPM (host.NewTPMPlatform)
// with a fixture root for the symlinks.
func (e *tpmEnv) platform(t testing.TB) host.Platform {
	return host.NewTPMPlatform(e.tpm, host.TPMPlatformOptions{Root: fixtureRoot(t), EventLogPath: e.logPath})
}

func testLogger(t testing.TB) hclog.Logger {
	return testutil.Logger(t, "", hclog.Info)
}

// tpmKind names the TPM a test runs on.
type tpmKind string

const (
	useSwtpm     tpmKind = "swtpm" // swtpm started at locality 3, as the recorded test bed
	useSimulator tpmKind = "simulator"
)

// openTPM opens a fresh TPM of the kind.
func openTPM(t testing.TB, kind tpmKind, log hclog.Logger) *tpmhost.TPM {
	t.Helper()
	var (
		tpm *tpmhost.TPM
		err error
	)
	if kind == useSwtpm {
		tpm, err = tpmhost.Open(swtpm.Start(t, swtpm.WithLocality(3)).Spec, log)
	} else {
		tpm, err = tpmsim.Open(log)
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

func newTPMEnv(t testing.TB, tk tpmKind, kind tpmhost.AKKind, logPath string) *tpmEnv {
	t.Helper()
	return newTPMEnvLog(t, tk, kind, logPath, testLogger(t))
}

// newTPMEnvLog is newTPMEnv with the TPM's logger (fuzz targets must not log
// through the *testing.F).
func newTPMEnvLog(t testing.TB, tk tpmKind, kind tpmhost.AKKind, logPath string, log hclog.Logger) *tpmEnv {
	t.Helper()
	tpm := openTPM(t, tk, log)
	ak, err := tpm.ProvisionAK(akHandle, kind, false)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tpmhost.ReadEventLog(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ExtendFromLog(l); err != nil {
		t.Fatal(err)
	}
	loc, matched, err := tpm.StartupLocality(l, tpmhost.AlgSHA256)
	if err != nil || !matched {
		t.Fatalf("startup locality: %d %v %v", loc, matched, err)
	}
	if want := map[tpmKind]uint8{useSwtpm: 3, useSimulator: 0}[tk]; loc != want {
		t.Fatalf("%s started at locality %d, want %d", tk, loc, want)
	}
	return &tpmEnv{tpm: tpm, ak: ak, log: l, logPath: logPath, locality: loc}
}

// checkSPKI makes sure the AK DER is what x509 produces for the key.
func checkSPKI(ak *tpmhost.AK, der []byte) error {
	want, err := x509.MarshalPKIXPublicKey(ak.Public)
	if err != nil {
		return err
	}
	if string(want) != string(der) {
		return errors.New("AIK DER differs from the AK's SubjectPublicKeyInfo")
	}
	return nil
}
