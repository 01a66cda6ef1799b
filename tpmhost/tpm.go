package tpmhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
	"github.com/hashicorp/go-hclog"
)

// DefaultDevice is the TPM used when the configuration names none: the
// kernel's resource-managed device.
const DefaultDevice = "/dev/tpmrm0"

// SimulatorSpec is the name of the in-process go-tpm-tools simulator: a TPM
// from tpmsim.Open goes by it (TPM.Spec). Open does not start the simulator,
// which is C code only the demo and the tests link.
const SimulatorSpec = "simulator"

// maxRetries bounds how often a command answered with TPM_RC_RETRY,
// TPM_RC_YIELDED or TPM_RC_TESTING is sent again.
const maxRetries = 8

// maxResponse bounds a TPM response read from a socket (TPM 2.0 responses
// are at most a few KiB; 64 KiB leaves room for any vendor).
const maxResponse = 1 << 16

// TPM is an open TPM 2.0. Its methods may be called from several goroutines;
// commands are sent one at a time.
//
// Every command ends by its deadline: the one of the context given to
// WithContext, else DefaultCommandTimeout. A TPM that did not answer in
// time, or whose connection failed, is dead: later commands fail at once
// with ErrTransport and the first failure's words (see device).
type TPM struct {
	d    *device
	ctx  context.Context // nil: DefaultCommandTimeout bounds each command
	tr   transport.TPM   // command: what the TPM's methods send through
	log  hclog.Logger
	spec string
}

// DefaultCommandTimeout bounds a command sent without a context deadline.
// Key generation on a software TPM can take seconds; two minutes is the
// point where something is wrong.
const DefaultCommandTimeout = 2 * time.Minute

// WithContext returns a view of t whose commands, and the wait for the TPM
// while another goroutine uses it, end when ctx does: by its deadline with
// ErrTransport ("no answer within ..."), the TPM then counted dead; when
// canceled with an error wrapping context.Canceled. The view shares the
// connection with t; closing either closes both.
func (t *TPM) WithContext(ctx context.Context) *TPM {
	v := &TPM{d: t.d, ctx: ctx, log: t.log, spec: t.spec}
	v.tr = command{v}
	return v
}

func (t *TPM) context() context.Context {
	if t.ctx == nil {
		return context.Background()
	}
	return t.ctx
}

// lock takes the TPM for a sequence of commands, waiting no longer than the
// view's context allows; a TPM already counted dead fails at once.
func (t *TPM) lock() error {
	select {
	case t.d.lock <- struct{}{}:
		return nil
	default:
	}
	if err := t.d.check(); err != nil {
		err.(*TPMError).Op = "wait for the TPM"
		return err
	}
	ctx := t.context()
	select {
	case t.d.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &TPMError{Op: "wait for the TPM", Kind: ErrTransport, Hint: hintNoAnswer,
				Err: errors.New("another command still holds it past the deadline")}
		}
		return &TPMError{Op: "wait for the TPM", Err: fmt.Errorf("canceled: %w", ctx.Err())}
	}
}

func (t *TPM) unlock() { <-t.d.lock }

