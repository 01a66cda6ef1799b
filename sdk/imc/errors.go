package imc

import (
	"strconv"

	"github.com/imchost/imchost/abi"
)

// The SDK avoids fmt: it would add about a megabyte to every module.

// StatusError is the error a Host method returns when the host function
// answered with a negative status, or the IMC could not decode its result.
type StatusError struct {
	Fn     string     // the host function, e.g. abi.FnTPMQuote
	Status abi.Status // what the host answered
}

// Error implements error.
func (e *StatusError) Error() string {
	return "imc: host function " + e.Fn + " failed: " + statusText(e.Status)
}

// Is lets errors.Is match a StatusError against another with the same Status
// (Fn ignored when empty), e.g. errors.Is(err, &imc.StatusError{Status: abi.StatusNotFound}).
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.Status == e.Status && (t.Fn == "" || t.Fn == e.Fn)
}

func statusText(s abi.Status) string {
	switch s {
	case abi.StatusOK:
		return "ok"
	case abi.StatusInvalid:
		return "invalid argument"
	case abi.StatusFault:
		return "bad guest pointer"
	case abi.StatusTooLarge:
		return "too large"
	case abi.StatusNotFound:
		return "not found"
	case abi.StatusNotGranted:
		return "not granted"
	case abi.StatusUnavailable:
		return "unavailable"
	case abi.StatusFailed:
		return "failed on the host"
	case abi.StatusState:
		return "not allowed now"
	case abi.StatusNoResult:
		return "no stashed result"
	case abi.StatusUnsupported:
		return "unsupported"
	case abi.StatusModuleFailed:
		return "module failed"
	case abi.StatusDenied:
		return "denied (outside the module's lane)"
	case abi.StatusExhausted:
		return "budget exhausted"
	}
	return "status " + strconv.Itoa(int(s))
}
