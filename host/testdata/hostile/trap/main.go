// Command trap crashes its runtime in Receive (an unrecovered panic on
// another goroutine, which the SDK cannot turn into a status).
package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

type trap struct{}

func (m *trap) Initialize(h imc.Host, _ uint32) error {
	return h.Subscribe(abi.MsgType{Vendor: 32473, Subtype: 1})
}
func (m *trap) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }
func (m *trap) BeginHandshake(imc.ConnID) error                  { return nil }
func (m *trap) Receive(imc.ConnID, imc.Message) error {
	done := make(chan struct{})
	go func() { panic("hostile: boom") }()
	<-done
	return nil
}
func (m *trap) BatchEnding(imc.ConnID) error { return nil }
func (m *trap) Terminate() error             { return nil }

func init() { imc.Run(&trap{}) }

func main() {}
