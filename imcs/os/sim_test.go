//go:build !wasip1

package main

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
	"github.com/imchost/imchost/tpmhost/tpmsim"
)

// simTPM is a capability.TPM on tpmhost with the in-process TPM simulator: only
// tpm_aik, which is all the OS IMC uses.
type simTPM struct {
	recordedTPM
	tpm *tpmhost.TPM
}

var simMu sync.Mutex // one simulator per process

// newSimTPM opens the simulator and provisions an ECC AK at handle.
func newSimTPM(t testing.TB, handle uint32) (*simTPM, *tpmhost.AK) {
	t.Helper()
	simMu.Lock()
	tpm, err := tpmsim.Open(nil)
	if err != nil {
		simMu.Unlock()
		t.Skipf("TPM simulator: %v", err)
	}
	t.Cleanup(func() { tpm.Close(); simMu.Unlock() })
	ak, err := tpm.ProvisionAK(handle, tpmhost.AKECCP256, true)
	if err != nil {
		t.Fatalf("provision AK: %v", err)
	}
	return &simTPM{tpm: tpm}, ak
}

func (s *simTPM) AIK(_ context.Context, h uint32) (abi.AIK, error) {
	ak, err := s.tpm.LoadAK(h)
	if err != nil {
		return abi.AIK{}, capability.ErrNotFound
	}
	return abi.AIK{Handle: ak.Handle, PublicDER: ak.SPKI, KeyID: ak.KeyID,
		SigAlg: abi.AlgECDSA, HashAlg: abi.AlgSHA256}, nil
}

// TestDeviceIDFromSimulatorAK: device_handle names an AK in the TPM
// simulator; the Device ID is its keyid, SHA-1 of the DER public key.
func TestDeviceIDFromSimulatorAK(t *testing.T) {
	tpm, ak := newSimTPM(t, akHandle)
	e := env{m: recordedMachine(t), settings: map[string]string{settingDeviceHandle: "0x81010003"}, tpm: tpm}
	h, _, logs := e.start(t)
	sent := h.Start()
	if len(sent) != 1 {
		t.Fatalf("sent %d messages", len(sent))
	}
	attrs := parse(t, sent[0].Body).Attrs
	want := &patnc.ITADeviceID{ID: keyID(ak.SPKI)}
	if got := attrs[len(attrs)-1]; !reflect.DeepEqual(got, want) {
		t.Fatalf("device ID %s, want %s", dump([]patnc.Attr{got}), dump([]patnc.Attr{want}))
	}
	logs.has(t, "device ID is "+want.ID)
}
