package imc

import (
	"errors"
	"testing"

	"github.com/imchost/imchost/abi"
)

// fakeTransport answers every call with a canned result or status; it
// records the encoded inputs. (The real host is exercised through
// sdk/imctest; this checks the SDK's own encoding and error mapping.)
type fakeTransport struct {
	out map[string][]byte
	st  map[string]abi.Status
	in  map[string][]byte
}

func (f *fakeTransport) Call(fn string, in []byte) ([]byte, abi.Status) {
	f.in[fn] = append([]byte(nil), in...)
	if st, ok := f.st[fn]; ok {
		return nil, st
	}
	return f.out[fn], abi.StatusOK
}
func (f *fakeTransport) Log(abi.LogLevel, []byte) abi.Status { return abi.StatusOK }
func (f *fakeTransport) LogLevel() abi.LogLevel              { return abi.LogInfo }

func TestNativeHostEncoding(t *testing.T) {
	f := &fakeTransport{out: map[string][]byte{}, st: map[string]abi.Status{}, in: map[string][]byte{}}
	h := NewHost(f)
	msg := Message{Type: abi.MsgType{Vendor: abi.PENTCG, Subtype: 1}, Validator: 2, Exclusive: true, Body: []byte{1, 0, 0, 0}}
	if err := h.Send(1, msg); err != nil {
		t.Fatal(err)
	}
	got, st := decodeReceive(f.in[abi.FnSend])
	if st != abi.StatusOK || got.Type != msg.Type || got.Validator != 2 || !got.Exclusive || string(got.Body) != string(msg.Body) {
		t.Fatalf("send encoded as %+v", got)
	}
	f.out[abi.FnTPMQuote] = abi.AppendQuote(nil, abi.Quote{Attest: []byte{1}, SigAlg: abi.AlgECDSA})
	q, err := h.TPMQuote(abi.QuoteRequest{Bank: abi.AlgSHA256, PCRs: 1})
	if err != nil || q.SigAlg != abi.AlgECDSA {
		t.Fatalf("%+v %v", q, err)
	}
	f.out[abi.FnTPMBanks] = []byte{1, 2, 3} // malformed result
	if _, err := h.TPMBanks(); !errors.Is(err, &StatusError{Status: abi.StatusInvalid}) {
		t.Fatalf("malformed result: %v", err)
	}
	f.st[abi.FnOSRelease] = abi.StatusNotFound
	_, err = h.OSRelease()
	var se *StatusError
	if !errors.As(err, &se) || se.Fn != abi.FnOSRelease || se.Status != abi.StatusNotFound ||
		err.Error() != "imc: host function os_release failed: not found" {
		t.Fatalf("%v", err)
	}
	if !errors.Is(err, &StatusError{Fn: abi.FnOSRelease, Status: abi.StatusNotFound}) || errors.Is(err, &StatusError{Fn: abi.FnSend, Status: abi.StatusNotFound}) {
		t.Fatal("StatusError.Is")
	}
	if _, ok := h.Config("k"); !ok { // empty result is a value
		t.Fatal("config")
	}
	if _, err := h.Random(abi.MaxRandomLen + 1); !errors.Is(err, &StatusError{Status: abi.StatusTooLarge}) {
		t.Fatal(err)
	}
}

func TestDecodeReceive(t *testing.T) {
	if _, st := decodeReceive([]byte{1, 2}); st != abi.StatusInvalid {
		t.Fatal(st)
	}
	in := append(abi.AppendMessageHeader(nil, abi.MessageHeader{Collector: 1, Validator: 3}), 9)
	m, st := decodeReceive(in)
	in[20] = 7
	if st != abi.StatusOK || m.Body[0] != 9 {
		t.Fatal("the body must be a copy")
	}
}

type panicky struct{ IMC }

func (panicky) BatchEnding(ConnID) error { panic("boom") }

func TestLifecyclePanic(t *testing.T) {
	old := registered
	defer func() { registered = old }()
	registered = nil
	if st := lifecycle("BatchEnding", func(m IMC) error { return m.BatchEnding(1) }); st != int32(abi.StatusModuleFailed) {
		t.Fatal(st)
	}
	Run(panicky{})
	if st := lifecycle("BatchEnding", func(m IMC) error { return m.BatchEnding(1) }); st != int32(abi.StatusModuleFailed) {
		t.Fatal(st)
	}
}
