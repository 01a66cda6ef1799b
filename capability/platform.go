package capability

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/imchost/imchost/abi"
)

// Platform is what the host functions report about the machine. Each part
// may be nil: the host functions it backs then answer StatusUnavailable.
// NewTPMPlatform builds the production Platform on tpmhost; tests use
// NewSystem with a fixture root.
type Platform struct {
	System System // os_release, system_facts, packages, symlinks
	TPM    TPM    // tpm_version_info, tpm_banks, tpm_aik, tpm_quote, eventlog_events
	DH     DH     // dh_create, dh_finish; nil: StdDH (tpmhost's D-H, all PTS groups)
	// EventLogPath is the boot event log read when the IMC has no
	// "eventlog" setting; "" means DefaultEventLogPath.
	EventLogPath string
	// IMALogPath is the IMA measurement list read when the IMC has no
	// "ima_log" setting; "" means tpmhost.DefaultIMALogPath.
	IMALogPath string
}

// System is the operating-system side of the platform.
type System interface {
	// OSRelease returns the contents of /etc/os-release, else /usr/lib/os-release.
	OSRelease() ([]byte, error)
	// SystemFacts returns boot time, forwarding flags, machine-id and arch.
	SystemFacts() (abi.SystemFacts, error)
	// Packages returns the installed packages (dpkg or apk database).
	Packages() ([]abi.Package, error)
	// Symlinks lists the symbolic links to directories in dir, in directory
	// order, with targets as '/' + readlink.
	Symlinks(dir string) ([]abi.Symlink, error)
}

// TPM is the TPM side of the platform (implemented on tpmhost).
type TPM interface {
	// VersionInfo returns the TPM's version and its startup locality.
	VersionInfo(ctx context.Context) (abi.TPMVersionInfo, error)
	// Banks returns the PCR banks that have PCRs allocated.
	Banks(ctx context.Context) ([]uint16, error)
	// AIK returns the public part of the key at a persistent handle; the host
	// adds CertDER from the IMC's aik_cert setting.
	AIK(ctx context.Context, handle uint32) (abi.AIK, error)
	// Quote quotes req.PCRs of req.Bank with the key at req.Handle (never 0
	// here: the host resolves the IMC's aik_handle).
	Quote(ctx context.Context, req abi.QuoteRequest) (abi.Quote, error)
	// EventLog parses the boot event log at path and returns the events'
	// digests in bank. The host calls it at most once per connection and bank.
	EventLog(ctx context.Context, path string, bank uint16) (abi.EventLog, error)
}

// DH makes Diffie-Hellman key pairs for the PTS D-H nonce exchange; the
// private value never leaves the host.
type DH interface {
	// NewKey makes a key pair in an IKE group (2, 5, 14, 19, 20).
	NewKey(group uint16) (DHKey, error)
}

// DHKey is one key pair made by DH.
type DHKey interface {
	// Public is the public value in strongSwan's encoding (MODP: big-endian
	// padded to the modulus size; ECP: X||Y).
	Public() []byte
	// Shared derives the shared secret with the peer's public value (ECP:
	// the X coordinate).
	Shared(peer []byte) ([]byte, error)
}

// Sentinels a Platform may return (wrapped) to choose the status the module sees.
var (
	// ErrUnavailable: the capability is not configured (StatusUnavailable).
	ErrUnavailable = errors.New("host: capability unavailable")
	// ErrUnsupported: algorithm, group or type not supported (StatusUnsupported).
	ErrUnsupported = errors.New("host: unsupported")
	// ErrNotFound: no such handle, bank, key or file (StatusNotFound).
	ErrNotFound = errors.New("host: not found")
	// ErrInvalid: the request is malformed (StatusInvalid).
	ErrInvalid = errors.New("host: invalid request")
)

// statusOf maps a platform error to the status a module sees.
func statusOf(err error) abi.Status {
	var de *abi.DecodeError
	switch {
	case err == nil:
		return abi.StatusOK
	case errors.Is(err, ErrUnavailable):
		return abi.StatusUnavailable
	case errors.Is(err, ErrUnsupported):
		return abi.StatusUnsupported
	case errors.Is(err, ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return abi.StatusNotFound
	case errors.Is(err, ErrInvalid), errors.As(err, &de):
		return abi.StatusInvalid
	}
	return abi.StatusFailed
}

// CallError is a host function's failure as the host logs it.
type CallError struct {
	Fn     string
	Status abi.Status
	Err    error
}

// Error implements error.
func (e *CallError) Error() string {
	return fmt.Sprintf("host: %s: status %d: %v", e.Fn, e.Status, e.Err)
}

// Unwrap returns the underlying error.
func (e *CallError) Unwrap() error { return e.Err }
