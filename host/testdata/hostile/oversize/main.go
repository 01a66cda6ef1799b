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
	return m.h.Send(conn, imc.Message{Type: typ, Validator: abi.IDAny, Body: []byte(msg)})
}
func (m *oversize) Receive(imc.ConnID, imc.Message) error { return nil }
func (m *oversize) BatchEnding(imc.ConnID) error          { return nil }
func (m *oversize) Terminate() error                      { return nil }

func init() { imc.Run(&oversize{}) }

func main() {}
