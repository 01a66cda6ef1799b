package pttls

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"github.com/imchost/imchost/internal/testutil"
	"hash"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/imchost/imchost/internal/logfmt"
)

// strongSwanLikePDP is a PT-TLS server on loopback whose TLS 1.3
// CertificateRequest carries a certificate_authorities extension with an
// empty list, as strongSwan's TLS server sends it when it holds only ECDSA
// CA certificates (it lists RSA CAs only).
//
// crypto/tls never sends that extension empty, and TLS 1.3 encrypts the
// CertificateRequest, so the server is crypto/tls (requesting a client
// certificate without naming CAs: in TLS 1.2 an empty list, as strongSwan
// sends it too) behind a rewriter that holds the server's handshake
// traffic secret (its key log): it decrypts the server's encrypted
// handshake records, adds the empty extension to the CertificateRequest and
// encrypts the record again with the same key and sequence number. The
// client reads exactly what strongSwan's server would have sent; the
// handshake transcript no longer matches, but the client refuses the
// message before it gets to the Finished.
type strongSwanLikePDP struct {
	t       *testing.T
	ln      net.Listener
	p       *pki
	rewrite bool // add the empty extension (false: a PDP that behaves)
	corrupt bool // flip a ciphertext bit of that record instead

	mu        sync.Mutex
	conns     int      // TCP connections accepted
	rewritten int      // CertificateRequests rewritten
	versions  []uint16 // TLS version of each completed server handshake
	wg        sync.WaitGroup
}

func startStrongSwanLikePDP(t *testing.T, rewrite, corrupt bool) *strongSwanLikePDP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &strongSwanLikePDP{t: t, ln: ln, p: newPKI(t), rewrite: rewrite, corrupt: corrupt}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *strongSwanLikePDP) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
		}()
	}
}

// keyLog collects the server's NSS key log lines.
type keyLog struct{ testutil.SyncBuffer }

func (k *keyLog) secret(label string) []byte {
	for _, l := range strings.Split(k.String(), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == label {
			b, _ := hex.DecodeString(f[2])
			return b
		}
	}
	return nil
}

// serve runs the TLS server and PT-TLS negotiation on one end of a pipe
// and the rewriter between the other end and the client.
func (s *strongSwanLikePDP) serve(client net.Conn) {
	defer client.Close()
	srvEnd, proxyEnd := net.Pipe()
	defer proxyEnd.Close()
	kl := &keyLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer srvEnd.Close()
		tc := tls.Server(srvEnd, &tls.Config{Certificates: []tls.Certificate{s.p.server},
			ClientAuth: tls.RequestClientCert, KeyLogWriter: kl})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tc.HandshakeContext(ctx); err != nil {
			return
		}
		s.mu.Lock()
		s.versions = append(s.versions, tc.ConnectionState().Version)
		s.mu.Unlock()
		c := newConn(tc, nil, 10*time.Second, 0, true)
		if c.serverVersion(ctx) != nil || c.serverAuth(ctx, &ServerConfig{AllowAnonymous: true}) != nil {
			return
		}
		_, _ = c.ReadMessage(ctx) // until the client closes
	}()
	go func() {
		_, _ = io.Copy(proxyEnd, client)
		proxyEnd.Close()
	}()
	s.relayServer(client, proxyEnd, kl)
	client.Close()
	<-done
}

