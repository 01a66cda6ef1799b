package pttls

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// MechPLAIN is the SASL PLAIN mechanism (RFC 4616), the only one strongSwan
// implements.
const MechPLAIN = "PLAIN"

// SASL Mechanisms value, RFC 6876 Section 3.8.1: a sequence of
//
//	 0 1 2 3 4 5 6 7 8 9 ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Rsvd |Mech Len |  Mechanism Name (Mech Len bytes) ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// An empty list ends authentication.
func parseMechanisms(v []byte) ([]string, error) {
	s := cryptobyte.String(v)
	var names []string
	for !s.Empty() {
		var l uint8
		var name []byte
		if !s.ReadUint8(&l) || !s.ReadBytes(&name, int(l&0x1f)) || l&0x1f == 0 {
			return nil, &Error{Code: ErrMalformedMessage, Reason: "bad SASL mechanism list"}
		}
		names = append(names, string(name))
	}
	return names, nil
}

func marshalMechanisms(names ...string) []byte {
	var out []byte
	for _, n := range names {
		out = append(out, byte(len(n)&0x1f))
		out = append(out, n[:len(n)&0x1f]...)
	}
	return out
}

// SASL Mechanism Selection value, RFC 6876 Section 3.8.2:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Rsvd |Mech Len |  Mechanism Name (Mech Len bytes)              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Optional Initial Mechanism Response (Variable)        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
func parseSelection(v []byte) (mech string, initial []byte, err error) {
	s := cryptobyte.String(v)
	var l uint8
	var name []byte
	if !s.ReadUint8(&l) || !s.ReadBytes(&name, int(l&0x1f)) || l&0x1f == 0 {
		return "", nil, &Error{Code: ErrMalformedMessage, Reason: "bad SASL mechanism selection"}
	}
	return string(name), []byte(s), nil
}

// plainResponse is the RFC 4616 message: authzid NUL authcid NUL passwd,
// with an empty authzid as strongSwan sends it.
func plainResponse(user, password string) []byte {
	out := make([]byte, 0, 2+len(user)+len(password))
	out = append(out, 0)
	out = append(out, user...)
	out = append(out, 0)
	return append(out, password...)
}

func parsePlain(v []byte) (authz, user, password string, err error) {
	parts := bytes.SplitN(v, []byte{0}, 3)
	if len(parts) != 3 || len(parts[1]) == 0 || bytes.IndexByte(parts[2], 0) >= 0 {
		return "", "", "", &Error{Code: ErrSASLMechanismError, Reason: "malformed PLAIN response"}
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

// parseSASLResult accepts strongSwan's 1-byte result and the RFC 6876
// 2-byte one (Section 3.8.5); further bytes are optional result data.
func parseSASLResult(v []byte) (SASLResult, error) {
	switch len(v) {
	case 0:
		return 0, &Error{Code: ErrMalformedMessage, Reason: "empty SASL result"}
	case 1:
		return SASLResult(v[0]), nil
	default:
		return SASLResult(uint16(v[0])<<8 | uint16(v[1])), nil
	}
}

func (r SASLResult) err() error {
	if r == SASLSuccess {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrAuthFailed, r)
}
