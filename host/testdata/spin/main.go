// Command spin does a fixed amount of work for every message it receives —
// the setting "rounds" times SHA-256 over 4 KiB — and then sends the message
// back (EXCL to the sender), as echo does: a healthy module whose calls need a known amount of CPU, for
// the tests of the call deadline on a busy machine.
package main

import (
	"crypto/sha256"
	"strconv"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

type spin struct {
	h      imc.Host
	rounds int
}

func (m *spin) Initialize(h imc.Host, _ uint32) error {
	m.h = h
	if v, ok := h.Config("rounds"); ok {
		m.rounds, _ = strconv.Atoi(v)
	}
	return h.Subscribe(abi.MsgType{Vendor: 32473, Subtype: 1})
}
func (m *spin) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }
func (m *spin) BeginHandshake(imc.ConnID) error                  { return nil }
func (m *spin) Receive(conn imc.ConnID, msg imc.Message) error {
	var buf [4096]byte
	d := sha256.Sum256(msg.Body)
	for i := 0; i < m.rounds; i++ {
		copy(buf[:], d[:])
		d = sha256.Sum256(buf[:])
	}
	if d == [32]byte{} { // never: keeps the work from being optimized away
		return nil
	}
	return m.h.Send(conn, imc.Message{Type: msg.Type, Validator: msg.Validator, Exclusive: true, Body: msg.Body})
}
func (m *spin) BatchEnding(imc.ConnID) error { return nil }
func (m *spin) Terminate() error             { return nil }

func init() { imc.Run(&spin{}) }

func main() {}
