package tpmhost

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
)

// retryInjector answers the first n commands with a warning code instead of
// passing them on to the real TPM underneath.
type retryInjector struct {
	tpm  transport.TPM
	n    int
	code uint32
	seen int
}

func (r *retryInjector) Send(cmd []byte) ([]byte, error) {
	r.seen++
	if r.n > 0 {
		r.n--
		rsp := make([]byte, 10)
		binary.BigEndian.PutUint16(rsp, 0x8001)
		binary.BigEndian.PutUint32(rsp[2:], 10)
		binary.BigEndian.PutUint32(rsp[6:], r.code)
		return rsp, nil
	}
	return r.tpm.Send(cmd)
}

func TestRetry(t *testing.T) {
	sim := simTPM(t)
	for _, code := range []uint32{0x922, 0x908, 0x90A} {
		inj := &retryInjector{tpm: sim.d.tr, n: 3, code: code}
		tpm := New(inj, nil)
		tpm.d.retryDelay = time.Microsecond
		if _, err := tpm.VersionInfo(); err != nil {
			t.Fatalf("0x%x three times: %v", code, err)
		}
		inj = &retryInjector{tpm: sim.d.tr, n: 100, code: code}
		tpm = New(inj, nil)
		tpm.d.retryDelay = time.Microsecond
		_, err := tpm.VersionInfo()
		if !errors.Is(err, ErrBusy) || inj.seen != maxRetries+1 {
			t.Fatalf("0x%x forever: %v after %d sends", code, err, inj.seen)
		}
	}
	inj := &retryInjector{tpm: sim.d.tr, n: 1, code: 0x921} // TPM_RC_LOCKOUT is not retried
	if _, err := New(inj, nil).VersionInfo(); !errors.Is(err, ErrLockout) || inj.seen != 1 {
		t.Fatalf("lockout: %v", err)
	}
}
