package tpmhost

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// Sentinel errors a caller can test with errors.Is. Every *TPMError wraps at
// most one of them, chosen by what a person can do about the failure.
var (
	// ErrNoDevice: the TPM device or socket does not exist.
	ErrNoDevice = errors.New("tpmhost: no TPM found")
	// ErrPermission: the TPM device exists but may not be opened.
	ErrPermission = errors.New("tpmhost: permission denied")
	// ErrLockout: the TPM is in dictionary-attack lockout.
	ErrLockout = errors.New("tpmhost: TPM is in dictionary-attack lockout")
	// ErrBusy: the TPM kept answering RETRY, YIELDED or TESTING.
	ErrBusy = errors.New("tpmhost: TPM busy")
	// ErrUnknownHandle: no object at the given (persistent) handle.
	ErrUnknownHandle = errors.New("tpmhost: unknown handle")
	// ErrHandleInUse: a persistent handle already holds an object.
	ErrHandleInUse = errors.New("tpmhost: handle already in use")
	// ErrWrongKeyType: the key cannot be used for the requested operation.
	ErrWrongKeyType = errors.New("tpmhost: wrong key type")
	// ErrNotStarted: TPM2_Startup has not been run.
	ErrNotStarted = errors.New("tpmhost: TPM not started")
	// ErrBankNotAllocated: a PCR bank has no PCRs allocated.
	ErrBankNotAllocated = errors.New("tpmhost: PCR bank not allocated")
	// ErrNotSupported: the build or the TPM lacks a feature.
	ErrNotSupported = errors.New("tpmhost: not supported")
	// ErrTransport: talking to the TPM failed below the command level.
	ErrTransport = errors.New("tpmhost: TPM transport failure")
)

// TPMError is a failed TPM operation, described in words.
//
// Code is the raw TPM_RC (0 if the command never got an answer); Kind is one
// of the sentinels above or nil; Hint says what to do. errors.Is works with
// both the sentinel and go-tpm's tpm2.TPMRC values.
type TPMError struct {
	Op   string // e.g. "TPM2_Quote" or "open /dev/tpmrm0"
	Code uint32 // TPM_RC, 0 if none
	Kind error  // sentinel, may be nil
	Hint string // what a person can do, may be empty
	Err  error  // underlying error
}

// Error implements error: "tpmhost: TPM2_Quote: <what>: <hint>".
func (e *TPMError) Error() string {
	msg := "tpmhost: " + e.Op + ": "
	switch {
	case e.Kind != nil && e.Err != nil:
		msg += trimPrefix(e.Kind.Error()) + " (" + e.Err.Error() + ")"
	case e.Kind != nil:
		msg += trimPrefix(e.Kind.Error())
	case e.Err != nil:
		msg += e.Err.Error()
	}
	if e.Code != 0 {
		msg += fmt.Sprintf(" [TPM_RC 0x%03x]", e.Code)
	}
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func trimPrefix(s string) string {
	const p = "tpmhost: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// Unwrap returns the sentinel and the underlying error.
func (e *TPMError) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// tpmErr turns an error from go-tpm into a *TPMError with words.
func tpmErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var te *TPMError
	if errors.As(err, &te) {
		if te.Op == "" { // from the transport: the command's name added
			c := *te
			c.Op = op
			return &c
		}
		return err
	}
	e := &TPMError{Op: op, Err: err}
	var rc tpm2.TPMRC
	if !errors.As(err, &rc) {
		return e
	}
	e.Code = uint32(rc)
	switch {
	case rc.Is(tpm2.TPMRCLockout):
		e.Kind = ErrLockout
		e.Hint = "wait for the lockout recovery time or clear it with the lockout authorization (tpm2_dictionarylockout --clear-lockout)"
	case rc.Is(tpm2.TPMRCRetry), rc.Is(tpm2.TPMRCYielded), rc.Is(tpm2.TPMRCTesting):
		e.Kind = ErrBusy
		e.Hint = fmt.Sprintf("the TPM still asked to retry after %d attempts; try again later", maxRetries)
	case rc.Is(tpm2.TPMRCInitialize):
		e.Kind = ErrNotStarted
		e.Hint = "TPM2_Startup was not run (firmware does it on real machines; for swtpm start it with --flags startup-clear)"
	case rc.Is(tpm2.TPMRCHandle), rc.Is(tpm2.TPMRCReferenceH0):
		e.Kind = ErrUnknownHandle
		e.Hint = "no key is persisted at that handle; provision one (imchost provision-ak) or fix the handle in config.toml"
	case rc.Is(tpm2.TPMRCNVDefined):
		e.Kind = ErrHandleInUse
	case rc.Is(tpm2.TPMRCKey), rc.Is(tpm2.TPMRCScheme), rc.Is(tpm2.TPMRCAttributes), rc.Is(tpm2.TPMRCType):
		e.Kind = ErrWrongKeyType
		e.Hint = "the key at that handle is not a signing key with a usable scheme (ECDSA or RSASSA)"
	case rc.Is(tpm2.TPMRCPCR), rc.Is(tpm2.TPMRCHash):
		e.Kind = ErrBankNotAllocated
	case rc.Is(tpm2.TPMRCAuthFail), rc.Is(tpm2.TPMRCBadAuth):
		e.Hint = "authorization failed; imchost uses an empty password for the key and the owner hierarchy"
	}
	return e
}
