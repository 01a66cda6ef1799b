package tests

// Helpers of the hostile-peer suite: a scripted peer that speaks raw PT-TLS
// and PB-TNC bytes over real TLS on loopback, and a goroutine leak check.

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

// hostileConn is one TLS connection of a scripted peer. It writes whatever
// the script asks, byte for byte, and keeps every PB-TNC batch it reads
// from the other side (parsed for the receiver role rcv).
type hostileConn struct {
	*tls.Conn
	rcv  pb.Side
	id   uint32
	got  []*pb.Batch    // PB-TNC batches received (parsed)
	errs []*pttls.Error // PT-TLS Error messages received
}

// frameBytes encodes one PT-TLS message (IETF vendor) with a 16-byte
// header; the length field counts the header.
func frameBytes(typ pttls.MsgType, id uint32, value []byte) []byte {
	out := make([]byte, 16, 16+len(value))
	binary.BigEndian.PutUint32(out[4:], uint32(typ))
	binary.BigEndian.PutUint32(out[8:], uint32(16+len(value)))
	binary.BigEndian.PutUint32(out[12:], id)
	return append(out, value...)
}

// send writes one PT-TLS message.
func (c *hostileConn) send(typ pttls.MsgType, value []byte) error {
	c.id++
	_, err := c.Write(frameBytes(typ, c.id, value))
	return err
}

// sendRaw writes raw bytes (a truncated or lying frame).
func (c *hostileConn) sendRaw(b []byte) error {
	_, err := c.Write(b)
	return err
}

// recv reads one PT-TLS message (at most 1 MiB); PB-TNC batches and PT-TLS
// errors are recorded.
func (c *hostileConn) recv() (pttls.MsgType, []byte, error) {
	var hdr [16]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[8:])
	if n < 16 || n > 1<<20 {
		return 0, nil, fmt.Errorf("hostile peer: frame length %d", n)
	}
	v := make([]byte, n-16)
	if _, err := io.ReadFull(c, v); err != nil {
		return 0, nil, err
	}
	typ := pttls.MsgType(binary.BigEndian.Uint32(hdr[4:]))
	switch {
	case binary.BigEndian.Uint32(hdr[:4]) != 0:
	case typ == pttls.TypePBBatch:
		if b, err := pb.ParseBatch(v, pb.ParseOptions{Receiver: c.rcv}); err == nil {
			c.got = append(c.got, b)
		} else {
			return typ, v, fmt.Errorf("hostile peer: the other side sent an invalid batch: %v (%x)", err, v)
		}
	case typ == pttls.TypeError && len(v) >= 8:
		c.errs = append(c.errs, &pttls.Error{Code: pttls.ErrorCode(binary.BigEndian.Uint32(v[4:8]))})
	}
	return typ, v, nil
}

// expect reads one message and checks its type.
func (c *hostileConn) expect(want pttls.MsgType) ([]byte, error) {
	typ, v, err := c.recv()
	if err != nil {
		return nil, err
	}
	if typ != want {
		return v, fmt.Errorf("hostile peer: got %s, want %s", typ, want)
	}
	return v, nil
}

// drain reads until the other side closes or sends a CLOSE batch (or the
// deadline set on the connection passes), recording what it sent.
func (c *hostileConn) drain() {
	for {
		if n := len(c.got); n > 0 && c.got[n-1].Type == pb.BatchCLOSE {
			return
		}
		if _, _, err := c.recv(); err != nil {
			return
		}
	}
}

// serverNegotiate plays the PDP side of version negotiation and sends the
// SASL mechanism list (empty: no client authentication).
func (c *hostileConn) serverNegotiate(mechs ...string) error {
	v, err := c.expect(pttls.TypeVersionRequest)
	if err != nil {
		return err
	}
	if !bytes.Equal(v, []byte{0, 1, 1, 1}) {
		return fmt.Errorf("hostile peer: version request %x", v)
	}
	if err := c.send(pttls.TypeVersionResponse, []byte{0, 0, 0, 1}); err != nil {
		return err
	}
	return c.send(pttls.TypeSASLMechanisms, mechList(mechs...))
}

