package tnccs

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/tnccs/pb"
)

func unhexProxy(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadProxyHeaderGolden: the headers of HAProxy's PROXY protocol
// specification (version 1 lines, version 2 bytes written out by hand),
// each followed by a TLS record header that must stay unread.
func TestReadProxyHeaderGolden(t *testing.T) {
	const after = "\x16\x03\x01"
	ap := netip.MustParseAddrPort
	for _, tc := range []struct {
		name string
		in   []byte
		want ProxyHeader
	}{
		{"v1 TCP4", []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
			ProxyHeader{Version: 1, Source: ap("192.168.0.1:56324"), Dest: ap("192.168.0.11:443")}},
		{"v1 TCP6 longest", []byte("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
			ProxyHeader{Version: 1, Source: ap("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"), Dest: ap("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")}},
		{"v1 UNKNOWN", []byte("PROXY UNKNOWN\r\n"), ProxyHeader{Version: 1, Local: true}},
		{"v1 UNKNOWN with addresses", []byte("PROXY UNKNOWN ffff:: ffff:: 1 2\r\n"), ProxyHeader{Version: 1, Local: true}},
		{"v2 TCP over IPv4", unhexProxy(t, "0d0a0d0a000d0a515549540a 21 11 000c c0000201 c6336405 d431 010f"),
			ProxyHeader{Version: 2, Source: ap("192.0.2.1:54321"), Dest: ap("198.51.100.5:271")}},
		{"v2 TCP over IPv6 with a TLV", unhexProxy(t, "0d0a0d0a000d0a515549540a 21 21 0028"+
			"20010db8000000000000000000000007 20010db8000000000000000000000001 1000 010f 04 0001 00"),
			ProxyHeader{Version: 2, Source: ap("[2001:db8::7]:4096"), Dest: ap("[2001:db8::1]:271")}},
		{"v2 LOCAL", unhexProxy(t, "0d0a0d0a000d0a515549540a 20 00 0000"), ProxyHeader{Version: 2, Local: true}},
		{"v2 PROXY with UNSPEC family", unhexProxy(t, "0d0a0d0a000d0a515549540a 21 00 0003 010203"), ProxyHeader{Version: 2, Local: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(append(append([]byte{}, tc.in...), after...))
			got, err := ReadProxyHeader(r)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if rest, _ := io.ReadAll(r); string(rest) != after {
				t.Errorf("left %q after the header, want %q", rest, after)
			}
			if tc.want.Version == 2 && !tc.want.Local && len(tc.in) == 28 {
				if enc := AppendProxyV2(nil, tc.want.Source, tc.want.Dest); !bytes.Equal(enc, tc.in) {
					t.Errorf("AppendProxyV2 = %x, want %x", enc, tc.in)
				}
			}
		})
	}
	if enc := AppendProxyV2(nil, netip.AddrPort{}, netip.AddrPort{}); !bytes.Equal(enc, unhexProxy(t, "0d0a0d0a000d0a515549540a 20 00 0000")) {
		t.Errorf("AppendProxyV2 LOCAL = %x", enc)
	}
}

// TestReadProxyHeaderMalformed: every malformed header is a *ProxyError
// (or io.ErrUnexpectedEOF when cut short), never a panic or a guess.
func TestReadProxyHeaderMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"TLS instead", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc"), "no PROXY protocol signature"},
		{"v1 without CRLF", []byte("PROXY TCP4 " + strings.Repeat("1", 120)), "longer than 107"},
		{"v1 port with a leading zero", []byte("PROXY TCP4 192.0.2.1 192.0.2.2 0443 271\r\n"), "bad port"},
		{"v1 port too large", []byte("PROXY TCP4 192.0.2.1 192.0.2.2 65536 271\r\n"), "bad port"},
		{"v1 IPv6 in TCP4", []byte("PROXY TCP4 ::1 192.0.2.2 1 271\r\n"), "bad address"},
		{"v1 zone", []byte("PROXY TCP6 fe80::1%eth0 fe80::2 1 271\r\n"), "bad address"},
		{"v1 UDP", []byte("PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n"), "unknown protocol"},
		{"v1 too few fields", []byte("PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n"), "4 fields"},
		{"v1 cut short", []byte("PROXY TCP4 192.0.2.1"), io.ErrUnexpectedEOF.Error()},
		{"v2 bad signature tail", unhexProxy(t, "0d0a0d0a000d0a515549540b 21 11 000c"), "bad version 2 signature"},
		{"v2 version 1", unhexProxy(t, "0d0a0d0a000d0a515549540a 11 11 000c"), "version 1, want 2"},
		{"v2 command 2", unhexProxy(t, "0d0a0d0a000d0a515549540a 22 11 000c"), "unknown command 2"},
		{"v2 huge length", unhexProxy(t, "0d0a0d0a000d0a515549540a 21 11 ffff"), "at most"},
		{"v2 AF_UNIX", unhexProxy(t, "0d0a0d0a000d0a515549540a 21 31 0000"), "address family 3"},
		{"v2 UDP", unhexProxy(t, "0d0a0d0a000d0a515549540a 21 12 000c c0000201 c6336405 d431 010f"), "transport protocol 2"},
		{"v2 addresses cut", unhexProxy(t, "0d0a0d0a000d0a515549540a 21 21 000c c0000201 c6336405 d431 010f"), "cannot hold two addresses"},
		{"v2 length beyond the stream", unhexProxy(t, "0d0a0d0a000d0a515549540a 21 11 000c c000"), io.ErrUnexpectedEOF.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadProxyHeader(bytes.NewReader(tc.in))
			var pe *ProxyError
			if err == nil || (!errors.As(err, &pe) && !errors.Is(err, io.ErrUnexpectedEOF)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v (%T), want one saying %q", err, err, tc.want)
			}
		})
	}
}

func FuzzReadProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(AppendProxyV2(nil, netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.2:2")))
	f.Add(AppendProxyV2(nil, netip.MustParseAddrPort("[2001:db8::1]:1"), netip.MustParseAddrPort("[2001:db8::2]:2")))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		h, err := ReadProxyHeader(r)
		if err != nil {
			var pe *ProxyError
			if !errors.As(err, &pe) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		used := len(data) - r.Len()
		if h.Version == 1 && (used > proxyV1Max || !bytes.HasSuffix(data[:used], []byte("\r\n"))) {
			t.Fatalf("v1 header of %d bytes", used)
		}
		if !h.Local && (!h.Source.IsValid() || !h.Dest.IsValid()) {
			t.Fatalf("non-local header without addresses: %+v", h)
		}
		if h.Version == 2 && !h.Local && h.Source.Addr().Is4() == h.Dest.Addr().Is4() {
			// The addresses re-encode to the same bytes (TLVs aside).
			enc := AppendProxyV2(nil, h.Source, h.Dest)
			if !bytes.Equal(enc[16:], data[16:len(enc)]) {
				t.Fatalf("re-encoded %x from %x", enc, data[:used])
			}
		}
	})
}

// balancer is a TCP load balancer on loopback that writes a PROXY header
// (v2) naming each client as the source it is told, then relays.
func balancer(t *testing.T, backend string, sources <-chan netip.AddrPort) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				if _, err := b.Write(AppendProxyV2(nil, <-sources, netip.MustParseAddrPort(backend))); err != nil {
					return
				}
				go io.Copy(b, c)
				io.Copy(c, b)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestServeProxyProtocol: behind a balancer in ProxyFrom, the server sees
// the clients the PROXY headers name — in the result and in per-source
// admission (one connection per source here: a second from the same
// endpoint is refused, another endpoint is served); a client that skips
// the balancer and a balancer connection that never sends its header are
// refused, the latter within HandshakeTimeout.
func TestServeProxyProtocol(t *testing.T) {
	imvs := &testIMVs{ev: &events{}, decision: Decision{Result: pb.ResultCompliant, Recommendation: pb.RecommendationAllowed}}
	scfg := serverConfig(t, imvs)
	scfg.MaxConnsPerSource = 1
	scfg.HandshakeTimeout = 500 * time.Millisecond
	scfg.ProxyFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	log, logs := testLogger("pdp", hclog.Info)
	scfg.Logger = log
	results := make(chan *Result, 4)
	scfg.OnResult = func(r *Result, err error) {
		if err == nil {
			results <- r
		}
	}
	addr, srv, _ := startServer(t, scfg)
	sources := make(chan netip.AddrPort, 4)
	lb := balancer(t, addr, sources)

	// Endpoint A holds a connection (its header sent, then silence).
	held, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := held.Write(AppendProxyV2(nil, netip.MustParseAddrPort("192.0.2.10:1111"), netip.MustParseAddrPort(addr))); err != nil {
		t.Fatal(err)
	}
	// The server reads the header in the connection's goroutine: wait until
	// admission counts endpoint A before its second connection comes.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		srv.mu.Lock()
		adm := srv.adm
		srv.mu.Unlock()
		if adm != nil {
			adm.mu.Lock()
			n := adm.sources["192.0.2.10"]
			adm.mu.Unlock()
			if n == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server never admitted endpoint A's first connection")
		}
	}
	waitLog := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), want); {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the server log:\n%s", want, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// A second connection of A is refused; B is served and seen as B.
	sources <- netip.MustParseAddrPort("192.0.2.10:2222")
	if _, err := Dial(context.Background(), clientConfig(t, lb), &testIMCs{ev: &events{}}); err == nil {
		t.Error("a second connection of endpoint A was served despite MaxConnsPerSource 1")
	}
	waitLog(`connection refused: too many from its address: remote=192.0.2.10:2222`)
	sources <- netip.MustParseAddrPort("192.0.2.20:3333")
	if _, err := Dial(context.Background(), clientConfig(t, lb), &testIMCs{ev: &events{}}); err != nil {
		t.Fatalf("endpoint B through the balancer: %v", err)
	}
	if r := <-results; r.Peer.RemoteAddr != "192.0.2.20:3333" {
		t.Errorf("result's peer %q, want the endpoint the header names", r.Peer.RemoteAddr)
	}

	// Straight to the server from a balancer address: no header, refused.
	if _, err := Dial(context.Background(), clientConfig(t, addr), &testIMCs{ev: &events{}}); err == nil {
		t.Error("a client skipping the balancer was served")
	}
	waitLog("no PROXY protocol signature")

	// The held connection never sent TLS: closed by the handshake deadline;
	// a balancer connection that sends nothing at all likewise.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	for _, c := range []net.Conn{held, silent} {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			t.Errorf("connection not closed by the server: %v", err)
		}
	}
	waitLog("no PROXY protocol header within 500ms")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
