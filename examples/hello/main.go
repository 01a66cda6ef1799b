// Command hello is the example vendor IMC of sdk/README.md: it subscribes to
// its vendor's PA subtype, sends one PA-TNC message with one custom attribute
// when the handshake begins, and answers every message it receives with the
// same attribute, addressed exclusively to the IMV that asked.
//
// Build it with `make wasm` (out/wasm/imc-hello.wasm) and grant it
// ["subscribe", "send", "log", "config_get"] in config.toml.
package main

import (
	"errors"
	"strconv"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/patnc"
)

// PEN 32473 is reserved for documentation (RFC 5612); a vendor uses its own.
const (
	vendorExample uint32 = 32473
	subtypeHello  uint32 = 1
	attrGreeting  uint32 = 1
)

// hello is the IMC. One module instance serves one connection, so the
// fields are that connection's state.
type hello struct {
	h        imc.Host
	id       uint32
	greeting string
	msgID    uint32
}

func (m *hello) Initialize(h imc.Host, id uint32) error {
	m.h, m.id = h, id
	m.greeting = "hello from a wasm IMC"
	if g, ok := h.Config("greeting"); ok {
		m.greeting = g
	}
	if err := h.Subscribe(abi.MsgType{Vendor: vendorExample, Subtype: subtypeHello}); err != nil {
		return err
	}
	h.Log(abi.LogInfo, "IMC "+strconv.Itoa(int(id))+` "Hello" initialized`)
	return nil
}

func (m *hello) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }

func (m *hello) BeginHandshake(conn imc.ConnID) error {
	body, err := m.paMessage()
	if err != nil {
		return err
	}
	return m.h.Send(conn, imc.Message{
		Type:      abi.MsgType{Vendor: vendorExample, Subtype: subtypeHello},
		Validator: abi.IDAny,
		Body:      body,
	})
}

func (m *hello) Receive(conn imc.ConnID, msg imc.Message) error {
	if m.h.LogLevel() >= abi.LogDebug {
		m.h.Log(abi.LogDebug, "received "+strconv.Itoa(len(msg.Body))+" bytes from IMV "+strconv.Itoa(int(msg.Validator)))
	}
	// A malformed request gets a PA-TNC error attribute back, as RFC 5792
	// asks; anything else gets the greeting.
	var body []byte
	_, err := patnc.ParseMessage(msg.Body)
	var perr *patnc.Error
	switch {
	case errors.As(err, &perr):
		m.msgID++
		body, err = (&patnc.Message{ID: m.msgID, Attrs: []patnc.Attr{perr.ErrorAttr()}}).Marshal()
	case err == nil:
		body, err = m.paMessage()
	}
	if err != nil {
		return err
	}
	return m.h.Send(conn, imc.Message{Type: msg.Type, Validator: msg.Validator, Exclusive: true, Body: body})
}

func (m *hello) BatchEnding(imc.ConnID) error { return nil }
func (m *hello) Terminate() error             { return nil }

// paMessage builds a PA-TNC message (RFC 5792 §4.1) holding one attribute
// of the vendor's own type (§4.2: vendor 32473, type 1); sdk/patnc keeps
// attributes it has no Go type for as *patnc.Unknown, which is exactly what
// a vendor-specific attribute is to everyone else.
func (m *hello) paMessage() ([]byte, error) {
	m.msgID++
	return (&patnc.Message{ID: m.msgID, Attrs: []patnc.Attr{
		&patnc.Unknown{T: patnc.Type{Vendor: vendorExample, Type: attrGreeting}, Value: []byte(m.greeting)},
	}}).Marshal()
}

func init() { imc.Run(&hello{}) }

func main() {}
