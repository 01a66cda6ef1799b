package pb

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// MsgPA is PB-PA, RFC 5793 Section 4.5: one PA-TNC message for the
// collectors (IMCs) or validators (IMVs). It always carries NOSKIP.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Flags     |               PA Message Vendor ID            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           PA Subtype                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Posture Collector Identifier | Posture Validator Identifier  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 PA Message Body (Variable Length)             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Flags bit 0 (0x80) is EXCL. Collector/validator 0xFFFF mean "any".
type MsgPA struct {
	Exclusive bool   // EXCL
	Vendor    uint32 // PA Message Vendor ID, 24 bits, not 0xFFFFFF
	Subtype   uint32 // not 0xFFFFFFFF
	Collector uint16 // Posture Collector Identifier (IMC ID)
	Validator uint16 // Posture Validator Identifier (IMV ID)
	Body      []byte // the PA-TNC message (RFC 5792)
}

// AnyID is the collector/validator identifier meaning "any".
const AnyID = 0xffff

// Type implements Message.
func (*MsgPA) Type() MsgType { return TypePA }

// NoSkip implements Message.
func (*MsgPA) NoSkip() bool { return true }

func (m *MsgPA) marshalValue(b *cryptobyte.Builder) {
	var flags uint8
	if m.Exclusive {
		flags = flagExcl
	}
	if m.Vendor > 0xffffff {
		b.SetError(fmt.Errorf("pb: PA vendor 0x%x exceeds 24 bits", m.Vendor))
		return
	}
	b.AddUint8(flags)
	b.AddUint24(m.Vendor)
	b.AddUint32(m.Subtype)
	b.AddUint16(m.Collector)
	b.AddUint16(m.Validator)
	b.AddBytes(m.Body)
}

func (m *MsgPA) parseValue(v []byte, lim Limits) error {
	s := cryptobyte.String(v)
	var flags uint8
	switch {
	case !s.ReadUint8(&flags) || !s.ReadUint24(&m.Vendor) || !s.ReadUint32(&m.Subtype) ||
		!s.ReadUint16(&m.Collector) || !s.ReadUint16(&m.Validator):
		return invalidParam(0)
	case m.Vendor == reservedVendorID:
		return invalidParam(1)
	case m.Subtype == reservedMsgType:
		return invalidParam(4)
	case len(s) > lim.Message():
		return invalidParam(PAHeaderLen)
	}
	m.Exclusive = flags&flagExcl != 0
	m.Body = append([]byte{}, s...)
	return nil
}
