package pb

import (
	"bytes"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// MsgLanguagePreference is PB-Language-Preference, RFC 5793 Section 4.10,
// without NOSKIP. The value is an HTTP-style header line:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Language Preference (Variable Length)              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// exactly "Accept-Language: " (17 bytes, case-sensitive as strongSwan
// checks it) followed by the language list, no NUL anywhere.
type MsgLanguagePreference struct {
	// Languages is the list after the prefix, e.g. "en".
	Languages string
}

// Type implements Message.
func (*MsgLanguagePreference) Type() MsgType { return TypeLanguagePreference }

// NoSkip implements Message.
func (*MsgLanguagePreference) NoSkip() bool { return false }

func (m *MsgLanguagePreference) marshalValue(b *cryptobyte.Builder) {
	b.AddBytes([]byte(LanguagePrefix + m.Languages))
}

func (m *MsgLanguagePreference) parseValue(v []byte, _ Limits) error {
	if !strings.HasPrefix(string(v), LanguagePrefix) {
		return invalidParam(0)
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		return invalidParam(i)
	}
	m.Languages = string(v[len(LanguagePrefix):])
	return nil
}
