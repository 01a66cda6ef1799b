package pb

import "golang.org/x/crypto/cryptobyte"

// Mutual-Capability flags.
const (
	MutualHalfDuplex uint32 = 0x80000000
	MutualFullDuplex uint32 = 0x40000000
)

// MsgMutualCapability is strongSwan's ITA PB-Mutual-Capability message
// (vendor ITA-HSR 0x00902A, type 1), without NOSKIP. A plain client neither
// sends nor honours it.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|H|F|                 Reserved (flags)                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Bytes after the 4-byte flags are ignored.
type MsgMutualCapability struct {
	Flags uint32
}

// Type implements Message.
func (*MsgMutualCapability) Type() MsgType { return TypeMutualCapability }

// NoSkip implements Message.
func (*MsgMutualCapability) NoSkip() bool { return false }

func (m *MsgMutualCapability) marshalValue(b *cryptobyte.Builder) { b.AddUint32(m.Flags) }

func (m *MsgMutualCapability) parseValue(v []byte, _ Limits) error {
	s := cryptobyte.String(v)
	if !s.ReadUint32(&m.Flags) {
		return invalidParam(0)
	}
	return nil
}
