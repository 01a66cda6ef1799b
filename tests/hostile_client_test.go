package tests

// A scripted malicious client against the project's PDP (pdp.New on
// loopback), each case while a well-behaved client (both wasm IMCs in the
// real host on swtpm) attests on the same PDP at the same time. pdp/live_test.go
// (TestLiveMisbehavingClient, TestLiveClientVanishes) and tnccs/raw_test.go
// (TestIllegalBatchFromClient, TestVersionMismatchAtServer) cover a few of
// these in-package; here the whole list of the PDP-side cases mirrors
// hostile_pdp_test.go.

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

const (
	goodUser, goodPass = "good.client.test", "good-secret"
	evilUser, evilPass = "evil.client.test", "evil-secret"
	// pdpIdle is the PDP's idle timeout in this suite: a stalling client
	// is dropped after it.
	pdpIdle = 3 * time.Second
)

// clientCase is one misbehaviour of a client.
type clientCase struct {
	name string
	// script runs after the TLS handshake on the client side; nil means
	// the TLS handshake itself is the case.
	script func(t *testing.T, c *hostileConn) error
	// clientTLS adjusts the hostile client's TLS configuration.
	clientTLS func(cfg *tls.Config)
	// raw, when set, replaces TLS: the script gets the bare TCP connection.
	raw func(t *testing.T, nc net.Conn) error
	// want says whether the PDP's outcome error is the right one.
	want func(err error) bool
	// text must appear in the PDP's outcome error.
	text string
	// pbErr: the code of the fatal PB-Error the PDP must send in a CLOSE.
	pbErr *pb.ErrorCode
	// ptErr: the code of the PT-TLS Error message the PDP must send.
	ptErr *pttls.ErrorCode
	// mayDecide: the PDP may have sent a RESULT (never Access Allowed)
	// before the case ended the connection.
	mayDecide bool
}

func ptCode(c pttls.ErrorCode) *pttls.ErrorCode { return &c }

// authenticated negotiates PT-TLS as the evil (but known) user.
func authenticated(c *hostileConn) error { return c.clientNegotiate(evilUser, evilPass) }

// sendBatch authenticates and sends one raw batch.
func sendBatch(batch []byte) func(*testing.T, *hostileConn) error {
	return func(t *testing.T, c *hostileConn) error {
		if err := authenticated(c); err != nil {
			return err
		}
		return c.send(pttls.TypePBBatch, batch)
	}
}

// langPref is the client's PB-Language-Preference as strongSwan sends it.
var langPref = &pb.MsgLanguagePreference{Languages: "en"}

