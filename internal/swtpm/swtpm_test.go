package swtpm

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// pcrRead0 sends TPM2_PCR_Read(sha256, PCR 0) and returns the value.
func pcrRead0(t *testing.T, i *Instance) []byte {
	t.Helper()
	cmd := []byte{
		0x80, 0x01, 0, 0, 0, 20, 0, 0, 0x01, 0x7e, // header: no sessions, size 20, TPM_CC_PCR_Read
		0, 0, 0, 1, 0, 0x0b, 3, 1, 0, 0, // TPML_PCR_SELECTION: 1 × sha256, PCR 0
	}
	rsp, err := i.Raw(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if rc := binary.BigEndian.Uint32(rsp[6:10]); rc != 0 {
		t.Fatalf("TPM2_PCR_Read: rc 0x%x", rc)
	}
	// header 10 | updateCounter 4 | selection 10 | digest count 4 | size 2 | value
	if len(rsp) != 10+4+10+4+2+32 {
		t.Fatalf("response %x", rsp)
	}
	return rsp[len(rsp)-32:]
}

func TestStartLocality(t *testing.T) {
	for _, loc := range []uint8{0, 3} {
		i := Start(t, WithLocality(loc))
		want := make([]byte, 32)
		want[31] = loc
		if got := pcrRead0(t, i); !bytes.Equal(got, want) {
			t.Errorf("locality %d: PCR 0 = %x", loc, got)
		}
		if i.Spec != "tcp:"+i.Addr || i.PID == 0 {
			t.Errorf("instance %+v", i)
		}
	}
}

func TestWithoutStartup(t *testing.T) {
	i := Start(t, WithoutStartup())
	rsp, err := i.Raw([]byte{0x80, 0x01, 0, 0, 0, 20, 0, 0, 0x01, 0x7e, 0, 0, 0, 1, 0, 0x0b, 3, 1, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if rc := binary.BigEndian.Uint32(rsp[6:10]); rc != 0x100 { // TPM_RC_INITIALIZE
		t.Errorf("un-started TPM answered rc 0x%x", rc)
	}
}

func TestStop(t *testing.T) {
	i := Start(t)
	i.Stop()
	select {
	case <-i.done:
	default:
		t.Fatal("process still running after Stop")
	}
	if _, err := i.Raw([]byte{0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0}); err == nil {
		t.Error("stopped swtpm still answers")
	}
}
