package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
	"github.com/imchost/imchost/sdk/imc"
)

// msgTypePTS is the PA message type the IMC subscribes to: TCG / PTS. The
// ITA-HSR Get Symlinks request arrives inside these messages.
var msgTypePTS = abi.MsgType{Vendor: abi.PENTCG, Subtype: abi.SubtypePTS}

// attestation is the TCG PTS Attestation IMC. It answers the Attestation
// IMV's requests, from the capabilities to the signed quote over the boot
// measurements; the TPM, the event log, hashing and D-H live in the host.
type attestation struct {
	h     imc.Host
	id    uint32
	cfg   settings
	log   logger
	conns map[imc.ConnID]*conn
}

// conn is the state of one TNC connection.
type conn struct {
	pts  *session
	out  *outbox
	seen bool // a message arrived: the IMV knows us
}

// newAttestation returns the IMC, ready for Initialize.
func newAttestation() *attestation {
	return &attestation{conns: map[imc.ConnID]*conn{}}
}

var _ imc.IMC = (*attestation)(nil)

// Initialize implements imc.IMC: read the settings and subscribe to PTS.
func (a *attestation) Initialize(h imc.Host, id uint32) error {
	a.h, a.id, a.log = h, id, logger{out: h}
	cfg, err := loadSettings(h)
	if err != nil {
		a.log.err("%v", err)
		return err
	}
	a.cfg = cfg
	a.log.debug("IMC %d \"Attestation\" initialized: hash_algorithm set 0x%04x, nonce_len %d, D-H groups 0x%04x, max_message_size %d",
		id, cfg.measSet, cfg.nonceLen, cfg.dhSet(), cfg.maxMessageSize)
	if err := h.Subscribe(msgTypePTS); err != nil {
		return fmtlite.Errorf("attestation: subscribing to TCG/PTS: %w", err)
	}
	return nil
}

// connection returns the state of c, creating it on first use.
func (a *attestation) connection(c imc.ConnID) *conn {
	st, ok := a.conns[c]
	if !ok {
		st = &conn{pts: newSession(a.h, a.cfg, a.log), out: newOutbox(a.h, a.cfg, a.log, c, a.id)}
		a.conns[c] = st
	}
	return st
}

// ConnectionChange implements imc.IMC: state lives from CREATE to DELETE.
func (a *attestation) ConnectionChange(c imc.ConnID, state abi.ConnState) error {
	switch state {
	case abi.ConnCreate:
		delete(a.conns, c)
		a.connection(c)
	case abi.ConnDelete:
		delete(a.conns, c)
	case abi.ConnHandshake:
		// A new handshake on a known connection (retry): start over.
		if st, ok := a.conns[c]; ok && st.seen {
			delete(a.conns, c)
			a.connection(c)
		}
	}
	return nil
}

// BeginHandshake implements imc.IMC; the Attestation IMC waits for the IMV.
func (a *attestation) BeginHandshake(imc.ConnID) error { return nil }

// Receive implements imc.IMC: one PA-TNC message of the Attestation IMV.
func (a *attestation) Receive(c imc.ConnID, msg imc.Message) error {
	if msg.Type != msgTypePTS {
		return nil
	}
	st := a.connection(c)
	st.seen = true
	return a.receive(st, msg)
}

// BatchEnding implements imc.IMC.
func (a *attestation) BatchEnding(imc.ConnID) error { return nil }

// Terminate implements imc.IMC.
func (a *attestation) Terminate() error {
	a.conns = map[imc.ConnID]*conn{}
	return nil
}
