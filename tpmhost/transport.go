package tpmhost

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
)

// deadHold is how long a TPM counted dead fails every command at once
// before one command may try it again (and a socket connect again).
const deadHold = 30 * time.Second

// hintNoAnswer is the Hint of every error of a TPM that does not answer.
const hintNoAnswer = "the TPM stopped answering; check that it (or swtpm) still runs; the reference simulator (tpm_server) needs mssim:HOST:PORT instead of tcp:"

// device is the connection shared by a TPM and its views (WithContext).
//
// A command is bounded by its view's deadline. Sockets (swtpm, mssim) take
// the deadline themselves (deadlineSender): the connection is closed at the
// deadline and made again for a later command. Other transports — the
// kernel's /dev/tpmrm0, whose read(2) no deadline interrupts, or an
// in-process simulator — get the command in a goroutine that is abandoned
// at the deadline: the device stays busy (every command fails at once)
// until that goroutine has its answer, so nothing else is ever sent
// while a command is in flight.
type device struct {
	tr         transport.TPM
	closer     io.Closer     // tr's Close, or nil
	lock       chan struct{} // one command sequence at a time (TPM.lock)
	retryDelay time.Duration // first pause before a retried command; 0: 10 ms

	mu     sync.Mutex
	dead   error // why the TPM is counted dead; nil while it answers
	deadAt time.Time
	busy   bool // an abandoned command is still in flight
	closed bool
}

// deadlineSender is a transport that bounds one command by a deadline and
// ends it when ctx is canceled.
type deadlineSender interface {
	sendDeadline(ctx context.Context, deadline time.Time, cmd []byte) ([]byte, error)
}

// command is the transport.TPM a TPM's methods execute on: every command
// through device.send under the view's context.
type command struct{ t *TPM }

// Send implements transport.TPM.
func (c command) Send(cmd []byte) ([]byte, error) { return c.t.d.send(c.t.context(), cmd) }

// send sends cmd and returns the response, resending a command the TPM
// answered with RETRY, YIELDED or TESTING at most maxRetries times.
func (d *device) send(ctx context.Context, cmd []byte) ([]byte, error) {
	delay := d.retryDelay
	if delay == 0 {
		delay = 10 * time.Millisecond
	}
	for i := 0; ; i++ {
		rsp, err := d.roundTrip(ctx, cmd)
		if err != nil {
			return nil, err
		}
		if len(rsp) < 10 || i >= maxRetries {
			return rsp, nil
		}
		switch binary.BigEndian.Uint32(rsp[6:10]) {
		case 0x922, 0x908, 0x90A: // TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, canceled(ctx)
			}
			delay *= 2
			continue
		}
		return rsp, nil
	}
}

// check fails (with a *TPMError) when the TPM is closed, counted dead or
// busy with an abandoned command.
func (d *device) check() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return &TPMError{Kind: ErrTransport, Err: errors.New("the TPM was closed")}
	case d.busy:
		return &TPMError{Kind: ErrTransport, Hint: hintNoAnswer,
			Err: fmt.Errorf("not answering since %s: %v; a command is still in flight", d.deadAt.Format(time.TimeOnly), d.dead)}
	case d.dead != nil && time.Since(d.deadAt) < deadHold:
		return &TPMError{Kind: ErrTransport, Hint: hintNoAnswer,
			Err: fmt.Errorf("not answering since %s: %v", d.deadAt.Format(time.TimeOnly), d.dead)}
	}
	return nil
}

// roundTrip sends one command under ctx.
func (d *device) roundTrip(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, canceled(ctx)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultCommandTimeout)
	}
	within := time.Until(deadline).Round(10 * time.Millisecond)
	if ds, ok := d.tr.(deadlineSender); ok {
		rsp, err := ds.sendDeadline(ctx, deadline, cmd)
		if err == nil {
			d.alive()
			return rsp, nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, canceled(ctx)
			}
			err = fmt.Errorf("no answer within %s", within)
		}
		return nil, d.failed(err)
	}
	type result struct {
		rsp []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		rsp, err := d.tr.Send(cmd)
		done <- result{rsp, err}
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var err error
	select {
	case r := <-done:
		if r.err != nil {
			return nil, d.failed(r.err)
		}
		d.alive()
		return r.rsp, nil
	case <-timer.C:
		err = d.failed(fmt.Errorf("no answer within %s", within))
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = d.failed(fmt.Errorf("no answer within %s", within))
		} else {
			err = canceled(ctx)
		}
	}
	// Abandoned: nothing is sent until the answer arrives.
	d.mu.Lock()
	d.busy = true
	if d.dead == nil {
		d.dead, d.deadAt = errors.New("a command was abandoned"), time.Now()
	}
	d.mu.Unlock()
	go func() {
		<-done
		d.mu.Lock()
		d.busy = false
		d.mu.Unlock()
	}()
	return nil, err
}

