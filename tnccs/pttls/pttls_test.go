package pttls

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"github.com/imchost/imchost/internal/testutil"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// Messages recorded between strongSwan 6.0.6 pt-tls-client and tnc-pdp
// (RFC 6876 §3).
var recorded = []struct {
	name string
	raw  string
	want Message
}{
	{"version request", "00000000 00000001 00000014 00000000 00010101",
		Message{Type: TypeVersionRequest, ID: 0, Value: []byte{0, 1, 1, 1}}},
	{"version response", "00000000 00000002 00000014 00000000 00000001",
		Message{Type: TypeVersionResponse, ID: 0, Value: []byte{0, 0, 0, 1}}},
	{"SASL mechanisms", "00000000 00000003 00000016 00000001 05504c41494e",
		Message{Type: TypeSASLMechanisms, ID: 1, Value: []byte("\x05PLAIN")}},
	{"SASL mechanism selection", "00000000 00000004 0000003b 00000001 05504c41494e00" +
		hex.EncodeToString([]byte("client.peer.test")) + "00" + hex.EncodeToString([]byte("peer-testbed-secret")),
		Message{Type: TypeSASLMechSelection, ID: 1, Value: []byte("\x05PLAIN\x00client.peer.test\x00peer-testbed-secret")}},
	{"SASL result", "00000000 00000006 00000011 00000002 00",
		Message{Type: TypeSASLResult, ID: 2, Value: []byte{0}}},
	{"empty SASL mechanisms", "00000000 00000003 00000010 00000003",
		Message{Type: TypeSASLMechanisms, ID: 3, Value: []byte{}}},
}

func TestRecordedMessages(t *testing.T) {
	for _, r := range recorded {
		raw := unhex(r.raw)
		m, n, err := ParseHeader(raw[:HeaderLen], DefaultMaxMessageSize)
		if err != nil || n != len(raw)-HeaderLen {
			t.Fatalf("%s: %v, %d", r.name, err, n)
		}
		m.Value = raw[HeaderLen:]
		if !reflect.DeepEqual(m, r.want) {
			t.Errorf("%s: got %+v", r.name, m)
		}
		out, err := r.want.Marshal()
		if err != nil || !bytes.Equal(out, raw) {
			t.Errorf("%s: marshal %x, %v", r.name, out, err)
		}
	}
}

func TestParseHeaderBounds(t *testing.T) {
	hdr := unhex("00000000 00000007 ffffffff 00000005")
	if _, _, err := ParseHeader(hdr, 1<<20); !isCode(err, ErrInvalidParameter) {
		t.Errorf("4 GiB: %v", err)
	}
	hdr = unhex("00000000 00000007 0000000f 00000005")
	if _, _, err := ParseHeader(hdr, 1<<20); !isCode(err, ErrMalformedMessage) {
		t.Errorf("15: %v", err)
	}
	if _, _, err := ParseHeader(hdr[:15], 1<<20); !isCode(err, ErrMalformedMessage) {
		t.Errorf("short: %v", err)
	}
	hdr = unhex("00000000 00000007 00000010 00000005")
	if _, n, err := ParseHeader(hdr, 0); err != nil || n != 0 {
		t.Errorf("empty: %v", err)
	}
}

func isCode(err error, c ErrorCode) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == c
}

