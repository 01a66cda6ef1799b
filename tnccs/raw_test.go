package tnccs

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

func listen(t testing.TB) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, ln.Addr().String()
}

// dialRaw opens a plain TCP connection and sends nothing.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawServer accepts one TLS connection on loopback and hands it to h, a
// hand-written PT-TLS peer that misbehaves on purpose. It waits for h at
// the end of the test.
func rawServer(t *testing.T, h func(tc *tls.Conn)) string {
	t.Helper()
	ln, addr := listen(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer ln.Close()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		tc := tls.Server(nc, &tls.Config{Certificates: []tls.Certificate{getPKI(t).server}})
		defer tc.Close()
		_ = tc.SetDeadline(time.Now().Add(20 * time.Second))
		if tc.Handshake() != nil {
			return
		}
		h(tc)
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return addr
}

func frame(typ pttls.MsgType, id uint32, value []byte) []byte {
	out := make([]byte, 16, 16+len(value))
	binary.BigEndian.PutUint32(out[4:], uint32(typ))
	binary.BigEndian.PutUint32(out[8:], uint32(16+len(value)))
	binary.BigEndian.PutUint32(out[12:], id)
	return append(out, value...)
}

// readFrame reads one PT-TLS message; nil at EOF or error.
func readFrame(r io.Reader) (pttls.MsgType, []byte) {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil
	}
	n := binary.BigEndian.Uint32(hdr[8:])
	if n < 16 || n > 1<<20 {
		return 0, nil
	}
	v := make([]byte, n-16)
	if _, err := io.ReadFull(r, v); err != nil {
		return 0, nil
	}
	return pttls.MsgType(binary.BigEndian.Uint32(hdr[4:])), v
}

// negotiate plays the server side of version negotiation and an empty
// SASL mechanism list, as a strongSwan PDP does after certificate auth.
func negotiate(t *testing.T, tc *tls.Conn) bool {
	typ, v := readFrame(tc)
	if typ != pttls.TypeVersionRequest || !bytes.Equal(v, []byte{0, 1, 1, 1}) {
		t.Errorf("version request %d %x", typ, v)
		return false
	}
	_, err := tc.Write(append(frame(pttls.TypeVersionResponse, 0, []byte{0, 0, 0, 1}), frame(pttls.TypeSASLMechanisms, 1, nil)...))
	return err == nil
}

func rawClientConfig(t *testing.T, addr string) ClientConfig {
	cfg := clientConfig(t, addr)
	cfg.PTTLS.Timeout = 10 * time.Second
	return cfg
}

// TestIllegalBatchFromServer: a batch with the D bit clear is answered
// with CLOSE{PB-Error Invalid Parameter, offset 1}, byte for byte what the
// strongSwan 6.0.6 client sends; the IMCs see no message of it.
func TestIllegalBatchFromServer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch []byte
		want  []byte
	}{
		{"D bit clear", []byte{2, 0, 0, 2, 0, 0, 0, 8},
			hexb("0200000600000020 800000000000000500000018 800000000001000000000001")},
		{"version 1", []byte{1, 0x80, 0, 2, 0, 0, 0, 8},
			hexb("0200000600000020 800000000000000500000018 800000000004000001020200")},
		{"CDATA from server", []byte{2, 0x80, 0, 1, 0, 0, 0, 8},
			hexb("0200000600000020 800000000000000500000018 800000000000000000000000")},
		{"unknown NOSKIP after PA", append([]byte{2, 0x80, 0, 2, 0, 0, 0, 0x34},
			hexb("80000000 00000001 00000020 00000000 00000001 ffff0001 6f73206f6b212121 80000000 00000009 0000000c")...),
			hexb("0200000600000020 800000000000000500000018 800000000003000000000028")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan []byte, 1)
			addr := rawServer(t, func(c *tls.Conn) {
				if !negotiate(t, c) {
					return
				}
				if typ, _ := readFrame(c); typ != pttls.TypePBBatch {
					t.Errorf("first message %d", typ)
				}
				_, _ = c.Write(frame(pttls.TypePBBatch, 2, tc.batch))
				_, v := readFrame(c)
				got <- v
			})
			imcEv := &events{}
			_, err := Dial(context.Background(), rawClientConfig(t, addr), &testIMCs{ev: imcEv})
			var le *LocalError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want *LocalError", err)
			}
			if v := <-got; !bytes.Equal(v, tc.want) {
				t.Errorf("client sent %x\n          want %x", v, tc.want)
			}
			for _, e := range imcEv.list() {
				if bytes.HasPrefix([]byte(e), []byte("receive")) {
					t.Errorf("IMC got %q from a faulty batch", e)
				}
			}
		})
	}
}

