package tpmhost_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/tpmhost"
)

func TestOpenErrors(t *testing.T) {
	_, err := tpmhost.Open("/dev/does-not-exist-tpm", nil)
	if !errors.Is(err, tpmhost.ErrNoDevice) || !strings.Contains(err.Error(), "tpm_tis") {
		t.Errorf("missing device: %v", err)
	}
	reg := filepath.Join(t.TempDir(), "tpm0")
	os.WriteFile(reg, nil, 0o600)
	if _, err := tpmhost.Open(reg, nil); !errors.Is(err, tpmhost.ErrNoDevice) {
		t.Errorf("regular file: %v", err)
	}
	if _, err := tpmhost.Open("tcp:127.0.0.1:1", nil); !errors.Is(err, tpmhost.ErrNoDevice) || !strings.Contains(err.Error(), "swtpm") {
		t.Errorf("closed port: %v", err)
	}
	if _, err := tpmhost.Open("mssim:x", nil); err == nil {
		t.Error("unknown spec accepted")
	}
	// Permission denied needs a device we may not open: only as non-root.
	if os.Geteuid() != 0 {
		for _, dev := range []string{"/dev/tpmrm0", "/dev/tpm0"} {
			if _, err := os.Stat(dev); err == nil {
				if _, err := tpmhost.Open(dev, nil); err != nil && errors.Is(err, tpmhost.ErrPermission) &&
					!strings.Contains(err.Error(), "tss group") {
					t.Errorf("permission error without the tss hint: %v", err)
				}
			}
		}
	}
}

