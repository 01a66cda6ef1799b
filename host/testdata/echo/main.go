// Command echo sends every message it receives straight back (EXCL to the
// sender), with no work in between: the module for measuring the
// host → module → host round trip itself.
package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

type echo struct{ h imc.Host }

func (m *echo) Initialize(h imc.Host, _ uint32) error {
	m.h = h
	// The second type is a wildcard, for the dispatch tests.
	return h.Subscribe(abi.MsgType{Vendor: 32473, Subtype: 1}, abi.MsgType{Vendor: abi.PENTCG, Subtype: abi.SubtypeAny})
}
func (m *echo) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }
func (m *echo) BeginHandshake(imc.ConnID) error                  { return nil }
func (m *echo) Receive(conn imc.ConnID, msg imc.Message) error {
	return m.h.Send(conn, imc.Message{Type: msg.Type, Validator: msg.Validator, Exclusive: true, Body: msg.Body})
}
func (m *echo) BatchEnding(imc.ConnID) error { return nil }
func (m *echo) Terminate() error             { return nil }

func init() { imc.Run(&echo{}) }

func main() {}
