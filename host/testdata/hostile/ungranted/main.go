// Command ungranted calls tpm_quote, which its test config does not grant.
package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

type ungranted struct{ h imc.Host }

func (m *ungranted) Initialize(h imc.Host, _ uint32) error {
	m.h = h
	return h.Subscribe(abi.MsgType{Vendor: 32473, Subtype: 1})
}
func (m *ungranted) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }
func (m *ungranted) BeginHandshake(imc.ConnID) error                  { return nil }
func (m *ungranted) Receive(imc.ConnID, imc.Message) error {
	_, err := m.h.TPMQuote(abi.QuoteRequest{Bank: abi.AlgSHA256, PCRs: 1})
	return err
}
func (m *ungranted) BatchEnding(imc.ConnID) error { return nil }
func (m *ungranted) Terminate() error             { return nil }

func init() { imc.Run(&ungranted{}) }

func main() {}
