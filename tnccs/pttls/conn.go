package pttls

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/cryptobyte"
)

// Message is one PT-TLS message.
//
// RFC 6876 Section 3.5:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Reserved   |           Message Type Vendor ID              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Message Type                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Message Length                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Message Identifier                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Message Value (e.g. PB-TNC Batch) . . .        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The length counts the header. Each side numbers its messages from 0.
type Message struct {
	Vendor uint32 // 24 bits
	Type   MsgType
	ID     uint32
	Value  []byte
}

// Marshal encodes m.
func (m *Message) Marshal() ([]byte, error) {
	if m.Vendor > 0xffffff {
		return nil, fmt.Errorf("pttls: vendor 0x%x exceeds 24 bits", m.Vendor)
	}
	if uint64(len(m.Value))+HeaderLen > 0xffffffff {
		return nil, errors.New("pttls: message longer than 4 GiB")
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, HeaderLen+len(m.Value)))
	b.AddUint8(0)
	b.AddUint24(m.Vendor)
	b.AddUint32(uint32(m.Type))
	b.AddUint32(uint32(HeaderLen + len(m.Value)))
	b.AddUint32(m.ID)
	b.AddBytes(m.Value)
	return b.Bytes()
}

// ParseHeader decodes a 16-byte header and returns the value length it
// announces. Lengths below 16 or above maxValue are a *Error.
func ParseHeader(hdr []byte, maxValue int) (m Message, valueLen int, err error) {
	s := cryptobyte.String(hdr)
	var rsvd uint8
	var typ, length uint32
	if len(hdr) != HeaderLen || !s.ReadUint8(&rsvd) || !s.ReadUint24(&m.Vendor) || !s.ReadUint32(&typ) ||
		!s.ReadUint32(&length) || !s.ReadUint32(&m.ID) {
		return m, 0, &Error{Code: ErrMalformedMessage, Reason: "short header"}
	}
	m.Type = MsgType(typ)
	if length < HeaderLen {
		return m, 0, &Error{Code: ErrMalformedMessage, Reason: fmt.Sprintf("message length %d below the header size", length)}
	}
	if int64(length)-HeaderLen > int64(maxValue) {
		return m, 0, &Error{Code: ErrInvalidParameter, Reason: fmt.Sprintf("message length %d exceeds the limit of %d bytes", length, maxValue+HeaderLen)}
	}
	return m, int(length) - HeaderLen, nil
}

// Error is a PT-TLS protocol error detected locally.
type Error struct {
	Code   ErrorCode
	Reason string
	// header is the offending message's header, for the PT-TLS Error
	// message sent about it (nil: none).
	header []byte
}

// describe names a message's type for an error: the IETF type name, or the
// vendor and type number of a vendor's message (whose type number may
// look like an IETF one).
func (m *Message) describe() string {
	if m.Vendor != VendorIETF {
		return fmt.Sprintf("vendor 0x%06x message type %d", m.Vendor, uint32(m.Type))
	}
	return m.Type.String()
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("pttls: %s: %s", e.Code, e.Reason) }

// PeerError is a PT-TLS Error message received from the peer
// (RFC 6876 Section 3.9).
type PeerError struct {
	Vendor uint32
	Code   ErrorCode
	// Header is the copy of the offending message header(s) the peer sent.
	Header []byte
}

// Error implements error.
func (e *PeerError) Error() string {
	if e.Vendor != VendorIETF {
		return fmt.Sprintf("pttls: peer sent PT-TLS error vendor 0x%06x code %d", e.Vendor, uint32(e.Code))
	}
	return fmt.Sprintf("pttls: peer sent PT-TLS error '%s'", e.Code)
}

func parsePeerError(v []byte) *PeerError {
	s := cryptobyte.String(v)
	var rsvd uint8
	var vendor, code uint32
	if !s.ReadUint8(&rsvd) || !s.ReadUint24(&vendor) || !s.ReadUint32(&code) {
		return &PeerError{Code: ErrMalformedMessage}
	}
	return &PeerError{Vendor: vendor, Code: ErrorCode(code), Header: append([]byte{}, s...)}
}

// ErrAuthFailed reports a SASL authentication that did not succeed.
var ErrAuthFailed = errors.New("pttls: SASL authentication failed")