// failed counts the TPM dead for why and returns the error of the command.
func (d *device) failed(why error) error {
	d.mu.Lock()
	d.dead, d.deadAt = why, time.Now()
	d.mu.Unlock()
	return &TPMError{Kind: ErrTransport, Err: why, Hint: hintNoAnswer}
}

func (d *device) alive() {
	d.mu.Lock()
	d.dead = nil
	d.mu.Unlock()
}

// canceled is the error of a command given up because ctx was canceled:
// not the TPM's fault, so the TPM is not counted dead for it.
func canceled(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &TPMError{Kind: ErrTransport, Err: errors.New("no time left before the deadline"), Hint: hintNoAnswer}
	}
	return &TPMError{Err: fmt.Errorf("canceled: %w", ctx.Err())}
}

func (d *device) close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	if d.closer == nil {
		return nil
	}
	return d.closer.Close()
}

// rawTCP is a TPM reached through a TCP socket that carries plain TPM 2.0
// command and response buffers (swtpm's server socket). Unlike go-tpm's tcp
// transport it reads each response in full: header first, then the size the
// header names.
type rawTCP struct {
	addr string
	mu   sync.Mutex // one command at a time
	sock socket
}

// Send implements transport.TPM.
func (c *rawTCP) Send(cmd []byte) ([]byte, error) {
	return c.sendDeadline(context.Background(), time.Now().Add(DefaultCommandTimeout), cmd)
}

func (c *rawTCP) sendDeadline(ctx context.Context, deadline time.Time, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sock.roundTrip(ctx, deadline, func(ctx context.Context) (net.Conn, error) {
		d := net.Dialer{Deadline: deadline}
		return d.DialContext(ctx, "tcp", c.addr)
	}, func(conn net.Conn) ([]byte, error) { return rawRoundTrip(conn, cmd) })
}

func rawRoundTrip(conn net.Conn, cmd []byte) ([]byte, error) {
	if _, err := conn.Write(cmd); err != nil {
		return nil, err
	}
	var hdr [10]byte // tag u16, responseSize u32, responseCode u32
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading response header: %w", err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < 10 || size > maxResponse {
		return nil, fmt.Errorf("response size %d out of range", size)
	}
	rsp := make([]byte, size)
	copy(rsp, hdr[:])
	if _, err := io.ReadFull(conn, rsp[10:]); err != nil {
		return nil, fmt.Errorf("reading response body: %w", err)
	}
	return rsp, nil
}

// Close implements io.Closer; it interrupts a command in flight.
func (c *rawTCP) Close() error { return c.sock.close(nil) }

// socket is the connection of a socket transport: made again after a
// failure (the stream is out of step then), closed at once by close even
// while a command waits on it.
type socket struct {
	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

// roundTrip runs rt on the connection (dialing one if there is none) under
// deadline and ctx; a failure drops the connection.
func (s *socket) roundTrip(ctx context.Context, deadline time.Time, dial func(context.Context) (net.Conn, error), rt func(net.Conn) ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	conn, closed := s.conn, s.closed
	s.mu.Unlock()
	if closed {
		return nil, errors.New("connection closed")
	}
	if conn == nil {
		c, err := dial(ctx)
		if err != nil {
			return nil, fmt.Errorf("connecting again: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil, errors.New("connection closed")
		}
		s.conn, conn = c, c
		s.mu.Unlock()
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	rsp, err := rt(conn)
	stop()
	if err != nil {
		// The stream is out of step now: drop the connection so that no
		// later command reads this one's answer.
		s.close(conn)
	}
	return rsp, err
}

// close closes conn if it is still the connection (any connection for
// nil, then for good).
func (s *socket) close(conn net.Conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if conn == nil {
		s.closed = true
	} else if conn != s.conn {
		return nil
	}
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