// relayServer copies the server's records to the client, rewriting the
// TLS 1.3 CertificateRequest.
func (s *strongSwanLikePDP) relayServer(client io.Writer, server io.Reader, kl *keyLog) {
	var aead cipher.AEAD
	var iv []byte
	var seq uint64
	done := false // the CertificateRequest went by: copy the rest as is
	for {
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(server, hdr); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint16(hdr[3:5]))
		if _, err := io.ReadFull(server, body); err != nil {
			return
		}
		switch {
		case done || (!s.rewrite && !s.corrupt):
		case hdr[0] == 22 && len(body) > 39 && body[0] == 2: // ServerHello: the suite
			sid := int(body[38])
			if len(body) < 39+sid+2 {
				s.t.Error("short ServerHello")
				return
			}
			aead, iv = s.keys(binary.BigEndian.Uint16(body[39+sid:]), kl)
		case hdr[0] == 23 && aead != nil: // encrypted handshake record
			nonce := recordNonce(iv, seq)
			plain, err := aead.Open(nil, nonce, body, hdr)
			if err != nil {
				s.t.Errorf("decrypting the server's record %d: %v", seq, err)
				return
			}
			inner := bytes.TrimRight(plain, "\x00")
			if len(inner) > 1 && inner[len(inner)-1] == 22 && inner[0] == 13 { // CertificateRequest
				done = true
				if s.corrupt {
					body[0] ^= 1
					break
				}
				msg := withEmptyCertificateAuthorities(s.t, inner[:len(inner)-1])
				inner = append(msg, 22)
				binary.BigEndian.PutUint16(hdr[3:5], uint16(len(inner)+aead.Overhead()))
				body = aead.Seal(nil, nonce, inner, hdr)
				s.mu.Lock()
				s.rewritten++
				s.mu.Unlock()
			}
			seq++
		}
		if _, err := client.Write(append(hdr, body...)); err != nil {
			return
		}
	}
}

