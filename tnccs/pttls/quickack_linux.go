//go:build linux

package pttls

import (
	"net"
	"syscall"
)

// quickAck wraps a TCP connection so that every read first puts the socket
// in quick-ACK mode (TCP_QUICKACK, tcp(7)): the data that arrives is ACKed
// at once instead of up to ~40 ms later. A PDP that writes two small PT-TLS
// messages back to back with Nagle's algorithm on (strongSwan's: the
// Version Response then the SASL Mechanisms, the SASL Result then the
// final empty SASL Mechanisms) holds the second until the first is ACKed,
// and a client whose ACK is delayed waits twice for nothing. Linux leaves
// quick-ACK mode on its own, so it is set again before each read (one
// setsockopt, well under a microsecond, against a ~40 ms stall).
func quickAck(nc net.Conn) net.Conn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	return &quickAckConn{TCPConn: tc, rc: rc}
}

type quickAckConn struct {
	*net.TCPConn
	rc syscall.RawConn
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	_ = c.rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(p)
}
