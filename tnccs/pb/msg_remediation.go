package pb

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Remediation parameter types (IETF vendor), RFC 5793 Section 4.8.
const (
	RemediationURI    uint32 = 1
	RemediationString uint32 = 2
)

// MsgRemediationParameters is PB-Remediation-Parameters, RFC 5793 Section
// 4.8, sent by the server in a RESULT batch, without NOSKIP.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Reserved   |       Remediation Parameters Vendor ID        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Remediation Parameters Type                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Remediation Parameters (Variable Length)           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// IETF type 1 (URI): the parameters are the URI, no length, no NUL.
// IETF type 2 (String), RFC 5793 Section 4.8.2:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Remediation String Length                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Remediation String (Variable Length)          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Lang Code Len | Remediation String Lang Code (Variable Len)   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A NUL inside the string or the language code is Invalid Parameter.
type MsgRemediationParameters struct {
	Vendor uint32 // 24 bits; IETF for URI and String
	// ParamType is RemediationURI, RemediationString or another value
	// whose parameters are kept in Other.
	ParamType uint32
	URI       string // IETF type 1
	Text      string // IETF type 2
	Lang      string // IETF type 2
	Other     []byte // any other vendor/type
}

// Type implements Message.
func (*MsgRemediationParameters) Type() MsgType { return TypeRemediationParameters }

// NoSkip implements Message.
func (*MsgRemediationParameters) NoSkip() bool { return false }

func (m *MsgRemediationParameters) marshalValue(b *cryptobyte.Builder) {
	if m.Vendor > 0xffffff || len(m.Lang) > 0xff {
		b.SetError(fmt.Errorf("pb: remediation vendor 0x%x or language code too long", m.Vendor))
		return
	}
	b.AddUint8(0)
	b.AddUint24(m.Vendor)
	b.AddUint32(m.ParamType)
	switch {
	case m.Vendor == VendorIETF && m.ParamType == RemediationURI:
		b.AddBytes([]byte(m.URI))
	case m.Vendor == VendorIETF && m.ParamType == RemediationString:
		b.AddUint32(uint32(len(m.Text)))
		b.AddBytes([]byte(m.Text))
		b.AddUint8(uint8(len(m.Lang)))
		b.AddBytes([]byte(m.Lang))
	default:
		b.AddBytes(m.Other)
	}
}

func (m *MsgRemediationParameters) parseValue(v []byte, _ Limits) error {
	s := cryptobyte.String(v)
	var rsvd uint8
	if !s.ReadUint8(&rsvd) || !s.ReadUint24(&m.Vendor) || !s.ReadUint32(&m.ParamType) {
		return invalidParam(0)
	}
	switch {
	case m.Vendor == VendorIETF && m.ParamType == RemediationURI:
		if len(s) == 0 || bytes.IndexByte(s, 0) >= 0 {
			return invalidParam(8)
		}
		m.URI = string(s)
	case m.Vendor == VendorIETF && m.ParamType == RemediationString:
		var text, lang []byte
		var n uint32
		if !s.ReadUint32(&n) || int64(n) > int64(len(s)) {
			return invalidParam(8)
		}
		s.ReadBytes(&text, int(n))
		if i := bytes.IndexByte(text, 0); i >= 0 {
			return invalidParam(12 + i)
		}
		if !s.ReadUint8LengthPrefixed((*cryptobyte.String)(&lang)) || !s.Empty() {
			return invalidParam(12 + int(n))
		}
		if i := bytes.IndexByte(lang, 0); i >= 0 {
			return invalidParam(13 + int(n) + i)
		}
		m.Text, m.Lang = string(text), string(lang)
	default:
		m.Other = append([]byte{}, s...)
	}
	return nil
}