// clientNegotiate plays the client side: version request, then SASL PLAIN
// when the server offers mechanisms, until the empty mechanism list.
func (c *hostileConn) clientNegotiate(user, pass string) error {
	if err := c.clientVersion(); err != nil {
		return err
	}
	for range 3 {
		v, err := c.expect(pttls.TypeSASLMechanisms)
		if err != nil {
			return err
		}
		if len(v) == 0 {
			return nil
		}
		if err := c.send(pttls.TypeSASLMechSelection, append(mechList("PLAIN"), "\x00"+user+"\x00"+pass...)); err != nil {
			return err
		}
		r, err := c.expect(pttls.TypeSASLResult)
		if err != nil {
			return err
		}
		if len(r) == 0 || r[len(r)-1] != 0 {
			return fmt.Errorf("hostile peer: SASL result %x", r)
		}
	}
	return errors.New("hostile peer: too many SASL rounds")
}

// clientVersion plays the client's PT-TLS version exchange (version 1).
func (c *hostileConn) clientVersion() error {
	if err := c.send(pttls.TypeVersionRequest, []byte{0, 1, 1, 1}); err != nil {
		return err
	}
	_, err := c.expect(pttls.TypeVersionResponse)
	return err
}

// clientToMechanisms plays the client up to the server's SASL mechanism list.
func (c *hostileConn) clientToMechanisms() error {
	if err := c.clientVersion(); err != nil {
		return err
	}
	_, err := c.expect(pttls.TypeSASLMechanisms)
	return err
}

// mechList encodes a SASL mechanism list (length-prefixed names).
func mechList(mechs ...string) []byte {
	var out []byte
	for _, m := range mechs {
		out = append(append(out, byte(len(m))), m...)
	}
	return out
}

// batchBytes encodes a batch with the pb encoder.
func batchBytes(t testing.TB, fromServer bool, bt pb.BatchType, msgs ...pb.Message) []byte {
	t.Helper()
	b, err := (&pb.Batch{Type: bt, FromServer: fromServer, Messages: msgs}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawMsg encodes one PB-TNC message header and value by hand, so that any
// flag, vendor, type and length can be sent (length: 0 means the true one).
func rawMsg(noskip bool, vendor, typ uint32, length uint32, value []byte) []byte {
	out := make([]byte, 12, 12+len(value))
	if noskip {
		out[0] = 0x80
	}
	out[1], out[2], out[3] = byte(vendor>>16), byte(vendor>>8), byte(vendor)
	binary.BigEndian.PutUint32(out[4:], typ)
	if length == 0 {
		length = uint32(12 + len(value))
	}
	binary.BigEndian.PutUint32(out[8:], length)
	return append(out, value...)
}

// rawBatch puts a batch header before msgs: version, D bit, type and a
// length (0 means the true one).
func rawBatch(version byte, fromServer bool, bt pb.BatchType, length uint32, msgs ...[]byte) []byte {
	body := bytes.Join(msgs, nil)
	if length == 0 {
		length = uint32(8 + len(body))
	}
	var flags byte
	if fromServer {
		flags = 0x80
	}
	out := []byte{version, flags, 0, byte(bt), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[4:], length)
	return append(out, body...)
}

// lastClose returns the PB-Error of the last batch received, which must be
// a CLOSE carrying a fatal IETF PB-Error (nil otherwise, with a reason).
func (c *hostileConn) lastClose() (*pb.MsgError, string) {
	if len(c.got) == 0 {
		return nil, "no batch received"
	}
	b := c.got[len(c.got)-1]
	if b.Type != pb.BatchCLOSE {
		return nil, fmt.Sprintf("last batch is %s, not CLOSE", b.Type)
	}
	for _, m := range b.Messages {
		if e, ok := m.(*pb.MsgError); ok {
			if !e.Fatal {
				return nil, "PB-Error is not fatal"
			}
			return e, ""
		}
	}
	return nil, "CLOSE without PB-Error"
}

// goroutineCheck remembers the goroutine count; check waits (a settle loop)
// until the count is back at most at that level, and fails with the stacks
// of the goroutines that run project or TLS code if it is not after a
// generous bound (a leak, not a slow exit).
type goroutineCheck struct{ before int }

func startGoroutineCheck() goroutineCheck { return goroutineCheck{runtime.NumGoroutine()} }

func (g goroutineCheck) check(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > g.before {
		if time.Now().After(deadline) {
			left := imchostGoroutines("imchost/", "crypto/tls", "net.(*", "internal/poll")
			t.Fatalf("goroutine leak: %d before, %d after; project/network goroutines:\n%s",
				g.before, runtime.NumGoroutine(), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loopback listens on 127.0.0.1 with a free port.
func loopback(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