func hostileClientCases(t *testing.T) []clientCase {
	stranger, _, err := pdp.SelfSignedCertificate(time.Hour, "stranger.test")
	if err != nil {
		t.Fatal(err)
	}
	return []clientCase{
		{name: "batch version 1", script: sendBatch(rawBatch(1, false, pb.BatchCDATA, 0)),
			want: localPB(pb.ErrVersionNotSupported), text: "Version Not Supported", pbErr: code(pb.ErrVersionNotSupported)},
		{name: "batch length beyond the data", script: sendBatch(rawBatch(2, false, pb.BatchCDATA, 64)),
			want: localPB(pb.ErrInvalidParameter), text: "offset 4", pbErr: code(pb.ErrInvalidParameter)},
		{name: "batch length 4 GiB", script: sendBatch(rawBatch(2, false, pb.BatchCDATA, 0xffffffff)),
			want: localPB(pb.ErrInvalidParameter), text: "offset 4", pbErr: code(pb.ErrInvalidParameter)},
		{name: "message length beyond the batch", script: sendBatch(rawBatch(2, false, pb.BatchCDATA, 0,
			rawMsg(true, pb.VendorIETF, 1, 200, paHeader))),
			want: localPB(pb.ErrInvalidParameter), text: "offset 16", pbErr: code(pb.ErrInvalidParameter)},
		{name: "message length 4 GiB", script: sendBatch(rawBatch(2, false, pb.BatchCDATA, 0,
			rawMsg(true, pb.VendorIETF, 1, 0xffffffff, paHeader))),
			want: localPB(pb.ErrInvalidParameter), text: "offset 16", pbErr: code(pb.ErrInvalidParameter)},
		{name: "unknown NOSKIP message", script: sendBatch(rawBatch(2, false, pb.BatchCDATA, 0,
			rawMsg(true, 0x123456, 7, 0, []byte("must understand")))),
			want: localPB(pb.ErrUnsupportedMandatoryMessage), text: "offset 8", pbErr: code(pb.ErrUnsupportedMandatoryMessage)},
		{name: "SDATA from the client", script: sendBatch(rawBatch(2, false, pb.BatchSDATA, 0)),
			want: localPB(pb.ErrUnexpectedBatchType), text: "Unexpected Batch Type", pbErr: code(pb.ErrUnexpectedBatchType)},
		{name: "RESULT from the client", script: sendBatch(rawBatch(2, false, pb.BatchRESULT, 0)),
			want: localPB(pb.ErrUnexpectedBatchType), text: "Unexpected Batch Type", pbErr: code(pb.ErrUnexpectedBatchType)},
		{name: "CRETRY as the first batch", script: sendBatch(rawBatch(2, false, pb.BatchCRETRY, 0)),
			want: localPB(pb.ErrUnexpectedBatchType), text: "Unexpected Batch Type", pbErr: code(pb.ErrUnexpectedBatchType)},
		{name: "endless CRETRY", script: func(t *testing.T, c *hostileConn) error {
			if err := authenticated(c); err != nil {
				return err
			}
			if err := c.send(pttls.TypePBBatch, batchBytes(t, false, pb.BatchCDATA, langPref)); err != nil {
				return err
			}
			for range 2 * tnccs.DefaultMaxRounds {
				if _, err := c.expect(pttls.TypePBBatch); err != nil {
					return err
				}
				if c.got[len(c.got)-1].Type == pb.BatchCLOSE {
					return nil
				}
				if err := c.send(pttls.TypePBBatch, batchBytes(t, false, pb.BatchCRETRY)); err != nil {
					return err
				}
			}
			return fmt.Errorf("the PDP answered %d CRETRY batches", 2*tnccs.DefaultMaxRounds)
			// each CRETRY after a RESULT is a re-assessment: refused with
			// an empty CLOSE once the connection has had MaxRetries
		}, want: isErr(tnccs.ErrTooManyRetries), text: "too many re-assessments", mayDecide: true},
		{name: "PT-TLS length 4 GiB", script: func(t *testing.T, c *hostileConn) error {
			if err := authenticated(c); err != nil {
				return err
			}
			f := frameBytes(pttls.TypePBBatch, 7, nil)
			binary.BigEndian.PutUint32(f[8:], 0xffffffff)
			return c.sendRaw(f)
			// in the data phase the PDP closes without a PT-TLS Error, as
			// strongSwan's does
		}, want: ptErr(pttls.ErrInvalidParameter), text: "exceeds the limit"},
		{name: "version 2 only", script: func(t *testing.T, c *hostileConn) error {
			return c.send(pttls.TypeVersionRequest, []byte{0, 2, 2, 2})
		}, want: ptErr(pttls.ErrVersionNotSupported), text: "client versions 2..2", ptErr: ptCode(pttls.ErrVersionNotSupported)},
		{name: "stall mid-frame", script: func(t *testing.T, c *hostileConn) error {
			if err := authenticated(c); err != nil {
				return err
			}
			return c.sendRaw(frameBytes(pttls.TypePBBatch, 7, batchBytes(t, false, pb.BatchCDATA, langPref))[:10])
		}, want: isErr(os.ErrDeadlineExceeded), text: "peer stalled"},
		{name: "silent TCP connection", raw: func(t *testing.T, nc net.Conn) error {
			_, err := nc.Read(make([]byte, 1)) // until the PDP gives up
			if err == nil {
				return errors.New("the PDP sent data before a ClientHello")
			}
			return nil
		}, want: isErr(os.ErrDeadlineExceeded), text: "TLS handshake"},
		{name: "SASL: wrong password", script: func(t *testing.T, c *hostileConn) error {
			if err := c.clientNegotiate(evilUser, "guess"); err == nil || !strings.Contains(err.Error(), "SASL result 02") {
				return fmt.Errorf("want SASL result abort (strongSwan's 1-byte form), got %v", err)
			}
			return nil
		}, want: isErr(pttls.ErrAuthFailed), text: "wrong credentials"},
		{name: "SASL: mechanism not offered", script: func(t *testing.T, c *hostileConn) error {
			if err := c.clientToMechanisms(); err != nil {
				return err
			}
			return c.send(pttls.TypeSASLMechSelection, mechList("ANONYMOUS"))
		}, want: ptErr(pttls.ErrSASLMechanismError), text: "unsupported SASL mechanism", ptErr: ptCode(pttls.ErrSASLMechanismError)},
		{name: "SASL: PB-TNC batch instead of authentication", script: func(t *testing.T, c *hostileConn) error {
			if err := c.clientVersion(); err != nil {
				return err
			}
			return c.send(pttls.TypePBBatch, batchBytes(t, false, pb.BatchCDATA, langPref))
		}, want: ptErr(pttls.ErrInvalidMessage), text: "expected SASL Mechanism Selection", ptErr: ptCode(pttls.ErrInvalidMessage)},
		{name: "SASL: malformed PLAIN response", script: func(t *testing.T, c *hostileConn) error {
			if err := c.clientToMechanisms(); err != nil {
				return err
			}
			return c.send(pttls.TypeSASLMechSelection, append(mechList("PLAIN"), "only-a-user"...))
		}, want: func(err error) bool { return err != nil }, text: "PLAIN"},
		{name: "client certificate from an unknown CA", clientTLS: func(cfg *tls.Config) {
			cfg.Certificates = []tls.Certificate{stranger}
		}, want: func(err error) bool { return err != nil }, text: "TLS handshake"},
	}
}

