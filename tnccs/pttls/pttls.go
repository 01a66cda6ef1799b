// Package pttls is PT-TLS (RFC 6876, TCG IF-T for TLS): the 16-byte message
// framing over crypto/tls, version negotiation, SASL client authentication
// (PLAIN) and the PB-TNC Batch messages of the data phase, for both ends.
//
// It carries batches as opaque bytes; package tnccs runs PB-TNC over it.
// Every read has a deadline and a size bound: a peer that stalls or
// announces a huge message gets an error, never a hang or an allocation.
//
// See https://www.rfc-editor.org/rfc/rfc6876.
package pttls

import (
	"fmt"
	"time"
)

// Port is the IANA port of PT-TLS.
const Port = 271

// Version is the only PT-TLS version.
const Version = 1

// HeaderLen is the size of the PT-TLS message header.
const HeaderLen = 16

// VendorIETF is the vendor of the standard message types.
const VendorIETF uint32 = 0

// Defaults.
const (
	// DefaultMaxMessageSize bounds a received message value: strongSwan's
	// own build limit for PT-TLS (128*16384 - 16).
	DefaultMaxMessageSize = 128*16384 - 16
	// DefaultTimeout bounds every read and write.
	DefaultTimeout = 30 * time.Second
)

// MsgType is a PT-TLS message type (RFC 6876 Section 3.5, IETF vendor).
type MsgType uint32

// Message types.
const (
	TypeExperimental      MsgType = 0
	TypeVersionRequest    MsgType = 1
	TypeVersionResponse   MsgType = 2
	TypeSASLMechanisms    MsgType = 3
	TypeSASLMechSelection MsgType = 4
	TypeSASLAuthData      MsgType = 5
	TypeSASLResult        MsgType = 6
	TypePBBatch           MsgType = 7
	TypeError             MsgType = 8
)

var typeNames = [...]string{"Experimental", "Version Request", "Version Response",
	"SASL Mechanisms", "SASL Mechanism Selection", "SASL Authentication Data",
	"SASL Result", "PB-TNC Batch", "PT-TLS Error"}

// String returns the RFC name of the type.
func (t MsgType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type %d", uint32(t))
}

// ErrorCode is an IETF PT-TLS error code (RFC 6876 Section 3.9).
type ErrorCode uint32

// PT-TLS error codes.
const (
	ErrReserved            ErrorCode = 0
	ErrMalformedMessage    ErrorCode = 1
	ErrVersionNotSupported ErrorCode = 2
	ErrTypeNotSupported    ErrorCode = 3
	ErrInvalidMessage      ErrorCode = 4
	ErrSASLMechanismError  ErrorCode = 5
	ErrInvalidParameter    ErrorCode = 6
)

var errorNames = [...]string{"Reserved", "Malformed Message", "Version Not Supported",
	"Type Not Supported", "Invalid Message", "SASL Mechanism Error", "Invalid Parameter"}

// String returns the RFC name of the code.
func (c ErrorCode) String() string {
	if int(c) < len(errorNames) {
		return errorNames[c]
	}
	return fmt.Sprintf("error code %d", uint32(c))
}

// SASLResult is the SASL Authentication Result code (RFC 6876 Section 3.8.5).
type SASLResult uint16

// SASL results.
const (
	SASLSuccess          SASLResult = 0
	SASLFailure          SASLResult = 1
	SASLAbort            SASLResult = 2
	SASLMechanismFailure SASLResult = 3
)

var saslNames = [...]string{"success", "failure", "abort", "mechanism failure"}

// String returns the RFC name of the result.
func (r SASLResult) String() string {
	if int(r) < len(saslNames) {
		return saslNames[r]
	}
	return fmt.Sprintf("SASL result %d", uint16(r))
}