func TestTPMErrors(t *testing.T) {
	inst := swtpm.Start(t)
	tpm, err := tpmhost.Open(inst.Spec, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()

	_, err = tpm.LoadAK(0x81000123)
	var te *tpmhost.TPMError
	if !errors.Is(err, tpmhost.ErrUnknownHandle) || !errors.As(err, &te) || te.Code == 0 || !strings.Contains(err.Error(), "provision") {
		t.Errorf("unknown handle: %v", err)
	}
	if !errors.Is(err, tpm2.TPMRCHandle) {
		t.Errorf("go-tpm's TPMRC is lost: %v", err)
	}

	// A storage key is not an AK.
	srk, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(tpm.Transport())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (tpm2.EvictControl{Auth: tpm2.TPMRHOwner, ObjectHandle: tpm2.NamedHandle{Handle: srk.ObjectHandle, Name: srk.Name},
		PersistentHandle: 0x81000001}).Execute(tpm.Transport()); err != nil {
		t.Fatal(err)
	}
	if _, err := (tpm2.FlushContext{FlushHandle: srk.ObjectHandle}).Execute(tpm.Transport()); err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.LoadAK(0x81000001); !errors.Is(err, tpmhost.ErrWrongKeyType) {
		t.Errorf("storage key as AK: %v", err)
	}

	if _, err := tpm.ProvisionAK(akHandle, tpmhost.AKECCP256, false); err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ProvisionAK(akHandle, tpmhost.AKECCP256, false); !errors.Is(err, tpmhost.ErrHandleInUse) {
		t.Errorf("occupied handle: %v", err)
	}
	if _, err := tpm.ProvisionAK(0x01000000, tpmhost.AKECCP256, false); err == nil {
		t.Error("non-persistent handle accepted")
	}
	ak, err := tpm.LoadAK(akHandle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.Quote(ak, tpmhost.AlgSHA256, nil, nil); err == nil {
		t.Error("quote of no PCRs accepted")
	}
	// ExtendPCR changes exactly that PCR.
	before, _ := tpm.ReadPCRs(tpmhost.AlgSHA256, []int{16, 17})
	d := sha256.Sum256([]byte("x"))
	if err := tpm.ExtendPCR(tpmhost.AlgSHA256, 16, d[:]); err != nil {
		t.Fatal(err)
	}
	after, _ := tpm.ReadPCRs(tpmhost.AlgSHA256, []int{16, 17})
	want := sha256.Sum256(append(bytes.Clone(before[16]), d[:]...))
	if !bytes.Equal(after[16], want[:]) || !bytes.Equal(after[17], before[17]) {
		t.Errorf("ExtendPCR: %x", after[16])
	}
	if err := tpm.ExtendPCR(tpmhost.AlgSHA256, 16, d[:5]); err == nil {
		t.Error("short digest accepted")
	}

	// AK certificate: a CA-signed certificate of the AK's key attaches
	// (PEM and DER); one of another key does not.
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ak"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ak.Public, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := ak.AttachCertificate(der); err != nil || ak.Cert == nil {
		t.Errorf("DER cert: %v", err)
	}
	path := filepath.Join(t.TempDir(), "ak.pem")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	if err := ak.LoadCertificateFile(path); err != nil {
		t.Errorf("PEM cert: %v", err)
	}
	otherDER, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err := ak.AttachCertificate(otherDER); err == nil || !strings.Contains(err.Error(), "different key") {
		t.Errorf("foreign cert: %v", err)
	}
}

func TestNotStarted(t *testing.T) {
	inst := swtpm.Start(t, swtpm.WithoutStartup())
	tpm, err := tpmhost.Open(inst.Spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	if _, err := tpm.VersionInfo(); !errors.Is(err, tpmhost.ErrNotStarted) || !strings.Contains(err.Error(), "startup") {
		t.Errorf("un-started TPM: %v", err)
	}
}

// TestSwtpmGone: a TPM that disappears gives a transport error, not a hang.
func TestSwtpmGone(t *testing.T) {
	inst := swtpm.Start(t)
	tpm, err := tpmhost.Open(inst.Spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	if _, err := tpm.VersionInfo(); err != nil {
		t.Fatal(err)
	}
	inst.Stop()
	if _, err := tpm.VersionInfo(); !errors.Is(err, tpmhost.ErrTransport) {
		t.Errorf("after swtpm stopped: %v", err)
	}
}

// TestSwtpmFrozen: a swtpm that stops answering (SIGSTOP by its PID) ends a
// command at its context's deadline with ErrTransport; the TPM is then
// counted dead (the next command fails at once, naming the first failure),
// and Close interrupts a command that waits without a deadline.
func TestSwtpmFrozen(t *testing.T) {
	inst := swtpm.Start(t)
	tpm, err := tpmhost.Open(inst.Spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	if err := syscall.Kill(inst.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(inst.PID, syscall.SIGCONT) })

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = tpm.WithContext(ctx).VersionInfo()
	if !errors.Is(err, tpmhost.ErrTransport) || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("frozen TPM: %v", err)
	}
	_, err = tpm.LoadAK(0x81010003) // no deadline: the TPM is known dead
	if !errors.Is(err, tpmhost.ErrTransport) || errors.Is(err, tpmhost.ErrUnknownHandle) ||
		!strings.Contains(err.Error(), "not answering since") {
		t.Fatalf("dead TPM: %v", err)
	}

	// A second connection to the frozen swtpm, its command without a
	// deadline of its own: Close ends it.
	tpm2, err := tpmhost.Open(inst.Spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := tpm2.VersionInfo()
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	tpm2.Close()
	select {
	case err := <-done:
		if !errors.Is(err, tpmhost.ErrTransport) {
			t.Errorf("after Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not end the command in flight")
	}
}

// TestSwtpmKilledLoadAK: the AK of a killed swtpm is not "unknown": the
// error is the TPM's transport.
func TestSwtpmKilledLoadAK(t *testing.T) {
	inst := swtpm.Start(t)
	tpm, err := tpmhost.Open(inst.Spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	if err := syscall.Kill(inst.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	inst.Stop()
	_, err = tpm.LoadAK(0x81010003)
	if !errors.Is(err, tpmhost.ErrTransport) || errors.Is(err, tpmhost.ErrUnknownHandle) {
		t.Fatalf("killed TPM: %v", err)
	}
}
