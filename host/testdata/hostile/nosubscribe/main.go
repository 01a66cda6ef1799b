// Command nosubscribe never subscribes to a message type.
package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

type nosub struct{}

func (nosub) Initialize(imc.Host, uint32) error                { return nil }
func (nosub) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }
func (nosub) BeginHandshake(imc.ConnID) error                  { return nil }
func (nosub) Receive(imc.ConnID, imc.Message) error            { return nil }
func (nosub) BatchEnding(imc.ConnID) error                     { return nil }
func (nosub) Terminate() error                                 { return nil }

func init() { imc.Run(nosub{}) }

func main() {}
