package pb

import "fmt"

// ErrorCode is an IETF PB-TNC error code (RFC 5793 Section 4.9.1).
type ErrorCode uint16

// IETF PB-TNC error codes.
const (
	ErrUnexpectedBatchType         ErrorCode = 0
	ErrInvalidParameter            ErrorCode = 1
	ErrLocalError                  ErrorCode = 2
	ErrUnsupportedMandatoryMessage ErrorCode = 3
	ErrVersionNotSupported         ErrorCode = 4
)

var errorCodeNames = [...]string{
	"Unexpected Batch Type", "Invalid Parameter", "Local Error",
	"Unsupported Mandatory Message", "Version Not Supported",
}

// String returns the RFC name of the code ("Invalid Parameter").
func (c ErrorCode) String() string {
	if int(c) < len(errorCodeNames) {
		return errorCodeNames[c]
	}
	return fmt.Sprintf("error code %d", uint16(c))
}

// Error is a PB-TNC protocol error found locally: the IETF error code and,
// for the offset-carrying codes, the byte offset into the batch. It is what
// ParseBatch returns; the state machine turns it into a fatal PB-Error
// (NewErrorMsg) inside a CLOSE batch.
type Error struct {
	Code ErrorCode
	// Offset is the byte offset into the batch (codes 0-3).
	Offset uint32
	// BadVersion is the received version (code 4 only).
	BadVersion uint8
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code == ErrVersionNotSupported {
		return fmt.Sprintf("pb: %s (version %d)", e.Code, e.BadVersion)
	}
	return fmt.Sprintf("pb: %s (offset %d bytes)", e.Code, e.Offset)
}

// Is lets errors.Is match any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func invalidParam(off int) *Error { return &Error{Code: ErrInvalidParameter, Offset: uint32(off)} }
