package pb

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// MsgReasonString is PB-Reason-String, RFC 5793 Section 4.11, sent by the
// server in a RESULT batch, without NOSKIP.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Reason String Length                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Reason String (Variable Length)                |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Lang Code Length  |    Reason String Language Code (Var.) |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// UTF-8 text and an ASCII language code, neither NUL-terminated.
type MsgReasonString struct {
	Text string
	Lang string
}

// Type implements Message.
func (*MsgReasonString) Type() MsgType { return TypeReasonString }

// NoSkip implements Message.
func (*MsgReasonString) NoSkip() bool { return false }

func (m *MsgReasonString) marshalValue(b *cryptobyte.Builder) {
	if len(m.Lang) > 0xff {
		b.SetError(fmt.Errorf("pb: reason string language code of %d bytes", len(m.Lang)))
		return
	}
	b.AddUint32(uint32(len(m.Text)))
	b.AddBytes([]byte(m.Text))
	b.AddUint8(uint8(len(m.Lang)))
	b.AddBytes([]byte(m.Lang))
}

func (m *MsgReasonString) parseValue(v []byte, _ Limits) error {
	s := cryptobyte.String(v)
	var n uint32
	var text, lang []byte
	if !s.ReadUint32(&n) || int64(n) > int64(len(s)) {
		return invalidParam(0)
	}
	s.ReadBytes(&text, int(n))
	if i := bytes.IndexByte(text, 0); i >= 0 {
		return invalidParam(4 + i)
	}
	if !s.ReadUint8LengthPrefixed((*cryptobyte.String)(&lang)) || !s.Empty() {
		return invalidParam(4 + int(n))
	}
	if i := bytes.IndexByte(lang, 0); i >= 0 {
		return invalidParam(5 + int(n) + i)
	}
	m.Text, m.Lang = string(text), string(lang)
	return nil
}
