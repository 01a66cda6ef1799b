//go:build !wasip1

package main

import (
	"crypto/x509"
	"errors"
	"testing"

	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/internal/tpmtest"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/tpmhost"
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

// platform is the production capability.Platform on this TPM (capability.NewTPMPlatform)
// with a fixture root for the symlinks.
func (e *tpmEnv) platform(t testing.TB) capability.Platform {
	return capability.NewTPMPlatform(e.tpm, capability.TPMPlatformOptions{Root: fixtureRoot(t), EventLogPath: e.logPath})
}

func testLogger(t testing.TB) hclog.Logger {
	return testutil.Logger(t, "", hclog.Info)
}

// tpmKind names the TPM a test runs on.
type tpmKind = tpmtest.Kind

const (
	useSwtpm     = tpmtest.Swtpm // swtpm started at locality 3, as the recorded test bed
	useSimulator = tpmtest.Simulator
)

func newTPMEnv(t testing.TB, tk tpmKind, kind tpmhost.AKKind, logPath string) *tpmEnv {
	t.Helper()
	return newTPMEnvLog(t, tk, kind, logPath, testLogger(t))
}

// newTPMEnvLog is newTPMEnv with the TPM's logger (fuzz targets must not log
// through the *testing.F).
func newTPMEnvLog(t testing.TB, tk tpmKind, kind tpmhost.AKKind, logPath string, log hclog.Logger) *tpmEnv {
	t.Helper()
	tpm := tpmtest.Open(t, tk, log)
	ak, l := tpmtest.Provision(t, tpm, akHandle, kind, logPath, tk.Locality())
	loc := tk.Locality()
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
