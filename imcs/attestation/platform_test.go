//go:build !wasip1

package main

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/tpmhost"
)

// akHandle is where the tests provision the AK, as the recorded run had it.
const akHandle = 0x81010003

// tpmPlatform is host.TPM on tpmhost for these tests: the real TPM code on
// a real swtpm. (host will offer NewTPMPlatform for production; this keeps
// the tests independent of its wiring and small.)
type tpmPlatform struct {
	tpm *tpmhost.TPM

	mu       sync.Mutex
	aks      map[uint32]*tpmhost.AK
	locality uint8
}

var _ host.TPM = (*tpmPlatform)(nil)

func (p *tpmPlatform) VersionInfo(context.Context) (abi.TPMVersionInfo, error) {
	v, err := p.tpm.VersionInfo()
	if err != nil {
		return abi.TPMVersionInfo{}, err
	}
	return abi.TPMVersionInfo{
		Family: 2, Manufacturer: v.ManufacturerID, VendorString: v.VendorString,
		FirmwareVersion: v.FirmwareVersion, SpecYear: uint16(v.Year), SpecRevision: uint16(v.Revision),
		SpecLevel: uint8(v.Level), Locality: p.locality,
	}, nil
}

func (p *tpmPlatform) Banks(context.Context) ([]uint16, error) {
	banks, err := p.tpm.AllocatedBanks()
	if err != nil {
		return nil, err
	}
	out := make([]uint16, len(banks))
	for i, b := range banks {
		out[i] = uint16(b)
	}
	return out, nil
}

func (p *tpmPlatform) ak(handle uint32) (*tpmhost.AK, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ak, ok := p.aks[handle]; ok {
		return ak, nil
	}
	ak, err := p.tpm.LoadAK(handle)
	if err != nil {
		return nil, err
	}
	p.aks[handle] = ak
	return ak, nil
}

func (p *tpmPlatform) AIK(_ context.Context, handle uint32) (abi.AIK, error) {
	ak, err := p.ak(handle)
	if err != nil {
		return abi.AIK{}, err
	}
	return abi.AIK{Handle: handle, PublicDER: ak.SPKI, KeyID: ak.KeyID,
		SigAlg: uint16(ak.SigAlg), HashAlg: uint16(ak.HashAlg)}, nil
}

func (p *tpmPlatform) Quote(_ context.Context, req abi.QuoteRequest) (abi.Quote, error) {
	ak, err := p.ak(req.Handle)
	if err != nil {
		return abi.Quote{}, err
	}
	var pcrs []int
	for i := 0; i < 24; i++ {
		if req.PCRs&(1<<i) != 0 {
			pcrs = append(pcrs, i)
		}
	}
	q, err := p.tpm.Quote(ak, tpmhost.Alg(req.Bank), pcrs, req.Qualifying)
	if err != nil {
		return abi.Quote{}, err
	}
	return abi.Quote{Attest: q.Attest, SigAlg: uint16(q.SigAlg), HashAlg: uint16(q.HashAlg), Signature: q.Signature}, nil
}

func (p *tpmPlatform) EventLog(_ context.Context, path string, bank uint16) (abi.EventLog, error) {
	l, err := tpmhost.ReadEventLog(path)
	if err != nil {
		return abi.EventLog{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return abi.EventLog{}, err
	}
	out := abi.EventLog{Path: path, SpecIDLog: l.Format != tpmhost.FormatLegacySHA1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.CTime = st.Ctim.Sec
	}
	for _, ev := range l.Events {
		d, _ := ev.Digest(tpmhost.Alg(bank))
		out.Events = append(out.Events, abi.Event{Seq: uint32(ev.Seq), PCR: ev.PCR, Type: uint32(ev.Type), Digest: d})
	}
	return out, nil
}

// tpmEnv is a swtpm started at locality 3 whose PCRs were extended from an
// event log, with an AK at akHandle.
type tpmEnv struct {
	tpm      *tpmhost.TPM
	ak       *tpmhost.AK
	log      *tpmhost.EventLog
	logPath  string
	locality uint8
	platform *tpmPlatform
}

func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: tWriter{t}, DisableTime: true})
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
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
	spec := tpmhost.SimulatorSpec
	if kind == useSwtpm {
		spec = swtpm.Start(t, swtpm.WithLocality(3)).Spec
	}
	tpm, err := tpmhost.Open(spec, log)
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
	return &tpmEnv{tpm: tpm, ak: ak, log: l, logPath: logPath, locality: loc,
		platform: &tpmPlatform{tpm: tpm, aks: map[uint32]*tpmhost.AK{}, locality: loc}}
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
