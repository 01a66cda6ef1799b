package tnccs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The PROXY protocol (HAProxy's "PROXY protocol" specification, versions 1
// and 2) lets a TCP load balancer in front of PDP replicas pass on the
// address of the client it accepted: it writes one header before the
// client's first byte. Serve reads it from connections of the addresses in
// ServerConfig.ProxyFrom, so that per-source admission, logs and results
// see endpoints rather than the balancer.

// proxyV2Sig is the 12-byte signature that starts a version 2 header.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// Bounds of the specification: a version 1 line is at most 107 bytes
// ("PROXY UNKNOWN" and CRLF included); a version 2 header carries at most
// 216 bytes of addresses and TLVs that we read (a larger one is refused).
const (
	proxyV1Max      = 107
	proxyV2MaxExtra = 216 + 1024 // addresses + TLVs a balancer may add
)

// ProxyHeader is what a PROXY protocol header says.
type ProxyHeader struct {
	// Version is 1 or 2.
	Version int
	// Local is true for a header that carries no client address (v1
	// "UNKNOWN", v2 LOCAL command or an unspecified family): the balancer's
	// own connection, e.g. a health check.
	Local bool
	// Source and Dest are the client's address and the address it
	// connected to (zero when Local).
	Source, Dest netip.AddrPort
}

// ProxyError is a malformed or refused PROXY protocol header.
type ProxyError struct {
	Offset int    // where in the header the problem is
	Msg    string // what is wrong
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("PROXY protocol header: %s (offset %d)", e.Msg, e.Offset)
}

func proxyErr(off int, format string, a ...any) error {
	return &ProxyError{Offset: off, Msg: fmt.Sprintf(format, a...)}
}

// ReadProxyHeader reads one PROXY protocol header (version 1 or 2) from r
// and not a byte more: what follows is the client's own stream (here the
// TLS ClientHello). A connection that does not start with a header, or one
// that is malformed, gets a *ProxyError; a short stream io.ErrUnexpectedEOF.
func ReadProxyHeader(r io.Reader) (ProxyHeader, error) {
	var first [12]byte
	if _, err := io.ReadFull(r, first[:6]); err != nil {
		return ProxyHeader{}, eofErr(err)
	}
	if string(first[:6]) == "PROXY " {
		return readProxyV1(r)
	}
	if !bytes.Equal(first[:6], proxyV2Sig[:6]) {
		return ProxyHeader{}, proxyErr(0, "no PROXY protocol signature (a client connecting directly, not through the balancer?)")
	}
	if _, err := io.ReadFull(r, first[6:]); err != nil {
		return ProxyHeader{}, eofErr(err)
	}
	if !bytes.Equal(first[:], proxyV2Sig) {
		return ProxyHeader{}, proxyErr(6, "bad version 2 signature")
	}
	return readProxyV2(r)
}

func eofErr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readProxyV1 reads the rest of a text header after "PROXY ", a byte at a
// time up to CRLF (at most proxyV1Max bytes in all).
func readProxyV1(r io.Reader) (ProxyHeader, error) {
	line := make([]byte, 0, proxyV1Max-6)
	var b [1]byte
	for {
		if len(line) == proxyV1Max-6 {
			return ProxyHeader{}, proxyErr(proxyV1Max, "version 1 line longer than %d bytes", proxyV1Max)
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return ProxyHeader{}, eofErr(err)
		}
		line = append(line, b[0])
		if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
			break
		}
	}
	f := strings.Split(string(line[:len(line)-2]), " ")
	h := ProxyHeader{Version: 1}
	switch f[0] {
	case "UNKNOWN":
		h.Local = true // the rest of the line is to be ignored
		return h, nil
	case "TCP4", "TCP6":
	default:
		return h, proxyErr(6, "unknown protocol %q", f[0])
	}
	if len(f) != 5 {
		return h, proxyErr(6, "version 1 line has %d fields, want 5", len(f))
	}
	src, err := v1AddrPort(f[1], f[3], f[0] == "TCP4")
	if err != nil {
		return h, proxyErr(6+len(f[0])+1, "source: %v", err)
	}
	dst, err := v1AddrPort(f[2], f[4], f[0] == "TCP4")
	if err != nil {
		return h, proxyErr(6+len(f[0])+1+len(f[1])+1, "destination: %v", err)
	}
	h.Source, h.Dest = src, dst
	return h, nil
}

