package pb

import "golang.org/x/crypto/cryptobyte"

// MsgUnknown is a message of a type this package does not know, received
// without NOSKIP (with NOSKIP it is a fatal error). It is kept so that a
// batch re-encodes faithfully; the state machine skips it.
type MsgUnknown struct {
	MsgType
	Value []byte
}

// Type implements Message.
func (m *MsgUnknown) Type() MsgType { return m.MsgType }

// NoSkip implements Message: always false, see MsgUnknown.
func (*MsgUnknown) NoSkip() bool { return false }

func (m *MsgUnknown) marshalValue(b *cryptobyte.Builder) { b.AddBytes(m.Value) }

func (m *MsgUnknown) parseValue(v []byte, _ Limits) error {
	m.Value = append([]byte{}, v...)
	return nil
}