// TestServerCloseAndErrors: the server's CLOSE with a PB-Error, a fatal
// PB-Error inside SDATA, and a PT-TLS Error all end the client with the
// peer's error.
func TestServerCloseAndErrors(t *testing.T) {
	closeErr := hexb("02800006 00000020 800000000000000500000018 800000000001000000000010")
	sdataErr := hexb("02800002 00000020 800000000000000500000018 800000000001000000000010")
	for _, tc := range []struct {
		name string
		typ  pttls.MsgType
		v    []byte
		want func(error) bool
		// reply is what the client must send afterwards (nil: nothing)
		reply []byte
	}{
		{"CLOSE with error", pttls.TypePBBatch, closeErr, isRemote, nil},
		{"fatal error in SDATA", pttls.TypePBBatch, sdataErr, isRemote, hexb("0200000600000008")},
		{"empty CLOSE", pttls.TypePBBatch, hexb("0280000600000008"), func(err error) bool { return errors.Is(err, ErrClosed) }, nil},
		{"PT-TLS error", pttls.TypeError, hexb("00000000 00000001"), func(err error) bool {
			var pe *pttls.PeerError
			return errors.As(err, &pe) && pe.Code == pttls.ErrMalformedMessage
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan []byte, 1)
			addr := rawServer(t, func(c *tls.Conn) {
				if !negotiate(t, c) {
					return
				}
				readFrame(c)
				_, _ = c.Write(frame(tc.typ, 2, tc.v))
				_ = c.CloseWrite()
				_, v := readFrame(c)
				got <- v
			})
			_, err := Dial(context.Background(), rawClientConfig(t, addr), &testIMCs{ev: &events{}})
			if !tc.want(err) {
				t.Fatalf("err = %v", err)
			}
			if v := <-got; !bytes.Equal(v, tc.reply) {
				t.Errorf("client replied %x, want %x", v, tc.reply)
			}
		})
	}
}

func isRemote(err error) bool {
	var re *RemoteError
	return errors.As(err, &re) && re.Msg.Code == uint16(pb.ErrInvalidParameter)
}

