package pb

import "golang.org/x/crypto/cryptobyte"

// MsgExperimental is PB-Experimental, RFC 5793 Section 4.4: an opaque value
// that receivers ignore. It never carries NOSKIP.
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Message Value (Variable Length)               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type MsgExperimental struct {
	Value []byte
}

// Type implements Message.
func (*MsgExperimental) Type() MsgType { return TypeExperimental }

// NoSkip implements Message.
func (*MsgExperimental) NoSkip() bool { return false }

func (m *MsgExperimental) marshalValue(b *cryptobyte.Builder) { b.AddBytes(m.Value) }

func (m *MsgExperimental) parseValue(v []byte, _ Limits) error {
	m.Value = append([]byte{}, v...)
	return nil
}
