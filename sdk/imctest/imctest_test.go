package imctest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

var echoType = abi.MsgType{Vendor: 32473, Subtype: 1}

// echo answers every message with its body, reports once, and reads
// os-release and a setting, so the harness's Host paths are exercised.
type echo struct {
	h   imc.Host
	osr []byte
}

func (e *echo) Initialize(h imc.Host, id uint32) error {
	e.h = h
	var err error
	if e.osr, err = h.OSRelease(); err != nil {
		return err
	}
	return h.Subscribe(echoType)
}
func (e *echo) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }
func (e *echo) BeginHandshake(conn imc.ConnID) error {
	g, _ := e.h.Config("greeting")
	return e.h.Send(conn, imc.Message{Type: echoType, Validator: abi.IDAny, Body: paText(g + string(e.osr))})
}
func (e *echo) Receive(conn imc.ConnID, m imc.Message) error {
	if err := e.h.Report(abi.Report{Validator: m.Validator, Result: 0}); err != nil {
		return err
	}
	return e.h.Send(conn, imc.Message{Type: m.Type, Validator: m.Validator, Exclusive: true, Body: m.Body})
}
func (e *echo) BatchEnding(imc.ConnID) error { return nil }
func (e *echo) Terminate() error             { return nil }

func TestNative(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=test\n"), 0o644)
	h := New(t, &echo{}, Options{ID: 2, Root: root, Settings: map[string]string{"greeting": "hi "}})
	if got := h.Subscriptions(); len(got) != 1 || got[0] != echoType {
		t.Fatalf("subscriptions %v", got)
	}
	first := h.Start()
	if len(first) != 1 || string(first[0].Body) != string(paText("hi ID=test\n")) || first[0].Collector != 2 {
		t.Fatalf("first: %+v", first)
	}
	// An IETF Assessment Result (compliant) from IMV 3, which the IMC
	// echoes and reports.
	assessed := []byte{1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 16, 0, 0, 0, 0}
	reply := h.Batch(imc.Message{Type: echoType, Collector: abi.IDAny, Validator: 3, Body: assessed},
		imc.Message{Type: abi.MsgType{Vendor: 0, Subtype: 1}, Validator: 3, Body: []byte("not subscribed")})
	if len(reply) != 1 || !reply[0].Exclusive || reply[0].Validator != 3 || string(reply[0].Body) != string(assessed) {
		t.Fatalf("reply: %+v", reply)
	}
	if r := h.Reports(); len(r) != 1 || r[0].Validator != 3 {
		t.Fatalf("reports: %+v", r)
	}
}

// paText is a PA-TNC message (RFC 5792) of one vendor attribute holding
// text: the host sends only well-formed PA-TNC messages.
func paText(text string) []byte {
	n := 12 + len(text)
	b := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7e, 0xd9, 0, 0, 0, 1, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	return append(b, text...)
}