// keys derives the server's handshake record key and IV (RFC 8446
// Section 7.3) for the suite the ServerHello chose.
func (s *strongSwanLikePDP) keys(suite uint16, kl *keyLog) (cipher.AEAD, []byte) {
	secret := kl.secret("SERVER_HANDSHAKE_TRAFFIC_SECRET")
	if secret == nil {
		return nil, nil // TLS 1.2: nothing encrypted before the Finished
	}
	var h func() hash.Hash
	keyLen := 16
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		h = sha256.New
	case tls.TLS_AES_256_GCM_SHA384:
		h, keyLen = sha512.New384, 32
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		h, keyLen = sha256.New, 32
	default:
		s.t.Fatalf("TLS 1.3 suite 0x%04x", suite)
	}
	key := expandLabel(s.t, h, secret, "key", keyLen)
	iv := expandLabel(s.t, h, secret, "iv", 12)
	var aead cipher.AEAD
	var err error
	if suite == tls.TLS_CHACHA20_POLY1305_SHA256 {
		aead, err = chacha20poly1305.New(key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			aead, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return aead, iv
}

// expandLabel is HKDF-Expand-Label with an empty context (RFC 8446
// Section 7.1).
func expandLabel(t *testing.T, h func() hash.Hash, secret []byte, label string, n int) []byte {
	full := "tls13 " + label
	info := append([]byte{byte(n >> 8), byte(n), byte(len(full))}, full...)
	info = append(info, 0)
	out, err := hkdf.Expand(h, secret, string(info), n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// recordNonce is the per-record nonce: the IV XOR the sequence number
// (RFC 8446 Section 5.3).
func recordNonce(iv []byte, seq uint64) []byte {
	n := bytes.Clone(iv)
	for i := 0; i < 8; i++ {
		n[len(n)-1-i] ^= byte(seq >> (8 * i))
	}
	return n
}

// withEmptyCertificateAuthorities returns the CertificateRequest msg with
// a certificate_authorities extension (47) whose list is empty, in place
// of any it had.
func withEmptyCertificateAuthorities(t *testing.T, msg []byte) []byte {
	if len(msg) < 4+1 {
		t.Fatal("short CertificateRequest")
	}
	body := msg[4:]
	ctxLen := int(body[0])
	exts := body[1+ctxLen+2:]
	var out []byte
	for len(exts) >= 4 {
		typ := binary.BigEndian.Uint16(exts)
		n := int(binary.BigEndian.Uint16(exts[2:]))
		if typ != 47 {
			out = append(out, exts[:4+n]...)
		}
		exts = exts[4+n:]
	}
	out = append(out, 0, 47, 0, 2, 0, 0) // certificate_authorities: DistinguishedName list of length 0
	nb := append([]byte{}, body[:1+ctxLen]...)
	nb = binary.BigEndian.AppendUint16(nb, uint16(len(out)))
	nb = append(nb, out...)
	return append([]byte{13, byte(len(nb) >> 16), byte(len(nb) >> 8), byte(len(nb))}, nb...)
}

func (s *strongSwanLikePDP) counts() (conns, rewritten int, versions []uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, s.rewritten, append([]uint16(nil), s.versions...)
}

// TestDialEmptyCertificateAuthorities: a PDP whose TLS 1.3
// CertificateRequest has an empty certificate_authorities list (strongSwan
// with ECDSA-only CAs) fails crypto/tls's TLS 1.3 handshake exactly as it
// failed imchost run ("local error: tls: error decoding message"); Dial
// then connects with TLS 1.2 on a second connection and says so in one
// [TLS] line. A PDP that behaves gets TLS 1.3 and one connection; any
// other handshake failure is not retried.
func TestDialEmptyCertificateAuthorities(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dialVia := func(t *testing.T, s *strongSwanLikePDP, max uint16) (*Conn, string, error) {
		var logs bytes.Buffer
		log := logfmt.New(logfmt.Options{Output: &logs, Level: hclog.Info}).Named("tls")
		c, err := Dial(ctx, s.ln.Addr().String(), ClientConfig{ServerName: "pdp.test", RootCAs: s.p.pool,
			MaxVersion: max, Logger: log})
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
		return c, logs.String(), err
	}

	t.Run("strongswan-tls13-only", func(t *testing.T) {
		// Without the retry: the very failure imchost run reported.
		s := startStrongSwanLikePDP(t, true, false)
		_, _, err := dialVia(t, s, tls.VersionTLS13)
		if err == nil || !errors.Is(err, ErrTLS13Undecodable) || !strings.Contains(err.Error(), "pttls: TLS handshake: local error: tls: error decoding message") {
			t.Fatalf("err = %v, want the TLS 1.3 decode failure", err)
		}
		if conns, rw, _ := s.counts(); conns != 1 || rw != 1 {
			t.Errorf("%d connections, %d CertificateRequests rewritten; want 1, 1", conns, rw)
		}
	})
	t.Run("strongswan", func(t *testing.T) {
		s := startStrongSwanLikePDP(t, true, false)
		c, logs, err := dialVia(t, s, 0)
		if err != nil {
			t.Fatalf("Dial: %v\n%s", err, logs)
		}
		if v := c.TLS().Version; v != tls.VersionTLS12 || !c.FellBack() {
			t.Errorf("version %s, fell back %v; want TLS 1.2 after the fallback", tls.VersionName(v), c.FellBack())
		}
		conns, rw, versions := s.counts()
		if conns != 2 || rw != 1 || len(versions) != 1 || versions[0] != tls.VersionTLS12 {
			t.Errorf("%d connections, %d rewritten, server handshakes %v; want 2, 1, [TLS 1.2]", conns, rw, versions)
		}
		want := "[TLS] warning: PDP '" + s.ln.Addr().String() + "' chose TLS 1.3 and sent a handshake message before its certificate that does not decode"
		if !strings.HasPrefix(logs, want) || !strings.Contains(logs, "retrying with TLS 1.2 for this PDP\n") || strings.Count(logs, "\n") != 1 {
			t.Errorf("log:\n%s\nwant one line starting %q", logs, want)
		}
	})
	t.Run("behaving", func(t *testing.T) {
		s := startStrongSwanLikePDP(t, false, false)
		c, logs, err := dialVia(t, s, 0)
		if err != nil {
			t.Fatal(err)
		}
		if v := c.TLS().Version; v != tls.VersionTLS13 || c.FellBack() || logs != "" {
			t.Errorf("version %s, fell back %v, log %q; want TLS 1.3 and nothing said", tls.VersionName(v), c.FellBack(), logs)
		}
		if conns, _, _ := s.counts(); conns != 1 {
			t.Errorf("%d connections, want 1", conns)
		}
	})
	t.Run("other-failure", func(t *testing.T) {
		// A record that does not authenticate is no reason for TLS 1.2.
		s := startStrongSwanLikePDP(t, false, true)
		_, logs, err := dialVia(t, s, 0)
		if err == nil || errors.Is(err, ErrTLS13Undecodable) || logs != "" {
			t.Fatalf("err = %v, log %q; want a plain handshake failure", err, logs)
		}
		if conns, _, _ := s.counts(); conns != 1 {
			t.Errorf("%d connections, want 1 (no retry)", conns)
		}
	})
}
