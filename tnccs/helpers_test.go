package tnccs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/tnccs/pb"
)

// testPKI is a CA with a server certificate for "pdp.test"/127.0.0.1 and a
// client certificate for "client.test", generated per test run.
type testPKI struct {
	caPEM  []byte
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
	// clientCertPEM/clientKeyPEM are the client pair as PEM.
	clientCertPEM, clientKeyPEM []byte
}

var (
	pkiOnce sync.Once
	pki     *testPKI
)

// getPKI makes the run's PKI on first use (ECDSA P-256 keys).
func getPKI(t testing.TB) *testPKI {
	pkiOnce.Do(func() {
		ca := testutil.NewCA(t, "imchost test CA", testutil.ECDSA)
		server := ca.Issue(t, "pdp.test", testutil.ECDSA, []string{"pdp.test", "127.0.0.1"}, x509.ExtKeyUsageServerAuth)
		client := ca.Issue(t, "client.test", testutil.ECDSA, []string{"client.test"}, x509.ExtKeyUsageClientAuth)
		pki = &testPKI{caPEM: ca.PEM(), pool: ca.Pool(), server: server.TLS(), client: client.TLS(),
			clientCertPEM: client.CertPEM(), clientKeyPEM: client.KeyPEM(t)}
	})
	return pki
}

// syncBuffer is the shared testutil.SyncBuffer.
type syncBuffer = testutil.SyncBuffer

func testLogger(name string, level hclog.Level) (hclog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: level, Output: buf}), buf
}

// events is a concurrency-safe record of IMC/IMV calls.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(format string, args ...any) {
	e.mu.Lock()
	e.log = append(e.log, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

// Test IMCs: an "OS" IMC (ID 1, IETF/1) that pushes one message at
// BeginHandshake, and an "Attestation" IMC (ID 2, TCG/1) that answers every
// request from an IMV with an EXCL reply addressed to that IMV.
type testIMCs struct {
	ev *events
	// osBody is the OS IMC's pushed PA body.
	osBody []byte
	// failOpen makes Open fail.
	failOpen bool
}

type testIMCConn struct {
	ev   *events
	id   ConnID
	send SendFunc
	os   []byte
}

func (m *testIMCs) Open(_ context.Context, id ConnID, send SendFunc) (IMCConn, error) {
	m.ev.add("open %d", id)
	if m.failOpen {
		return nil, fmt.Errorf("no IMCs")
	}
	return &testIMCConn{ev: m.ev, id: id, send: send, os: m.osBody}, nil
}

func (c *testIMCConn) ChangeState(_ context.Context, s abi.ConnState) { c.ev.add("state %d", s) }

func (c *testIMCConn) BeginHandshake(context.Context) {
	c.ev.add("begin")
	body := c.os
	if body == nil {
		body = []byte("os facts")
	}
	if err := c.send(PAMessage{Vendor: pb.VendorIETF, Subtype: 1, Collector: 1, Validator: pb.AnyID, Body: body}); err != nil {
		c.ev.add("send error %v", err)
	}
}

func (c *testIMCConn) Receive(_ context.Context, m PAMessage) {
	c.ev.add("receive %06x/%d %s", m.Vendor, m.Subtype, m.Body)
	if m.Vendor == pb.VendorTCG && bytes.HasPrefix(m.Body, []byte("request")) {
		reply := append([]byte("evidence for "), m.Body...)
		if err := c.send(PAMessage{Vendor: pb.VendorTCG, Subtype: 1, Collector: 2, Validator: m.Validator, Exclusive: true, Body: reply}); err != nil {
			c.ev.add("send error %v", err)
		}
	}
}

func (c *testIMCConn) BatchEnding(context.Context) { c.ev.add("batch ending") }
func (c *testIMCConn) Close(context.Context)       { c.ev.add("close") }

// Test IMVs: on the OS message the OS IMV (ID 1) answers with an
// assessment; the Attestation IMV (ID 2) sends `requests` requests one per
// round, then has nothing more, and queues a final result in Decide.
type testIMVs struct {
	ev       *events
	requests int
	// endless makes the Attestation IMV ask forever.
	endless  bool
	decision Decision
}

type testIMVConn struct {
	m     *testIMVs
	send  SendFunc
	asked int
	peer  Peer
}

func (m *testIMVs) Open(_ context.Context, id ConnID, peer Peer, send SendFunc) (IMVConn, error) {
	m.ev.add("open %d %s lang=%s", id, peer.Identity, peer.Language)
	return &testIMVConn{m: m, send: send, peer: peer}, nil
}

func (c *testIMVConn) Receive(_ context.Context, m PAMessage) {
	c.m.ev.add("receive %06x/%d imc=%d excl=%v %s", m.Vendor, m.Subtype, m.Collector, m.Exclusive, m.Body)
	if m.Vendor == pb.VendorIETF && m.Subtype == 1 {
		_ = c.send(PAMessage{Vendor: pb.VendorIETF, Subtype: 1, Collector: pb.AnyID, Validator: 1, Body: []byte("os ok")})
	}
}

func (c *testIMVConn) BatchEnding(context.Context) {
	c.m.ev.add("batch ending")
	if c.m.endless || c.asked < c.m.requests {
		c.asked++
		_ = c.send(PAMessage{Vendor: pb.VendorTCG, Subtype: 1, Collector: pb.AnyID, Validator: 2, Body: fmt.Appendf(nil, "request %d", c.asked)})
	}
}

func (c *testIMVConn) Decide(context.Context) Decision {
	c.m.ev.add("decide")
	_ = c.send(PAMessage{Vendor: pb.VendorTCG, Subtype: 1, Collector: pb.AnyID, Validator: 2, Body: []byte("final result")})
	return c.m.decision
}

func (c *testIMVConn) Close(context.Context) { c.m.ev.add("close") }

// batchLog records what an OnBatch observer saw: "send CDATA 266 [IETF/PB-Language-Preference IETF/PB-PA]".
type batchLog struct {
	events
}

func (l *batchLog) observe(sent bool, b *pb.Batch, size int) {
	dir := "recv"
	if sent {
		dir = "send"
	}
	var names []string
	for _, m := range b.Messages {
		names = append(names, m.Type().String())
	}
	l.add("%s %s [%s]", dir, b.Type, strings.Join(names, " "))
	_ = size
}

// startServer runs a Server on 127.0.0.1 until the test ends.
func startServer(t *testing.T, cfg ServerConfig) (addr string, srv *Server, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv = &Server{Config: cfg}
	ch := make(chan error, 1)
	go func() { ch <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ch; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), srv, ch
}

// settleGoroutines waits until the goroutine count is back to at most
// want, and fails with a dump if it never is.
func settleGoroutines(t *testing.T, want int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if runtime.NumGoroutine() <= want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	t.Fatalf("goroutines: %d, want <= %d\n%s", runtime.NumGoroutine(), want, buf[:n])
}
