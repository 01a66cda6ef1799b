// Command trapimc is a vendor IMC that crashes its runtime: it subscribes to
// IETF/Operating System, so that it receives what the PDP's OS IMV sends,
// and panics on another goroutine (which the SDK cannot turn into a status,
// so the wasm module traps) in the lifecycle call its "trap_in" setting
// names: "begin_handshake", "receive" (the default) or "batch_ending". It
// never sends anything, so the exchange on the wire is that of the other
// IMCs. The end-to-end tests load it next to the OS and Attestation IMCs.
package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

type trap struct {
	at string
}

func (m *trap) Initialize(h imc.Host, _ uint32) error {
	m.at = "receive"
	if v, ok := h.Config("trap_in"); ok {
		m.at = v
	}
	return h.Subscribe(abi.MsgType{Vendor: 0, Subtype: 1})
}

// crash ends the module's runtime with an unrecovered panic.
func (m *trap) crash(where string) {
	if m.at != where {
		return
	}
	done := make(chan struct{})
	go func() { panic("trapimc: crash in " + where) }()
	<-done
}

func (m *trap) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }

func (m *trap) BeginHandshake(imc.ConnID) error {
	m.crash("begin_handshake")
	return nil
}

func (m *trap) Receive(imc.ConnID, imc.Message) error {
	m.crash("receive")
	return nil
}

func (m *trap) BatchEnding(imc.ConnID) error {
	m.crash("batch_ending")
	return nil
}

func (m *trap) Terminate() error { return nil }

func init() { imc.Run(&trap{}) }

func main() {}
