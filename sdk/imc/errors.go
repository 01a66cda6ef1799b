package imc

import (
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
	return "imc: host function " + e.Fn + " failed: " + e.Status.String()
}

// Is lets errors.Is match a StatusError against another with the same Status
// (Fn ignored when empty), e.g. errors.Is(err, &imc.StatusError{Status: abi.StatusNotFound}).
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.Status == e.Status && (t.Fn == "" || t.Fn == e.Fn)
}