func TestSASLCodecs(t *testing.T) {
	names, err := parseMechanisms([]byte("\x05PLAIN\x08EXTERNAL"))
	if err != nil || !reflect.DeepEqual(names, []string{"PLAIN", "EXTERNAL"}) {
		t.Errorf("%v %v", names, err)
	}
	for _, bad := range []string{"\x06PLAIN", "\x00", "\x05"} {
		if _, err := parseMechanisms([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if got := marshalMechanisms("PLAIN"); string(got) != "\x05PLAIN" {
		t.Errorf("%q", got)
	}
	for in, want := range map[string]SASLResult{"\x00": SASLSuccess, "\x02": SASLAbort, "\x00\x00": SASLSuccess, "\x00\x01": SASLFailure, "\x00\x03xx": SASLMechanismFailure} {
		if r, err := parseSASLResult([]byte(in)); err != nil || r != want {
			t.Errorf("%x: %v %v", in, r, err)
		}
	}
	if _, err := parseSASLResult(nil); err == nil {
		t.Error("empty result parsed")
	}
	if _, u, p, err := parsePlain(plainResponse("carol", "pw\x01")); err != nil || u != "carol" || p != "pw\x01" {
		t.Errorf("%q %q %v", u, p, err)
	}
	for _, bad := range []string{"", "\x00", "\x00\x00pw", "a\x00b", "\x00u\x00p\x00"} {
		if _, _, _, err := parsePlain([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if e := parsePeerError(unhex("00000000 00000002 0102")); e.Code != ErrVersionNotSupported || !bytes.Equal(e.Header, []byte{1, 2}) {
		t.Errorf("%+v", e)
	}
}

// FuzzParseFrame feeds arbitrary bytes to every PT-TLS decoder: header,
// SASL mechanism list and selection, PLAIN response, SASL result, error.
func FuzzParseFrame(f *testing.F) {
	for _, r := range recorded {
		f.Add(unhex(r.raw))
	}
	f.Add(unhex("00000000 00000008 00000018 00000001 00000000 00000002"))
	f.Add(unhex("00000000 00000007 ffffffff 00000005"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) >= HeaderLen {
			m, n, err := ParseHeader(in[:HeaderLen], 4096)
			if err == nil {
				if n < 0 || n > 4096 {
					t.Fatalf("value length %d escapes the bound", n)
				}
				m.Value = in[HeaderLen:min(len(in), HeaderLen+n)]
				if len(m.Value) == n {
					out, err := m.Marshal()
					if err != nil || !bytes.Equal(out[4:], in[4:HeaderLen+n]) {
						t.Fatalf("header round trip %x vs %x (%v)", out, in[:HeaderLen+n], err)
					}
				}
			}
		}
		if names, err := parseMechanisms(in); err == nil {
			again, err := parseMechanisms(marshalMechanisms(names...))
			if err != nil || !reflect.DeepEqual(again, names) && len(names) > 0 {
				t.Fatalf("mechanisms round trip %q %q %v", names, again, err)
			}
		}
		_, _, _ = parseSelection(in)
		if _, u, p, err := parsePlain(in); err == nil {
			if _, u2, p2, err := parsePlain(plainResponse(u, p)); err != nil || u2 != u || p2 != p {
				t.Fatalf("PLAIN round trip")
			}
		}
		_, _ = parseSASLResult(in)
		_ = parsePeerError(in)
	})
}

// --- over real TLS ---

type pki struct {
	pool           *x509.CertPool
	server, client tls.Certificate
}

func newPKI(t testing.TB) *pki {
	ca := testutil.NewCA(t, "ca", testutil.ECDSA)
	return &pki{pool: ca.Pool(),
		server: ca.Issue(t, "pdp.test", testutil.ECDSA, []string{"pdp.test"}, x509.ExtKeyUsageServerAuth).TLS(),
		client: ca.Issue(t, "client.test", testutil.ECDSA, []string{"client.test"}, x509.ExtKeyUsageClientAuth).TLS()}
}

// tlsPair returns both ends of a loopback TCP connection.
func tlsPair(t *testing.T) (client, server net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-ch
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestClientServer: our client and server negotiate with SASL PLAIN using
// strongSwan's message identifiers (client 0-1, server 0-3, then batches),
// and the data phase handles batches, vendor messages, errors and close.
func TestClientServer(t *testing.T) {
	p := newPKI(t)
	cn, sn := tlsPair(t)
	ctx := context.Background()
	srvDone := make(chan *Conn, 1)
	go func() {
		c, err := Server(ctx, sn, ServerConfig{Certificates: []tls.Certificate{p.server},
			VerifyPlain: func(u, pw string) bool { return u == "client.peer.test" && pw == "peer-testbed-secret" }})
		if err != nil {
			t.Error(err)
		}
		srvDone <- c
	}()
	c, err := Client(ctx, cn, ClientConfig{ServerName: "pdp.test", RootCAs: p.pool, Username: "client.peer.test", Password: "peer-testbed-secret"})
	if err != nil {
		t.Fatal(err)
	}
	s := <-srvDone
	if s == nil {
		t.FailNow()
	}
	if c.nextID != 2 || s.nextID != 4 || s.Identity() != "client.peer.test" {
		t.Errorf("ids client %d server %d identity %q", c.nextID, s.nextID, s.Identity())
	}
	// data phase: identifiers continue, one batch per message
	if err := c.WriteBatch(ctx, []byte{2, 0, 0, 1, 0, 0, 0, 8}); err != nil {
		t.Fatal(err)
	}
	m, err := s.ReadMessage(ctx)
	if err != nil || m.ID != 2 || m.Type != TypePBBatch || !bytes.Equal(m.Value, []byte{2, 0, 0, 1, 0, 0, 0, 8}) {
		t.Fatalf("%+v %v", m, err)
	}
	// vendor messages are skipped, errors surface as *PeerError
	if err := s.WriteMessage(ctx, 0x005597, 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBatch(ctx, []byte{2, 0x80, 0, 2, 0, 0, 0, 8}); err != nil {
		t.Fatal(err)
	}
	if b, err := c.ReadBatch(ctx); err != nil || len(b) != 8 {
		t.Fatalf("%x %v", b, err)
	}
	if err := s.SendError(ctx, ErrInvalidParameter, nil); err != nil {
		t.Fatal(err)
	}
	var pe *PeerError
	if _, err := c.ReadBatch(ctx); !errors.As(err, &pe) || pe.Code != ErrInvalidParameter {
		t.Fatalf("%v", err)
	}
	// a non-batch IETF message in the data phase is refused (and reported)
	if err := s.WriteMessage(ctx, VendorIETF, TypeSASLResult, []byte{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadBatch(ctx); !isCode(err, ErrInvalidMessage) {
		t.Fatalf("%v", err)
	}
	if _, err := s.ReadBatch(ctx); !errors.As(err, &pe) || pe.Code != ErrInvalidMessage {
		t.Fatalf("%v", err)
	}
	// close: the other side sees EOF
	s.Close()
	if _, err := c.ReadBatch(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after close: %v", err)
	}
}

// TestClientWireBytes: the client's first messages are byte-identical
// to strongSwan's (Version Request, SASL Mechanism Selection).
func TestClientWireBytes(t *testing.T) {
	p := newPKI(t)
	cn, sn := tlsPair(t)
	got := make(chan []byte, 1)
	go func() {
		tc := tls.Server(sn, &tls.Config{Certificates: []tls.Certificate{p.server}})
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		var rec []byte
		hdr := make([]byte, 20)
		if _, err := io.ReadFull(tc, hdr); err != nil {
			got <- nil
			return
		}
		rec = append(rec, hdr...)
		_, _ = tc.Write(unhex(recorded[1].raw + recorded[2].raw))
		sel := make([]byte, 59)
		if _, err := io.ReadFull(tc, sel); err != nil {
			got <- nil
			return
		}
		rec = append(rec, sel...)
		_, _ = tc.Write(unhex(recorded[4].raw + recorded[5].raw))
		got <- rec
		_, _ = io.ReadAll(tc)
	}()
	c, err := Client(context.Background(), cn, ClientConfig{ServerName: "pdp.test", RootCAs: p.pool,
		Username: "client.peer.test", Password: "peer-testbed-secret", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if want := unhex(recorded[0].raw + recorded[3].raw); !bytes.Equal(<-got, want) {
		t.Error("client bytes differ from strongSwan's")
	}
}

func TestClientConfigErrors(t *testing.T) {
	p := newPKI(t)
	for _, cfg := range []ClientConfig{
		{ServerName: "pdp.test", CAPEM: []byte("not pem")},
		{ServerName: "pdp.test", RootCAs: p.pool, CertPEM: []byte("x"), KeyPEM: []byte("y")},
	} {
		cn, _ := tlsPair(t)
		if _, err := Client(context.Background(), cn, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	cn, _ := tlsPair(t)
	if _, err := Client(context.Background(), cn, ClientConfig{RootCAs: p.pool}); err == nil {
		t.Error("no server name accepted")
	}
	if _, err := Server(context.Background(), cn, ServerConfig{}); err == nil {
		t.Error("server without certificate accepted")
	}
}

// TestContextCancel: cancelling the context unblocks a read at once.
func TestContextCancel(t *testing.T) {
	p := newPKI(t)
	cn, sn := tlsPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		c, err := Server(context.Background(), sn, ServerConfig{Certificates: []tls.Certificate{p.server}, AllowAnonymous: true})
		if err == nil {
			_, _ = c.ReadMessage(context.Background()) // waits for the client's close
		}
	}()
	c, err := Client(context.Background(), cn, ClientConfig{ServerName: "pdp.test", RootCAs: p.pool, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() { _, err := c.ReadBatch(ctx); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

// TestVendorFlood: a peer sending only vendor-specific messages gets an
// error after a bounded number of them.
func TestVendorFlood(t *testing.T) {
	p := newPKI(t)
	cn, sn := tlsPair(t)
	go func() {
		s, err := Server(context.Background(), sn, ServerConfig{Certificates: []tls.Certificate{p.server}, AllowAnonymous: true})
		if err != nil {
			return
		}
		for i := 0; i < 100; i++ {
			if s.WriteMessage(context.Background(), 0x00902a, 1, nil) != nil {
				return
			}
		}
	}()
	c, err := Client(context.Background(), cn, ClientConfig{ServerName: "pdp.test", RootCAs: p.pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ReadBatch(context.Background()); !isCode(err, ErrInvalidMessage) {
		t.Fatalf("err = %v", err)
	}
}
