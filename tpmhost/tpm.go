package tpmhost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"sync"
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
type TPM struct {
	mu     sync.Mutex
	tr     transport.TPM
	closer io.Closer
	log    hclog.Logger
	spec   string
}

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
	var (
		tr     transport.TPM
		closer io.Closer
	)
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
		tcp := &rawTCP{conn: c}
		tr, closer = tcp, tcp
	case strings.HasPrefix(spec, "mssim:"):
		addr := strings.TrimPrefix(spec, "mssim:")
		m, err := openMSSim(addr)
		if err != nil {
			return nil, &TPMError{Op: "connect " + addr, Kind: ErrNoDevice, Err: err,
				Hint: "is the TPM simulator (tpm_server) running with its command port at " + addr + " and the platform port one above?"}
		}
		tr, closer = m, m
	case strings.HasPrefix(spec, "/"):
		rwc, err := linuxtpm.Open(spec)
		if err != nil {
			return nil, openDeviceError(spec, err)
		}
		tr, closer = rwc, rwc
	default:
		return nil, fmt.Errorf("tpmhost: unknown TPM %q (want /dev/tpmrm0, /dev/tpm0, tcp:HOST:PORT or mssim:HOST:PORT)", spec)
	}
	return newTPM(spec, tr, closer, log), nil
}

// OpenReadWriter makes a TPM of a channel that carries raw TPM 2.0 commands
// and responses, such as an in-process simulator; spec names it (TPM.Spec).
// The TPM owns rwc: Close closes it.
func OpenReadWriter(spec string, rwc io.ReadWriteCloser, log hclog.Logger) *TPM {
	return newTPM(spec, transport.FromReadWriter(rwc), rwc, log)
}

// New wraps an existing go-tpm transport (for example one a test built). The
// caller keeps ownership of tr: Close does not close it.
func New(tr transport.TPM, log hclog.Logger) *TPM {
	return newTPM("transport", tr, nil, log)
}

// newTPM is every constructor's end: commands retried (see retrying),
// closer closed by Close (may be nil), logging under "tpm".
func newTPM(spec string, tr transport.TPM, closer io.Closer, log hclog.Logger) *TPM {
	log = namedLogger(log)
	log.Debug("opened TPM", "device", spec)
	return &TPM{tr: retrying{tr: tr}, closer: closer, log: log, spec: spec}
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

// Close releases the TPM. Keys persisted on it stay.
func (t *TPM) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closer == nil {
		return nil
	}
	err := t.closer.Close()
	t.closer = nil
	return err
}

// Spec returns the string the TPM was opened with.
func (t *TPM) Spec() string { return t.spec }

// Transport returns the go-tpm transport, for callers that need a command
// tpmhost does not wrap. Commands sent through it bypass the TPM's lock.
func (t *TPM) Transport() transport.TPM { return t.tr }

// retrying resends a command the TPM answered with RETRY, YIELDED or TESTING,
// at most maxRetries times, sleeping a little longer each time.
type retrying struct {
	tr    transport.TPM
	delay time.Duration // first pause; doubles after each retry
}

// Send implements transport.TPM.
func (r retrying) Send(cmd []byte) ([]byte, error) {
	delay := r.delay
	if delay == 0 {
		delay = 10 * time.Millisecond
	}
	for i := 0; ; i++ {
		rsp, err := r.tr.Send(cmd)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTransport, err)
		}
		if len(rsp) < 10 || i >= maxRetries {
			return rsp, nil
		}
		switch binary.BigEndian.Uint32(rsp[6:10]) {
		case 0x922, 0x908, 0x90A: // TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING
			time.Sleep(delay)
			delay *= 2
			continue
		}
		return rsp, nil
	}
}

// rawTCP is a TPM reached through a TCP socket that carries plain TPM 2.0
// command and response buffers (swtpm's server socket). Unlike go-tpm's tcp
// transport it reads each response in full: header first, then the size the
// header names.
type rawTCP struct {
	mu   sync.Mutex
	conn net.Conn
}

// Send implements transport.TPM.
func (c *rawTCP) Send(cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil, errors.New("connection closed")
	}
	// Key generation on a software TPM can take seconds; two minutes is the
	// point where something is wrong.
	_ = c.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	rsp, err := c.roundTrip(cmd)
	if err != nil {
		// The stream is out of step now: drop the connection so that no
		// later command reads this one's answer.
		c.conn.Close()
		c.conn = nil
	}
	return rsp, err
}

func (c *rawTCP) roundTrip(cmd []byte) ([]byte, error) {
	if _, err := c.conn.Write(cmd); err != nil {
		return nil, err
	}
	var hdr [10]byte // tag u16, responseSize u32, responseCode u32
	if _, err := io.ReadFull(c.conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading response header: %w", err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < 10 || size > maxResponse {
		return nil, fmt.Errorf("response size %d out of range", size)
	}
	rsp := make([]byte, size)
	copy(rsp, hdr[:])
	if _, err := io.ReadFull(c.conn, rsp[10:]); err != nil {
		return nil, fmt.Errorf("reading response body: %w", err)
	}
	return rsp, nil
}

// Close implements io.Closer.
func (c *rawTCP) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
