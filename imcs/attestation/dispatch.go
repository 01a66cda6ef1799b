package main

import (
	"github.com/imchost/imchost/sdk/imc"
)

// outbox collects the reply attributes of one received message and sends
// them under the segmentation contract (wired to sdk/patnc next).
type outbox struct{}

func newOutbox(imc.Host, settings, logger, imc.ConnID) *outbox { return &outbox{} }

// receive processes one PA-TNC message (wired to sdk/patnc next).
func (a *attestation) receive(st *conn, msg imc.Message) error { return nil }