// Open opens the TPM named by spec:
//
//   - "" or "/dev/tpmrm0" (DefaultDevice), "/dev/tpm0": a Linux TPM device;
//   - "tcp:HOST:PORT": a TPM speaking raw TPM 2.0 commands over TCP, such as
//     `swtpm socket --server type=tcp`;
//   - "mssim:HOST:PORT": the Microsoft/TCG reference simulator or IBM's
//     tpm_server (framed protocol; platform port PORT+1 gets power-on and
//     NV-on; TPM2_Startup is still up to whoever started the simulator);
//   - "simulator" is refused with ErrNotSupported: the in-process
//     simulator is started by tpmsim.Open, in the programs that link it.
//
// log may be nil; tpmhost logs under the name "tpm".
func Open(spec string, log hclog.Logger) (*TPM, error) {
	if spec == "" {
		spec = DefaultDevice
	}
	var tr transport.TPMCloser
	switch {
	case spec == SimulatorSpec:
		return nil, &TPMError{Op: "open simulator", Kind: ErrNotSupported,
			Err:  errors.New("the in-process TPM simulator comes only with imchost-demo and the tests"),
			Hint: "use a TPM device, swtpm (tcp:HOST:PORT) or mssim:HOST:PORT"}
	case strings.HasPrefix(spec, "tcp:"):
		addr := strings.TrimPrefix(spec, "tcp:")
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return nil, &TPMError{Op: "connect " + addr, Kind: ErrNoDevice, Err: err,
				Hint: "is swtpm running? (swtpm socket --tpm2 --server type=tcp,port=PORT --ctrl type=tcp,port=PORT+1 --flags startup-clear)"}
		}
		r := &rawTCP{addr: addr}
		r.sock.conn = c
		tr = r
	case strings.HasPrefix(spec, "mssim:"):
		addr := strings.TrimPrefix(spec, "mssim:")
		m, err := openMSSim(addr)
		if err != nil {
			return nil, &TPMError{Op: "connect " + addr, Kind: ErrNoDevice, Err: err,
				Hint: "is the TPM simulator (tpm_server) running with its command port at " + addr + " and the platform port one above?"}
		}
		tr = m
	case strings.HasPrefix(spec, "/"):
		rwc, err := linuxtpm.Open(spec)
		if err != nil {
			return nil, openDeviceError(spec, err)
		}
		tr = rwc
	default:
		return nil, fmt.Errorf("tpmhost: unknown TPM %q (want /dev/tpmrm0, /dev/tpm0, tcp:HOST:PORT or mssim:HOST:PORT)", spec)
	}
	return newTPM(spec, tr, log), nil
}

// OpenReadWriter makes a TPM of a channel that carries raw TPM 2.0 commands
// and responses, such as an in-process simulator; spec names it (TPM.Spec).
// The TPM owns rwc: Close closes it.
func OpenReadWriter(spec string, rwc io.ReadWriteCloser, log hclog.Logger) *TPM {
	return newTPM(spec, readWriter{transport.FromReadWriter(rwc), rwc}, log)
}

type readWriter struct {
	transport.TPM
	io.Closer
}

// New wraps an existing go-tpm transport (for example one a test built). The
// caller keeps ownership of tr: Close does not close it.
func New(tr transport.TPM, log hclog.Logger) *TPM {
	return newTPM("transport", struct{ transport.TPM }{tr}, log) // hides Close
}

// newTPM is every constructor's end: tr closed by Close if it is an
// io.Closer, logging under "tpm".
func newTPM(spec string, tr transport.TPM, log hclog.Logger) *TPM {
	log = namedLogger(log)
	log.Debug(fmt.Sprintf("opened TPM '%s'", spec), "device", spec)
	d := &device{tr: tr, lock: make(chan struct{}, 1)}
	d.closer, _ = tr.(io.Closer)
	t := &TPM{d: d, log: log, spec: spec}
	t.tr = command{t}
	return t
}

func namedLogger(log hclog.Logger) hclog.Logger {
	if log == nil {
		return hclog.NewNullLogger()
	}
	return log.Named("tpm")
}

func openDeviceError(path string, err error) error {
	e := &TPMError{Op: "open " + path, Err: err}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.Kind = ErrNoDevice
		e.Hint = "no TPM device; enable the TPM in the firmware, load the tpm_tis/tpm_crb module, or name an emulator ([tpm] device = \"tcp:HOST:PORT\" for swtpm)"
	case errors.Is(err, fs.ErrPermission):
		e.Kind = ErrPermission
		e.Hint = "add the user to the tss group (usermod -aG tss USER, then log in again) or run as root"
	case errors.Is(err, linuxtpm.ErrFileIsNotDevice):
		e.Kind = ErrNoDevice
		e.Hint = "the path is not a character device"
	}
	return e
}

// Close releases the TPM, interrupting a command in flight. Keys persisted
// on it stay.
func (t *TPM) Close() error { return t.d.close() }

// Spec returns the string the TPM was opened with.
func (t *TPM) Spec() string { return t.spec }

// Transport returns the go-tpm transport, for callers that need a command
// tpmhost does not wrap. Commands sent through it bypass the TPM's lock;
// they have the view's deadline (WithContext) and retries.
func (t *TPM) Transport() transport.TPM { return t.tr }