func v1AddrPort(addr, port string, v4 bool) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" || a.Is4() != v4 {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", addr)
	}
	// The port is a decimal number without leading zeros (or "0").
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (len(port) > 1 && port[0] == '0') {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// readProxyV2 reads the rest of a binary header after its signature:
// version/command, family/protocol, length, then that many bytes.
func readProxyV2(r io.Reader) (ProxyHeader, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return ProxyHeader{}, eofErr(err)
	}
	h := ProxyHeader{Version: 2}
	if v := hdr[0] >> 4; v != 2 {
		return h, proxyErr(12, "version %d, want 2", v)
	}
	cmd := hdr[0] & 0x0f
	if cmd > 1 {
		return h, proxyErr(12, "unknown command %d", cmd)
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	if n > proxyV2MaxExtra {
		return h, proxyErr(14, "%d bytes of addresses and TLVs, at most %d", n, proxyV2MaxExtra)
	}
	rest := make([]byte, n)
	if _, err := io.ReadFull(r, rest); err != nil {
		return h, eofErr(err)
	}
	fam, proto := hdr[1]>>4, hdr[1]&0x0f
	if cmd == 0 || fam == 0 { // LOCAL, or UNSPEC: the balancer's own connection
		h.Local = true
		return h, nil
	}
	if proto != 1 { // STREAM; DGRAM (2) and UNSPEC carry no TCP client
		return h, proxyErr(13, "transport protocol %d, want STREAM (1)", proto)
	}
	var alen int
	switch fam {
	case 1: // AF_INET
		alen = 4
	case 2: // AF_INET6
		alen = 16
	default: // AF_UNIX and reserved values carry no IP address
		return h, proxyErr(13, "address family %d, want INET (1) or INET6 (2)", fam)
	}
	if n < 2*alen+4 {
		return h, proxyErr(16, "%d bytes cannot hold two addresses of family %d and ports", n, fam)
	}
	src, _ := netip.AddrFromSlice(rest[:alen])
	dst, _ := netip.AddrFromSlice(rest[alen : 2*alen])
	h.Source = netip.AddrPortFrom(src, binary.BigEndian.Uint16(rest[2*alen:]))
	h.Dest = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(rest[2*alen+2:]))
	return h, nil // TLVs after the addresses are not needed here
}

// AppendProxyV2 appends a version 2 PROXY header for a TCP connection from
// src to dst (both IPv4 or both IPv6; the zero AddrPort for LOCAL): what a
// balancer writes, for tests and load generators.
func AppendProxyV2(b []byte, src, dst netip.AddrPort) []byte {
	b = append(b, proxyV2Sig...)
	if !src.IsValid() {
		return append(b, 0x20, 0x00, 0, 0)
	}
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	fam := byte(0x11)
	if s.Is6() {
		fam = 0x21
	}
	b = append(b, 0x21, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(2*s.BitLen()/8+4))
	b = append(b, s.AsSlice()...)
	b = append(b, d.AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

// proxiedConn is a connection whose peer is the client a balancer named.
type proxiedConn struct {
	net.Conn
	remote net.Addr
}

func (c *proxiedConn) RemoteAddr() net.Addr { return c.remote }

// fromProxy reports whether nc comes from an address of ProxyFrom.
func (s *Server) fromProxy(nc net.Conn) bool {
	if len(s.Config.ProxyFrom) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(nc.RemoteAddr().String())
	if err != nil {
		return false
	}
	for _, p := range s.Config.ProxyFrom {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

// unproxy reads the PROXY header of a balancer's connection within d and
// returns the connection as from the client it names (the balancer's own
// address for a LOCAL header).
func unproxy(nc net.Conn, d time.Duration) (net.Conn, error) {
	if err := nc.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, err
	}
	h, err := ReadProxyHeader(nc)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("no PROXY protocol header within %s", d)
		}
		return nil, err
	}
	if err := nc.SetReadDeadline(time.Time{}); err != nil {
		return nil, err
	}
	if h.Local {
		return nc, nil
	}
	return &proxiedConn{Conn: nc, remote: net.TCPAddrFromAddrPort(h.Source)}, nil
}