// Conn is an established PT-TLS connection in its data phase.
// It is safe for one reader and one writer at a time (PB-TNC is half-duplex).
type Conn struct {
	tc       *tls.Conn
	r        *bufio.Reader // over tc: Await peeks without losing a byte
	log      hclog.Logger
	timeout  time.Duration
	maxValue int
	server   bool
	identity string
	fellBack bool // TLS 1.2 after ErrTLS13Undecodable (Dial)

	wmu    sync.Mutex
	nextID uint32
}

func newConn(tc *tls.Conn, log hclog.Logger, timeout time.Duration, maxValue int, server bool) *Conn {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxValue <= 0 {
		maxValue = DefaultMaxMessageSize
	}
	return &Conn{tc: tc, r: bufio.NewReaderSize(tc, 4096), log: log, timeout: timeout, maxValue: maxValue, server: server}
}

// Identity is the authenticated peer identity (server side): the SASL user
// or the client certificate's name; empty without authentication.
func (c *Conn) Identity() string { return c.identity }

// RemoteAddr is the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.tc.RemoteAddr() }

// TLS returns the TLS connection state.
func (c *Conn) TLS() tls.ConnectionState { return c.tc.ConnectionState() }

// FellBack reports whether Dial reached the server with TLS 1.2 after its
// TLS 1.3 handshake failed with ErrTLS13Undecodable.
func (c *Conn) FellBack() bool { return c.fellBack }

// Close sends a TLS close_notify and closes the connection.
func (c *Conn) Close() error {
	_ = c.tc.SetWriteDeadline(time.Now().Add(time.Second))
	return c.tc.Close()
}

// deadline arms the connection's deadline for one operation: the earlier of
// now+timeout and ctx's deadline; a cancelled ctx unblocks the operation.
func (c *Conn) deadline(ctx context.Context) (stop func()) {
	return armDeadline(ctx, c.tc, c.timeout)
}

func armDeadline(ctx context.Context, nc net.Conn, timeout time.Duration) (stop func()) {
	if ctx.Err() != nil {
		// Already cancelled: fail the operation now. AfterFunc would
		// run in its own goroutine, racing the read or write it should
		// stop (a cancelled client could still send its next batch).
		_ = nc.SetDeadline(time.Unix(1, 0))
		return func() {}
	}
	d := time.Now().Add(timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	_ = nc.SetDeadline(d)
	release := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return func() { release() }
}

// Await waits until the peer's next message begins to arrive or until
// the time given, whichever is first, without consuming anything: it
// reports true when data (or the peer's close, or an error, which the
// next ReadBatch returns) is there, false when the time came first. A
// cancelled ctx ends the wait early with ctx's error. It is how a side
// waits for the peer between assessments of a PB-TNC session kept open
// (RFC 5793 Section 3.2, CRETRY and SRETRY) while its own timer runs.
func (c *Conn) Await(ctx context.Context, until time.Time) (bool, error) {
	if c.r.Buffered() > 0 {
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	_ = c.tc.SetReadDeadline(until)
	release := context.AfterFunc(ctx, func() { _ = c.tc.SetReadDeadline(time.Unix(1, 0)) })
	_, err := c.r.Peek(1)
	release()
	_ = c.tc.SetReadDeadline(time.Time{})
	switch {
	case err == nil:
		return true, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		// A TLS read that timed out keeps what it had (the error is
		// not sticky), and Peek consumed nothing: the wait just ended.
		return false, nil
	}
	return true, nil // EOF or a broken connection: ReadBatch says which
}

// WriteMessage sends one message with the next message identifier.
func (c *Conn) WriteMessage(ctx context.Context, vendor uint32, typ MsgType, value []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	m := Message{Vendor: vendor, Type: typ, ID: c.nextID, Value: value}
	out, err := m.Marshal()
	if err != nil {
		return err
	}
	stop := c.deadline(ctx)
	defer stop()
	if c.log.IsTrace() {
		c.log.Trace(fmt.Sprintf("sending PT-TLS %s message (%d bytes)", typ, len(out)), "id", m.ID, "hex", hex.EncodeToString(out))
	}
	if _, err := c.tc.Write(out); err != nil {
		return c.ioErr(ctx, "sending "+typ.String(), err)
	}
	c.nextID++
	return nil
}

// ReadMessage reads one message. Values longer than the configured maximum
// are refused before any allocation.
func (c *Conn) ReadMessage(ctx context.Context) (*Message, error) {
	stop := c.deadline(ctx)
	defer stop()
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return nil, c.ioErr(ctx, "reading PT-TLS header", err)
	}
	m, n, err := ParseHeader(hdr[:], c.maxValue)
	if err != nil {
		if e := (*Error)(nil); errors.As(err, &e) {
			e.header = append([]byte(nil), hdr[:]...)
		}
		return nil, err
	}
	m.Value = make([]byte, n)
	if _, err := io.ReadFull(c.r, m.Value); err != nil {
		return nil, c.ioErr(ctx, "reading PT-TLS message value", err)
	}
	if c.log.IsTrace() {
		c.log.Trace(fmt.Sprintf("received PT-TLS %s message (%d bytes)", m.Type, n+HeaderLen), "id", m.ID,
			"hex", hex.EncodeToString(append(hdr[:], m.Value...)))
	}
	return &m, nil
}

func (c *Conn) ioErr(ctx context.Context, what string, err error) error {
	return ioErr(ctx, what, err)
}

func ioErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("pttls: %s: %w", what, ctx.Err())
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) && errors.Is(err, os.ErrDeadlineExceeded) {
		// The context's deadline was the connection's: the read or write
		// hit it a moment before ctx noticed.
		return fmt.Errorf("pttls: %s: %w", what, context.DeadlineExceeded)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("pttls: %s: peer stalled: %w", what, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("pttls: %s: truncated message: %w", what, err)
	}
	return fmt.Errorf("pttls: %s: %w", what, err)
}