// TestTransportFaults: truncated and oversize frames, a stalling server
// and a version mismatch end the client with an error, never a hang.
func TestTransportFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func(t *testing.T, c *tls.Conn)
		want func(error) bool
	}{
		{"truncated header", func(t *testing.T, c *tls.Conn) {
			if negotiate(t, c) {
				readFrame(c)
				_, _ = c.Write(frame(pttls.TypePBBatch, 2, []byte{2, 0x80, 0, 2, 0, 0, 0, 8})[:10])
			}
		}, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"truncated value", func(t *testing.T, c *tls.Conn) {
			if negotiate(t, c) {
				readFrame(c)
				_, _ = c.Write(frame(pttls.TypePBBatch, 2, []byte{2, 0x80, 0, 2, 0, 0, 0, 8})[:20])
			}
		}, func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"4 GiB length", func(t *testing.T, c *tls.Conn) {
			if negotiate(t, c) {
				readFrame(c)
				f := frame(pttls.TypePBBatch, 2, nil)
				binary.BigEndian.PutUint32(f[8:], 0xffffffff)
				_, _ = c.Write(f)
			}
		}, func(err error) bool {
			var pe *pttls.Error
			return errors.As(err, &pe) && pe.Code == pttls.ErrInvalidParameter
		}},
		{"length below header", func(t *testing.T, c *tls.Conn) {
			if negotiate(t, c) {
				readFrame(c)
				f := frame(pttls.TypePBBatch, 2, nil)
				binary.BigEndian.PutUint32(f[8:], 12)
				_, _ = c.Write(f)
			}
		}, func(err error) bool {
			var pe *pttls.Error
			return errors.As(err, &pe) && pe.Code == pttls.ErrMalformedMessage
		}},
		{"stall after first batch", func(t *testing.T, c *tls.Conn) {
			if negotiate(t, c) {
				readFrame(c)
				readFrame(c) // blocks until the client gives up
			}
		}, func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }},
		{"stall in negotiation", func(t *testing.T, c *tls.Conn) {
			readFrame(c)
			readFrame(c)
		}, func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }},
		{"version 2 selected", func(t *testing.T, c *tls.Conn) {
			readFrame(c)
			_, _ = c.Write(frame(pttls.TypeVersionResponse, 0, []byte{0, 0, 0, 2}))
		}, func(err error) bool {
			var pe *pttls.Error
			return errors.As(err, &pe) && pe.Code == pttls.ErrVersionNotSupported
		}},
		{"SASL result RFC form", func(t *testing.T, c *tls.Conn) {
			readFrame(c)
			_, _ = c.Write(append(frame(pttls.TypeVersionResponse, 0, []byte{0, 0, 0, 1}), frame(pttls.TypeSASLMechanisms, 1, []byte("\x05PLAIN"))...))
			if typ, v := readFrame(c); typ != pttls.TypeSASLMechSelection || string(v) != "\x05PLAIN\x00"+testUser+"\x00"+testPass {
				t.Errorf("selection %d %q", typ, v)
			}
			_, _ = c.Write(append(frame(pttls.TypeSASLResult, 2, []byte{0, 1}), frame(pttls.TypeSASLMechanisms, 3, nil)...))
		}, func(err error) bool { return errors.Is(err, pttls.ErrAuthFailed) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawServer(t, func(c *tls.Conn) { tc.h(t, c) })
			cfg := rawClientConfig(t, addr)
			// stall tests use a short timeout (still generous for a
			// loopback TLS handshake), the others a long one
			if strings.HasPrefix(tc.name, "stall") {
				cfg.PTTLS.Timeout = time.Second
			}
			_, err := Dial(context.Background(), cfg, &testIMCs{ev: &events{}})
			if !tc.want(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestVersionMismatchAtServer: a client offering only version 2 gets a
// PT-TLS Version Not Supported error from our server.
func TestVersionMismatchAtServer(t *testing.T) {
	errs := make(chan error, 1)
	scfg := serverConfig(t, &testIMVs{ev: &events{}})
	scfg.OnResult = func(_ *Result, err error) { errs <- err }
	addr, _, _ := startServer(t, scfg)
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "pdp.test", RootCAs: getPKI(t).pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(frame(pttls.TypeVersionRequest, 0, []byte{0, 2, 2, 2})); err != nil {
		t.Fatal(err)
	}
	typ, v := readFrame(c)
	if typ != pttls.TypeError || len(v) < 8 || binary.BigEndian.Uint32(v[4:]) != uint32(pttls.ErrVersionNotSupported) {
		t.Errorf("got %d %x", typ, v)
	}
	var pe *pttls.Error
	if err := <-errs; !errors.As(err, &pe) || pe.Code != pttls.ErrVersionNotSupported {
		t.Errorf("server: %v", err)
	}
}

// TestIllegalBatchFromClient: the server answers a client batch with the
// D bit set by CLOSE{PB-Error Invalid Parameter offset 1}, as the 6.0.6 PDP.
func TestIllegalBatchFromClient(t *testing.T) {
	errs := make(chan error, 1)
	p := getPKI(t)
	scfg := ServerConfig{PTTLS: pttls.ServerConfig{Certificates: []tls.Certificate{p.server}, AllowAnonymous: true},
		IMVs: &testIMVs{ev: &events{}}, OnResult: func(_ *Result, err error) { errs <- err }}
	addr, _, _ := startServer(t, scfg)
	conn, err := pttls.Dial(context.Background(), addr, pttls.ClientConfig{RootCAs: p.pool, ServerName: "pdp.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if err := conn.WriteBatch(ctx, []byte{2, 0x80, 0, 1, 0, 0, 0, 8}); err != nil {
		t.Fatal(err)
	}
	got, err := conn.ReadBatch(ctx)
	if want := hexb("0280000600000020 800000000000000500000018 800000000001000000000001"); err != nil || !bytes.Equal(got, want) {
		t.Errorf("got %x %v", got, err)
	}
	var le *LocalError
	if err := <-errs; !errors.As(err, &le) {
		t.Errorf("server: %v", err)
	}
}

func hexb(s string) []byte {
	var out []byte
	var digits []byte
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			digits = append(digits, s[i])
		}
	}
	for i := 0; i+1 < len(digits); i += 2 {
		var b byte
		for _, c := range digits[i : i+2] {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= c - '0'
			case c >= 'a' && c <= 'f':
				b |= c - 'a' + 10
			}
		}
		out = append(out, b)
	}
	return out
}
