package patnc

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
)

// ErrorCode is an IETF PA-TNC error code (RFC 5792 §4.2.8, RFC 8412 §5.15).
type ErrorCode uint32

// IETF PA-TNC error codes (Error Code Vendor ID 0).
const (
	ErrReserved                 ErrorCode = 0
	ErrInvalidParameter         ErrorCode = 1
	ErrVersionNotSupported      ErrorCode = 2
	ErrAttrTypeNotSupported     ErrorCode = 3
	ErrSWIMA                    ErrorCode = 4
	ErrSWIMASubscriptionDenied  ErrorCode = 5
	ErrSWIMAResponseTooLarge    ErrorCode = 6
	ErrSWIMASubscriptionFulfil  ErrorCode = 7
	ErrSWIMASubscriptionIDReuse ErrorCode = 8
)

var errorCodeNames = [...]string{
	"reserved", "invalid parameter", "version not supported",
	"attribute type not supported", "SWIMA error", "SWIMA subscription denied",
	"SWIMA response too large", "SWIMA subscription fulfillment error",
	"SWIMA subscription ID reuse",
}

// String returns a lower-case description such as "invalid parameter".
func (c ErrorCode) String() string {
	if int(c) < len(errorCodeNames) {
		return errorCodeNames[c]
	}
	return fmtlite.Sprintf("error code %d", uint32(c))
}

// TCGErrorCode is a TCG PTS error code (Error Code Vendor ID TCG 0x005597),
// RFC 5792 §4.2.8 and PTS IF-M Binding §4.
type TCGErrorCode uint32

// TCG PTS error codes.
const (
	TCGErrHashAlgNotSupported    TCGErrorCode = 1
	TCGErrInvalidPath            TCGErrorCode = 2
	TCGErrFileNotFound           TCGErrorCode = 3
	TCGErrRegNotSupported        TCGErrorCode = 4
	TCGErrRegKeyNotFound         TCGErrorCode = 5
	TCGErrDHGroupsNotSupported   TCGErrorCode = 6
	TCGErrBadNonceLength         TCGErrorCode = 7
	TCGErrInvalidNameFamily      TCGErrorCode = 8
	TCGErrTPMVersionNotSupported TCGErrorCode = 9
	TCGErrInvalidDelimiter       TCGErrorCode = 10
	TCGErrOperationNotSupported  TCGErrorCode = 11
	TCGErrRMError                TCGErrorCode = 12
	TCGErrUnableLocalValidation  TCGErrorCode = 13
	TCGErrUnableCurrentEvidence  TCGErrorCode = 14
	TCGErrUnableDetermineTTC     TCGErrorCode = 15
	TCGErrUnableDeterminePCR     TCGErrorCode = 16
)

var tcgErrorCodeNames = [...]string{
	1: "hash algorithm not supported", "invalid path", "file not found",
	"registry not supported", "registry key not found",
	"D-H groups not supported", "bad nonce length", "invalid name family",
	"TPM version not supported", "invalid delimiter", "operation not supported",
	"RM error", "unable to perform local validation",
	"unable to collect current evidence",
	"unable to determine transitive trust chain", "unable to determine PCR",
}

// String returns a lower-case description such as "file not found".
func (c TCGErrorCode) String() string {
	if c > 0 && int(c) < len(tcgErrorCodeNames) {
		return tcgErrorCodeNames[c]
	}
	return fmtlite.Sprintf("TCG error code %d", uint32(c))
}

// Error is a PA-TNC decode error. It carries what a receiver needs to answer
// with a PA-TNC Error attribute: the IETF error code, the offset of the fault
// from the start of the PA-TNC message, the copied message header and, for
// Attribute Type Not Supported, the flags and type of the attribute.
//
// Use ErrorAttr to build the response attribute.
type Error struct {
	Code   ErrorCode
	Offset uint32  // from the start of the PA-TNC message
	Header [8]byte // the first 8 bytes of the offending message (zero-padded if shorter)
	// Attr is the attribute being decoded, zero if the fault is in the
	// message header.
	Attr Type
	// AttrFlags is the flags byte of Attr's header.
	AttrFlags uint8
	// Reason says what was wrong, for logs.
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	s := fmtlite.Sprintf("patnc: %s at offset %d", e.Code, e.Offset)
	if e.Attr != (Type{}) || e.Code == ErrAttrTypeNotSupported {
		s += " in " + e.Attr.String()
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// ErrorAttr builds the IETF PA-TNC Error attribute that answers e (flags 0,
// as strongSwan sends it):
//   - Invalid Parameter: message header copy and offset;
//   - Version Not Supported: header copy, max version 1, min version 1;
//   - Attribute Type Not Supported: header copy, flags, vendor and type.
func (e *Error) ErrorAttr() *PATNCError {
	a := &PATNCError{Vendor: abi.PENIETF, Code: uint32(e.Code), MsgHeader: e.Header}
	switch e.Code {
	case ErrInvalidParameter:
		a.Offset = e.Offset
	case ErrVersionNotSupported:
		a.MaxVersion, a.MinVersion = Version, Version
	case ErrAttrTypeNotSupported:
		a.UnsupportedFlags, a.Unsupported = e.AttrFlags, e.Attr
	}
	return a
}

// valueError is an error found inside an attribute value: the offset is
// relative to the value start; ParseMessage turns it into an *Error.
func invalid(off int, reason string) *Error {
	return &Error{Code: ErrInvalidParameter, Offset: uint32(off), Reason: reason}
}

// errf is for marshal-side errors (values a decoder would reject).
func errf(t Type, format string, args ...any) error {
	return fmtlite.Errorf("patnc: cannot encode %s: %s", t.FullName(), fmtlite.Sprintf(format, args...))
}