// SendError sends a PT-TLS Error message with a copy of the offending
// header (may be nil).
func (c *Conn) SendError(ctx context.Context, code ErrorCode, hdr []byte) error {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(0)
	b.AddUint24(VendorIETF)
	b.AddUint32(uint32(code))
	b.AddBytes(hdr)
	c.log.Info(fmt.Sprintf("sending PT-TLS error '%s'", code))
	return c.WriteMessage(ctx, VendorIETF, TypeError, b.BytesOrPanic())
}

// WriteBatch sends one PB-TNC batch in a PB-TNC Batch message.
func (c *Conn) WriteBatch(ctx context.Context, batch []byte) error {
	return c.WriteMessage(ctx, VendorIETF, TypePBBatch, batch)
}

// maxSkipped bounds the vendor-specific messages skipped while waiting for
// one batch, so a peer cannot keep a reader busy forever.
const maxSkipped = 16

// ReadBatch reads the next PB-TNC Batch message. Vendor-specific messages
// are logged and skipped (up to 16 in a row); a PT-TLS Error is returned as *PeerError; any
// other message type is an Invalid Message error (also sent to the peer).
// io.EOF (unwrapped with errors.Is) means the peer closed cleanly.
func (c *Conn) ReadBatch(ctx context.Context) ([]byte, error) {
	for skipped := 0; ; skipped++ {
		m, err := c.ReadMessage(ctx)
		if err != nil {
			if !c.server {
				// The client says what was wrong before it closes (RFC
				// 6876 Section 3.9); the server closes silently, as
				// strongSwan's does.
				return nil, c.refuse(ctx, err)
			}
			return nil, err
		}
		switch {
		case m.Vendor != VendorIETF && skipped >= maxSkipped:
			err := &Error{Code: ErrInvalidMessage, Reason: fmt.Sprintf("more than %d vendor specific messages in a row", maxSkipped), header: headerOf(m)}
			if !c.server {
				return nil, c.refuse(ctx, err)
			}
			return nil, err
		case m.Vendor != VendorIETF:
			c.log.Debug("ignoring vendor specific PT-TLS message", "vendor", fmt.Sprintf("0x%06x", m.Vendor), "type", uint32(m.Type))
			continue
		case m.Type == TypePBBatch:
			return m.Value, nil
		case m.Type == TypeError:
			pe := parsePeerError(m.Value)
			c.log.Error("received PT-TLS error", "error", pe)
			return nil, pe
		default:
			_ = c.SendError(ctx, ErrInvalidMessage, headerOf(m))
			return nil, &Error{Code: ErrInvalidMessage, Reason: fmt.Sprintf("unexpected %s message in the data phase", m.Type)}
		}
	}
}

func headerOf(m *Message) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(0)
	b.AddUint24(m.Vendor)
	b.AddUint32(uint32(m.Type))
	b.AddUint32(uint32(HeaderLen + len(m.Value)))
	b.AddUint32(m.ID)
	return b.BytesOrPanic()
}
