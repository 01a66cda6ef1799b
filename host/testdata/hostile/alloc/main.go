// Command alloc allocates without bound in Receive: the memory cap must stop it.
package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

type alloc struct{ keep [][]byte }

func (m *alloc) Initialize(h imc.Host, _ uint32) error {
	return h.Subscribe(abi.MsgType{Vendor: 32473, Subtype: 1})
}
func (m *alloc) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }
func (m *alloc) BeginHandshake(imc.ConnID) error                  { return nil }
func (m *alloc) Receive(imc.ConnID, imc.Message) error {
	for {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		m.keep = append(m.keep, b)
	}
}
func (m *alloc) BatchEnding(imc.ConnID) error { return nil }
func (m *alloc) Terminate() error             { return nil }

func init() { imc.Run(&alloc{}) }

func main() {}
