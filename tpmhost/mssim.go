package tpmhost

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// The Microsoft/TCG reference simulator's socket protocol (TpmTcpProtocol.h
// of the reference implementation; IBM's tpm_server speaks it too). The
// command port (default 2321) carries framed commands, the platform port
// (command port + 1) power and NV signals.
const (
	msSendCommand = 8  // TPM_SEND_COMMAND: u32 8 | u8 locality | u32 len | command
	msSessionEnd  = 20 // TPM_SESSION_END
	msPowerOn     = 1  // TPM_SIGNAL_POWER_ON (platform port)
	msNVOn        = 11 // TPM_SIGNAL_NV_ON (platform port)
)

// msSim is a TPM reached through the reference simulator protocol. Responses
// are read in full: u32 length, the response, then a u32 acknowledgement.
//
// go-tpm (v0.9.8) has the same protocol in tpm2/transport/tcp (command and
// platform ports, POWER_ON + NV_ON, locality 0), but it is not used: it
// reads a response with one Read, so a response arriving in two TCP
// segments fails ("could not read full TPM response: only got 22 out of 44
// bytes" against serveMSSim); it has no deadline or cancellation (a hung
// simulator hangs the caller; TestMSSimFrozen); it ignores the value of the
// acknowledgement; and a broken command connection cannot be re-dialled
// without powering the TPM on again. Its connections are unexported, so a
// wrapper cannot fix any of this.
type msSim struct {
	addr string     // the command port
	mu   sync.Mutex // one command at a time
	sock socket
}

// openMSSim connects to the command port of addr, first sending power-on and
// NV-on to the platform port (port+1), as tpm2-tss's mssim TCTI does. The
// TPM still needs TPM2_Startup (tpm2_startup -c) after the simulator starts.
func openMSSim(addr string) (*msSim, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65534 {
		return nil, fmt.Errorf("bad port %q", port)
	}
	plat, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(p+1)), 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("platform port: %w", err)
	}
	_ = plat.SetDeadline(time.Now().Add(30 * time.Second))
	for _, sig := range []uint32{msPowerOn, msNVOn} {
		if err := msWrite(plat, sig); err != nil {
			plat.Close()
			return nil, fmt.Errorf("platform signal %d: %w", sig, err)
		}
		if err := msAck(plat); err != nil {
			plat.Close()
			return nil, fmt.Errorf("platform signal %d: %w", sig, err)
		}
	}
	_ = msWrite(plat, msSessionEnd)
	plat.Close()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("command port: %w", err)
	}
	m := &msSim{addr: addr}
	m.sock.conn = conn
	return m, nil
}

func msWrite(w io.Writer, vals ...uint32) error {
	var b []byte
	for _, v := range vals {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	_, err := w.Write(b)
	return err
}

func msAck(r io.Reader) error {
	var ack [4]byte
	if _, err := io.ReadFull(r, ack[:]); err != nil {
		return err
	}
	if v := binary.BigEndian.Uint32(ack[:]); v != 0 {
		return fmt.Errorf("simulator answered %d", v)
	}
	return nil
}

// Send implements transport.TPM.
func (m *msSim) Send(cmd []byte) ([]byte, error) {
	return m.sendDeadline(context.Background(), time.Now().Add(DefaultCommandTimeout), cmd)
}

// sendDeadline sends one command; after a failure the next command
// connects to the command port again (the simulator keeps its power state).
func (m *msSim) sendDeadline(ctx context.Context, deadline time.Time, cmd []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sock.roundTrip(ctx, deadline, func(ctx context.Context) (net.Conn, error) {
		d := net.Dialer{Deadline: deadline}
		return d.DialContext(ctx, "tcp", m.addr)
	}, func(conn net.Conn) ([]byte, error) { return msRoundTrip(conn, cmd) })
}

func msRoundTrip(conn net.Conn, cmd []byte) ([]byte, error) {
	msg := binary.BigEndian.AppendUint32(nil, msSendCommand)
	msg = append(msg, 0) // locality 0
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(cmd)))
	msg = append(msg, cmd...)
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	var n [4]byte
	if _, err := io.ReadFull(conn, n[:]); err != nil {
		return nil, fmt.Errorf("reading response length: %w", err)
	}
	size := binary.BigEndian.Uint32(n[:])
	if size < 10 || size > maxResponse {
		return nil, fmt.Errorf("response size %d out of range", size)
	}
	rsp := make([]byte, size)
	if _, err := io.ReadFull(conn, rsp); err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if err := msAck(conn); err != nil {
		return nil, fmt.Errorf("reading acknowledgement: %w", err)
	}
	return rsp, nil
}

// Close implements io.Closer: TPM_SESSION_END when the connection is idle,
// then close (at once, interrupting a command in flight).
func (m *msSim) Close() error {
	if m.mu.TryLock() {
		m.sock.mu.Lock()
		if c := m.sock.conn; c != nil {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_ = msWrite(c, msSessionEnd)
		}
		m.sock.mu.Unlock()
		m.mu.Unlock()
	}
	return m.sock.close(nil)
}