// TestHostileClient runs each misbehaving client against the PDP while a
// well-behaved client attests on the same PDP; the good client must get its
// decision every time.
func TestHostileClient(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	h := newHost(t, env.platform(t, fixtureRoot(t, false)), imcConfigs(t, env.logPath))
	_, clientCAs, err := pdp.SelfSignedCertificate(time.Hour, "client-ca.test")
	if err != nil {
		t.Fatal(err)
	}
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(), Users: map[string]string{goodUser: goodPass, evilUser: evilPass},
		ClientCAs: clientCAs, IdleTimeout: pdpIdle})
	for _, tc := range hostileClientCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			leaks := startGoroutineCheck()
			n := len(p.srv.Outcomes())
			ctx, cancel := context.WithTimeout(context.Background(), hostileBound)
			defer cancel()
			var (
				wg      sync.WaitGroup
				goodRes *tnccs.Result
				goodErr error
			)
			wg.Add(1)
			go func() {
				defer wg.Done()
				goodRes, goodErr = goodAttest(ctx, t, p, h)
			}()
			peer := runHostileClient(t, tc, p)
			wg.Wait()
			if goodErr != nil || goodRes == nil || !goodRes.Decided || goodRes.Recommendation != pb.RecommendationAllowed {
				t.Errorf("the well-behaved client next to it: %v, %+v", goodErr, goodRes)
			}
			outs, err := p.srv.WaitOutcomes(ctx, n+2)
			if err != nil {
				t.Fatalf("PDP outcomes: %v (have %d, want %d)", err, len(p.srv.Outcomes()), n+2)
			}
			var bad *pdp.Outcome
			for i := range outs[n:] {
				o := &outs[n+i]
				if o.User == goodUser {
					if !o.Decided || o.Err != nil {
						t.Errorf("PDP outcome of the well-behaved client: %+v", o)
					}
				} else {
					bad = o
				}
			}
			if bad == nil {
				t.Fatalf("no outcome for the hostile client among %+v", outs[n:])
			}
			t.Logf("PDP outcome error: %v", bad.Err)
			if !tc.want(bad.Err) {
				t.Errorf("PDP outcome error %v (%T)", bad.Err, bad.Err)
			}
			if bad.Err != nil && !strings.Contains(bad.Err.Error(), tc.text) {
				t.Errorf("error text %q lacks %q", bad.Err, tc.text)
			}
			if (bad.Decided && !tc.mayDecide) || bad.Verdict.Access == pdp.AccessAllowed {
				t.Errorf("the hostile client got a decision: %+v", bad)
			}
			if tc.pbErr != nil {
				if e, why := peer.lastClose(); e == nil {
					t.Errorf("PDP's answer: %s", why)
				} else if e.Code != uint16(*tc.pbErr) {
					t.Errorf("PDP sent %s, want code %s", e, *tc.pbErr)
				}
			}
			if tc.ptErr != nil {
				if len(peer.errs) != 1 || peer.errs[0].Code != *tc.ptErr {
					t.Errorf("PT-TLS errors from the PDP: %v, want one %s", peer.errs, *tc.ptErr)
				}
			}
			leaks.check(t)
		})
	}
	p.srv.Close()
	<-p.served
	noGoroutines(t, connGoroutines...)
}

// goodAttest runs one well-behaved attestation with SASL PLAIN.
func goodAttest(ctx context.Context, t testing.TB, p *pdpEnv, h *host.Host) (*tnccs.Result, error) {
	cfg := tnccs.ClientConfig{Addr: p.addr}
	cfg.PTTLS.RootCAs, cfg.PTTLS.ServerName = p.pool, pdpName
	cfg.PTTLS.Username, cfg.PTTLS.Password = goodUser, goodPass
	cfg.Logger = testLogger(t, "good")
	return tnccs.Dial(ctx, cfg, h)
}

// runHostileClient connects to the PDP and runs tc's script, then reads
// what the PDP sends until it closes.
func runHostileClient(t *testing.T, tc clientCase, p *pdpEnv) *hostileConn {
	nc, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(hostileBound))
	if tc.raw != nil {
		if err := tc.raw(t, nc); err != nil {
			t.Errorf("hostile client: %v", err)
		}
		return &hostileConn{}
	}
	cfg := &tls.Config{RootCAs: p.pool, ServerName: pdpName}
	if tc.clientTLS != nil {
		tc.clientTLS(cfg)
	}
	tcn := tls.Client(nc, cfg)
	c := &hostileConn{Conn: tcn, rcv: pb.SideClient}
	if err := tcn.Handshake(); err != nil {
		if tc.script != nil {
			t.Errorf("hostile client TLS handshake: %v", err)
		}
		return c
	}
	if tc.script != nil {
		if err := tc.script(t, c); err != nil {
			t.Errorf("hostile client script: %v", err)
		}
	} else {
		// TLS 1.3: the PDP checks the client certificate after the
		// client's Finished; its alert shows on the first read.
		_ = c.send(pttls.TypeVersionRequest, []byte{0, 1, 1, 1})
	}
	c.drain()
	return c
}
