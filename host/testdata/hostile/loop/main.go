// Command loop spins forever in Receive: the call deadline must stop it.
package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

type loop struct{ n int }

func (m *loop) Initialize(h imc.Host, _ uint32) error {
	return h.Subscribe(abi.MsgType{Vendor: 32473, Subtype: 1})
}
func (m *loop) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }
func (m *loop) BeginHandshake(imc.ConnID) error                  { return nil }
func (m *loop) Receive(imc.ConnID, imc.Message) error {
	for {
		m.n++
	}
}
func (m *loop) BatchEnding(imc.ConnID) error { return nil }
func (m *loop) Terminate() error             { return nil }

func init() { imc.Run(&loop{}) }

func main() {}
