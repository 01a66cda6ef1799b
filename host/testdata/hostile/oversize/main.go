// Command oversize tries to send a PA message larger than the ABI allows,
// then reports the error it got in a small message.
package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

type oversize struct{ h imc.Host }

var typ = abi.MsgType{Vendor: 32473, Subtype: 1}

func (m *oversize) Initialize(h imc.Host, _ uint32) error {
	m.h = h
	return h.Subscribe(typ)
}
func (m *oversize) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }
func (m *oversize) BeginHandshake(conn imc.ConnID) error {
	err := m.h.Send(conn, imc.Message{Type: typ, Validator: abi.IDAny, Body: make([]byte, abi.MaxMessageLen+1)})
	msg := "sent"
	if err != nil {
		msg = err.Error()
	}
	return m.h.Send(conn, imc.Message{Type: typ, Validator: abi.IDAny, Body: pa(msg)})
}

// pa wraps text in a PA-TNC message (RFC 5792: version 1, message ID 0)
// of one attribute (vendor 32473, type 1): the host sends only well-formed
// PA-TNC messages.
func pa(text string) []byte {
	n := 12 + len(text)
	b := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7e, 0xd9, 0, 0, 0, 1, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	return append(b, text...)
}

func (m *oversize) Receive(imc.ConnID, imc.Message) error { return nil }
func (m *oversize) BatchEnding(imc.ConnID) error          { return nil }
func (m *oversize) Terminate() error                      { return nil }

func init() { imc.Run(&oversize{}) }

func main() {}
