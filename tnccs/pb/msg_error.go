package pb

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// MsgError is PB-Error, RFC 5793 Section 4.9, always with NOSKIP.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Flags     |                Error Code Vendor ID           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Error Code          |           Reserved            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              Error Parameters (Variable Length)               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Flags bit 0 (0x80) is FATAL. The IETF codes 0-3 carry a 4-byte offset
// parameter (RFC 5793 Section 4.9.1); code 4 (Version Not Supported) carries,
// Section 4.9.2:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Bad Version  |  Max Version  |  Min Version  |   Reserved    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The parameters are kept raw so that any vendor's error re-encodes; use
// Offset and Versions to read the IETF layouts.
type MsgError struct {
	Fatal  bool
	Vendor uint32 // Error Code Vendor ID, 24 bits
	Code   uint16
	Params []byte
}

// NewErrorMsg returns the fatal IETF PB-Error for a local error, with the
// 4-byte parameter strongSwan sends (max = min = Version for code 4).
func NewErrorMsg(e *Error) *MsgError {
	p := make([]byte, 4)
	if e.Code == ErrVersionNotSupported {
		p[0], p[1], p[2] = e.BadVersion, Version, Version
	} else {
		p[0], p[1], p[2], p[3] = byte(e.Offset>>24), byte(e.Offset>>16), byte(e.Offset>>8), byte(e.Offset)
	}
	return &MsgError{Fatal: true, Vendor: VendorIETF, Code: uint16(e.Code), Params: p}
}

// Type implements Message.
func (*MsgError) Type() MsgType { return TypeError }

// NoSkip implements Message.
func (*MsgError) NoSkip() bool { return true }

// Offset returns the offset parameter of an IETF error with code 0-3 and a
// 4-byte parameter.
func (m *MsgError) Offset() (uint32, bool) {
	if m.Vendor != VendorIETF || m.Code > uint16(ErrUnsupportedMandatoryMessage) || len(m.Params) != 4 {
		return 0, false
	}
	p := m.Params
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]), true
}

// Versions returns the parameter of an IETF Version Not Supported error.
func (m *MsgError) Versions() (bad, max, min uint8, ok bool) {
	if m.Vendor != VendorIETF || m.Code != uint16(ErrVersionNotSupported) || len(m.Params) != 4 {
		return 0, 0, 0, false
	}
	return m.Params[0], m.Params[1], m.Params[2], true
}

// String describes the error as strongSwan logs it.
func (m *MsgError) String() string {
	kind := "non-fatal"
	if m.Fatal {
		kind = "fatal"
	}
	if m.Vendor != VendorIETF {
		return fmt.Sprintf("%s PB-TNC error (vendor 0x%06x, code %d)", kind, m.Vendor, m.Code)
	}
	if off, ok := m.Offset(); ok {
		return fmt.Sprintf("%s PB-TNC error '%s' (offset %d bytes)", kind, ErrorCode(m.Code), off)
	}
	if bad, max, min, ok := m.Versions(); ok {
		return fmt.Sprintf("%s PB-TNC error '%s' (bad version %d, max %d, min %d)", kind, ErrorCode(m.Code), bad, max, min)
	}
	return fmt.Sprintf("%s PB-TNC error '%s'", kind, ErrorCode(m.Code))
}

func (m *MsgError) marshalValue(b *cryptobyte.Builder) {
	if m.Vendor > 0xffffff {
		b.SetError(fmt.Errorf("pb: error vendor 0x%x exceeds 24 bits", m.Vendor))
		return
	}
	var flags uint8
	if m.Fatal {
		flags = flagFatal
	}
	b.AddUint8(flags)
	b.AddUint24(m.Vendor)
	b.AddUint16(m.Code)
	b.AddUint16(0)
	b.AddBytes(m.Params)
}

func (m *MsgError) parseValue(v []byte, _ Limits) error {
	s := cryptobyte.String(v)
	var flags uint8
	var rsvd uint16
	if !s.ReadUint8(&flags) || !s.ReadUint24(&m.Vendor) || !s.ReadUint16(&m.Code) || !s.ReadUint16(&rsvd) {
		return invalidParam(0)
	}
	m.Fatal = flags&flagFatal != 0
	m.Params = append([]byte{}, s...)
	return nil
}
