package tests

// A scripted malicious PDP against the real client: tnccs.Dial with both
// wasm IMCs in the real host on swtpm. In-package tests of tnccs cover some
// of these cases with a test IMC set (tnccs/raw_test.go: TestIllegalBatchFromServer,
// TestTransportFaults; tnccs/e2e_test.go: TestServerVerification,
// TestRoundLimit); here every case goes through the public API with the
// production IMCs, and each checks the error, the PB-Error the client
// answers with, the time bound and that no goroutine is left behind.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

// hostileBound is the context deadline of one hostile case: every case
// must end well before it (the stall cases end on a 1 s PT-TLS timeout or
// a 2 s context deadline of their own).
const hostileBound = 30 * time.Second

// pdpCase is one misbehaviour of the PDP.
type pdpCase struct {
	name string
	// script runs after the TLS handshake on the PDP side.
	script func(t *testing.T, c *hostileConn) error
	// serverTLS adjusts the PDP's TLS configuration (certificate, versions).
	serverTLS func(cfg *tls.Config)
	// client adjusts the client configuration.
	client func(cfg *tnccs.ClientConfig)
	// ctxTimeout replaces hostileBound for the client's context.
	ctxTimeout time.Duration
	// want says whether the client's error is the right one.
	want func(err error) bool
	// text must appear in the error message.
	text string
	// decided: the case must end with the PDP's (first) decision.
	decided bool
	// pbErr, when set, is the code of the fatal PB-Error the client must
	// send in its last batch, a CLOSE.
	pbErr *pb.ErrorCode
	// ptErr, when set, is the code of the PT-TLS Error message the client
	// must send (RFC 6876 Section 3.9) before it closes.
	ptErr *pttls.ErrorCode
	// check, when set, looks further at the client's result.
	check func(t *testing.T, res *tnccs.Result)
}

func code(c pb.ErrorCode) *pb.ErrorCode { return &c }

// localPB matches a *tnccs.LocalError with the PB-TNC error code c.
func localPB(c pb.ErrorCode) func(error) bool {
	return func(err error) bool {
		var le *tnccs.LocalError
		return errors.As(err, &le) && le.Err.Code == c
	}
}

// ptErr matches a local *pttls.Error with code c.
func ptErr(c pttls.ErrorCode) func(error) bool {
	return func(err error) bool {
		var pe *pttls.Error
		return errors.As(err, &pe) && pe.Code == c
	}
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// firstBatch negotiates PT-TLS (no SASL) and reads the client's first
// batch (CDATA with the IMCs' first messages).
func firstBatch(c *hostileConn) error {
	if err := c.serverNegotiate(); err != nil {
		return err
	}
	_, err := c.expect(pttls.TypePBBatch)
	return err
}

// thenSend answers the first client batch with raw PB-TNC batch bytes.
func thenSend(batch []byte) func(*testing.T, *hostileConn) error {
	return func(t *testing.T, c *hostileConn) error {
		if err := firstBatch(c); err != nil {
			return err
		}
		return c.send(pttls.TypePBBatch, batch)
	}
}

// paHeader is a PB-PA value header (flags, vendor, subtype, IDs) without a
// body: IETF/PA-TNC subtype 1, collector any, validator 1.
var paHeader = []byte{0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0, 1}

func hostilePDPCases(t *testing.T) []pdpCase {
	ca := func(name string) tls.Certificate {
		cert, _, err := pdp.SelfSignedCertificate(time.Hour, name, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	wrongName, otherCA := ca("evil.test"), ca(pdpName)
	return []pdpCase{
		// PB-TNC batch headers
		{name: "batch version 1", script: thenSend(rawBatch(1, true, pb.BatchSDATA, 0)),
			want: localPB(pb.ErrVersionNotSupported), text: "Version Not Supported", pbErr: code(pb.ErrVersionNotSupported)},
		{name: "batch length beyond the data", script: thenSend(rawBatch(2, true, pb.BatchSDATA, 64)),
			want: localPB(pb.ErrInvalidParameter), text: "offset 4", pbErr: code(pb.ErrInvalidParameter)},
		{name: "batch length 4 GiB", script: thenSend(rawBatch(2, true, pb.BatchSDATA, 0xffffffff)),
			want: localPB(pb.ErrInvalidParameter), text: "offset 4", pbErr: code(pb.ErrInvalidParameter)},
		{name: "batch length below its header", script: thenSend(rawBatch(2, true, pb.BatchSDATA, 4)),
			want: localPB(pb.ErrInvalidParameter), text: "offset 4", pbErr: code(pb.ErrInvalidParameter)},
		// PB-TNC message headers
		{name: "message length beyond the batch", script: thenSend(rawBatch(2, true, pb.BatchSDATA, 0,
			rawMsg(true, pb.VendorIETF, 1, 200, paHeader))),
			want: localPB(pb.ErrInvalidParameter), text: "offset 16", pbErr: code(pb.ErrInvalidParameter)},
		{name: "message length 4 GiB", script: thenSend(rawBatch(2, true, pb.BatchSDATA, 0,
			rawMsg(true, pb.VendorIETF, 1, 0xffffffff, paHeader))),
			want: localPB(pb.ErrInvalidParameter), text: "offset 16", pbErr: code(pb.ErrInvalidParameter)},
		{name: "message length below its header", script: thenSend(rawBatch(2, true, pb.BatchSDATA, 0,
			rawMsg(true, pb.VendorIETF, 1, 8, paHeader))),
			want: localPB(pb.ErrInvalidParameter), text: "offset 16", pbErr: code(pb.ErrInvalidParameter)},
		{name: "unknown NOSKIP message", script: thenSend(rawBatch(2, true, pb.BatchSDATA, 0,
			rawMsg(true, 0x123456, 7, 0, []byte("must understand")))),
			want: localPB(pb.ErrUnsupportedMandatoryMessage), text: "offset 8", pbErr: code(pb.ErrUnsupportedMandatoryMessage)},
		// batch types illegal in the state (Server Working after the client's CDATA)
		{name: "CDATA from the PDP", script: thenSend(rawBatch(2, true, pb.BatchCDATA, 0)),
			want: localPB(pb.ErrUnexpectedBatchType), text: "Unexpected Batch Type", pbErr: code(pb.ErrUnexpectedBatchType)},
		{name: "CRETRY from the PDP", script: thenSend(rawBatch(2, true, pb.BatchCRETRY, 0)),
			want: localPB(pb.ErrUnexpectedBatchType), text: "Unexpected Batch Type", pbErr: code(pb.ErrUnexpectedBatchType)},
		{name: "second RESULT after the decision", script: func(t *testing.T, c *hostileConn) error {
			if err := firstBatch(c); err != nil {
				return err
			}
			// SRETRY back to Server Working is legal; RESULT twice in a row is not
			// (the client answers RESULT with CLOSE and is in End).
			res := batchBytes(t, true, pb.BatchRESULT, &pb.MsgAssessmentResult{Result: pb.ResultCompliant},
				&pb.MsgAccessRecommendation{Recommendation: pb.RecommendationAllowed})
			return c.sendRaw(append(frameBytes(pttls.TypePBBatch, 9, res), frameBytes(pttls.TypePBBatch, 10, res)...))
		}, want: func(err error) bool { return err == nil }, decided: true},
		// endless ping-pong, ended by the client's round limit
		{name: "endless SDATA", script: func(t *testing.T, c *hostileConn) error {
			if err := firstBatch(c); err != nil {
				return err
			}
			for range 50 {
				if err := c.send(pttls.TypePBBatch, batchBytes(t, true, pb.BatchSDATA)); err != nil {
					return nil
				}
				if _, err := c.expect(pttls.TypePBBatch); err != nil {
					return nil
				}
				if c.got[len(c.got)-1].Type == pb.BatchCLOSE {
					return nil
				}
			}
			return errors.New("the client answered 50 empty SDATA batches")
		}, client: func(cfg *tnccs.ClientConfig) { cfg.MaxRounds = 8 },
			want: isErr(tnccs.ErrTooManyRounds), text: "too many PB-TNC batches", pbErr: code(pb.ErrLocalError)},
		// PT-TLS framing
		{name: "PT-TLS length 4 GiB", script: func(t *testing.T, c *hostileConn) error {
			if err := firstBatch(c); err != nil {
				return err
			}
			f := frameBytes(pttls.TypePBBatch, 7, nil)
			binary.BigEndian.PutUint32(f[8:], 0xffffffff)
			return c.sendRaw(f)
		}, want: ptErr(pttls.ErrInvalidParameter), text: "Invalid Parameter", ptErr: ptCode(pttls.ErrInvalidParameter)},
		// PT-TLS version negotiation (RFC 6876 Section 3.7)
		{name: "Version Response of 2 bytes", script: func(t *testing.T, c *hostileConn) error {
			if _, err := c.expect(pttls.TypeVersionRequest); err != nil {
				return err
			}
			return c.send(pttls.TypeVersionResponse, []byte{0, 1})
		}, want: ptErr(pttls.ErrMalformedMessage), text: "Version Response value of 2 bytes", ptErr: ptCode(pttls.ErrMalformedMessage)},
		{name: "Version Response selecting version 2", script: func(t *testing.T, c *hostileConn) error {
			if _, err := c.expect(pttls.TypeVersionRequest); err != nil {
				return err
			}
			return c.send(pttls.TypeVersionResponse, []byte{0, 0, 0, 2})
		}, want: ptErr(pttls.ErrVersionNotSupported), text: "server selected PT-TLS version 2", ptErr: ptCode(pttls.ErrVersionNotSupported)},
		{name: "Version Response of another vendor", script: func(t *testing.T, c *hostileConn) error {
			if _, err := c.expect(pttls.TypeVersionRequest); err != nil {
				return err
			}
			f := frameBytes(pttls.TypeVersionResponse, 0, []byte{0, 0, 0, 1})
			f[1], f[2], f[3] = 0x12, 0x34, 0x56
			return c.sendRaw(f)
		}, want: ptErr(pttls.ErrInvalidMessage), text: "expected Version Response, got vendor 0x123456 message type 2", ptErr: ptCode(pttls.ErrInvalidMessage)},
		// RESULT batches (RFC 5793 Section 4.6: exactly one PB-Assessment-Result)
		{name: "RESULT without Assessment-Result", script: thenSend(batchBytes(t, true, pb.BatchRESULT,
			&pb.MsgAccessRecommendation{Recommendation: pb.RecommendationAllowed})),
			want: localPB(pb.ErrInvalidParameter), text: "Invalid Parameter (offset 0 bytes)", pbErr: code(pb.ErrInvalidParameter)},
		{name: "RESULT with two Assessment-Results", script: thenSend(batchBytes(t, true, pb.BatchRESULT,
			&pb.MsgAssessmentResult{Result: pb.ResultNonCompliantMajor},
			&pb.MsgAssessmentResult{Result: pb.ResultCompliant},
			&pb.MsgAccessRecommendation{Recommendation: pb.RecommendationAllowed})),
			want: localPB(pb.ErrInvalidParameter), text: "Invalid Parameter (offset 24 bytes)", pbErr: code(pb.ErrInvalidParameter)},
		// PB-PDP-Referral: only a host name and a port are followed
		{name: "referral to a host name with a newline", script: thenSend(batchBytes(t, true, pb.BatchRESULT,
			&pb.MsgAssessmentResult{Result: pb.ResultCompliant},
			&pb.MsgAccessRecommendation{Recommendation: pb.RecommendationAllowed},
			&pb.MsgPDPReferral{Vendor: pb.VendorTCG, IDType: pb.PDPIDFQDN, Port: 271, FQDN: "evil.test\n[TNC] forged"})),
			want: func(err error) bool { return err == nil }, decided: true, check: noReferral},
		{name: "referral to port 0", script: thenSend(batchBytes(t, true, pb.BatchRESULT,
			&pb.MsgAssessmentResult{Result: pb.ResultCompliant},
			&pb.MsgAccessRecommendation{Recommendation: pb.RecommendationAllowed},
			&pb.MsgPDPReferral{Vendor: pb.VendorTCG, IDType: pb.PDPIDFQDN, Port: 0, FQDN: "pdp2.test"})),
			want: func(err error) bool { return err == nil }, decided: true, check: noReferral},
		{name: "PT-TLS length below its header", script: func(t *testing.T, c *hostileConn) error {
			if err := firstBatch(c); err != nil {
				return err
			}
			f := frameBytes(pttls.TypePBBatch, 7, nil)
			binary.BigEndian.PutUint32(f[8:], 15)
			return c.sendRaw(f)
		}, want: ptErr(pttls.ErrMalformedMessage), text: "Malformed Message"},
		{name: "PB-TNC batch during negotiation", script: func(t *testing.T, c *hostileConn) error {
			if _, err := c.expect(pttls.TypeVersionRequest); err != nil {
				return err
			}
			return c.send(pttls.TypePBBatch, rawBatch(2, true, pb.BatchRESULT, 0))
		}, want: ptErr(pttls.ErrInvalidMessage), text: "expected Version Response"},
		// stalls
		{name: "stall mid-frame (PT-TLS timeout)", script: func(t *testing.T, c *hostileConn) error {
			if err := firstBatch(c); err != nil {
				return err
			}
			return c.sendRaw(frameBytes(pttls.TypePBBatch, 7, rawBatch(2, true, pb.BatchSDATA, 0))[:10])
		}, client: func(cfg *tnccs.ClientConfig) { cfg.PTTLS.Timeout = time.Second },
			want: isErr(os.ErrDeadlineExceeded), text: "peer stalled"},
		{name: "stall mid-value (context deadline)", script: func(t *testing.T, c *hostileConn) error {
			if err := firstBatch(c); err != nil {
				return err
			}
			return c.sendRaw(frameBytes(pttls.TypePBBatch, 7, rawBatch(2, true, pb.BatchSDATA, 0))[:20])
			// The context's deadline is also the read deadline; when the
			// read fails first, pttls reports a stalled peer instead (see
			// the report: ioErr looks at ctx.Err() only).
		}, ctxTimeout: 2 * time.Second, want: func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
		}, text: "reading PT-TLS message value"},
		// SASL downgrade attempts (the client has PLAIN credentials)
		{name: "SASL: only mechanisms the client lacks", script: func(t *testing.T, c *hostileConn) error {
			return c.serverNegotiate("ANONYMOUS", "EXTERNAL")
		}, client: withCredentials, want: isErr(pttls.ErrAuthFailed), text: "no supported SASL mechanism"},
		{name: "SASL: result before any mechanism list", script: func(t *testing.T, c *hostileConn) error {
			if _, err := c.expect(pttls.TypeVersionRequest); err != nil {
				return err
			}
			if err := c.send(pttls.TypeVersionResponse, []byte{0, 0, 0, 1}); err != nil {
				return err
			}
			return c.send(pttls.TypeSASLResult, []byte{0})
		}, client: withCredentials, want: ptErr(pttls.ErrInvalidMessage), text: "expected SASL Mechanisms"},
		{name: "SASL: PB-TNC batch instead of authentication", script: func(t *testing.T, c *hostileConn) error {
			if _, err := c.expect(pttls.TypeVersionRequest); err != nil {
				return err
			}
			if err := c.send(pttls.TypeVersionResponse, []byte{0, 0, 0, 1}); err != nil {
				return err
			}
			return c.send(pttls.TypePBBatch, rawBatch(2, true, pb.BatchRESULT, 0))
		}, client: withCredentials, want: ptErr(pttls.ErrInvalidMessage), text: "expected SASL Mechanisms"},
		{name: "SASL: failure result", script: func(t *testing.T, c *hostileConn) error {
			if err := c.serverNegotiate("PLAIN"); err != nil {
				return err
			}
			if _, err := c.expect(pttls.TypeSASLMechSelection); err != nil {
				return err
			}
			return c.send(pttls.TypeSASLResult, []byte{1})
		}, client: withCredentials, want: isErr(pttls.ErrAuthFailed), text: "SASL authentication failed"},
		{name: "SASL: endless PLAIN rounds", script: func(t *testing.T, c *hostileConn) error {
			if err := c.serverNegotiate("PLAIN"); err != nil {
				return err
			}
			for range 10 {
				if _, err := c.expect(pttls.TypeSASLMechSelection); err != nil {
					return nil
				}
				if err := c.sendRaw(append(frameBytes(pttls.TypeSASLResult, 3, []byte{0}),
					frameBytes(pttls.TypeSASLMechanisms, 4, mechList("PLAIN"))...)); err != nil {
					return nil
				}
			}
			return errors.New("the client authenticated 10 times")
		}, client: withCredentials, want: ptErr(pttls.ErrInvalidMessage), text: "too many SASL rounds"},
		// TLS
		{name: "certificate for the wrong name", serverTLS: func(cfg *tls.Config) { cfg.Certificates = []tls.Certificate{wrongName} },
			want: func(err error) bool { var he x509.HostnameError; return errors.As(err, &he) }, text: "evil.test"},
		{name: "certificate from an unknown CA", serverTLS: func(cfg *tls.Config) { cfg.Certificates = []tls.Certificate{otherCA} },
			want: func(err error) bool { var ue x509.UnknownAuthorityError; return errors.As(err, &ue) }, text: "unknown authority"},
		{name: "TLS 1.1 only", serverTLS: func(cfg *tls.Config) { cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 },
			want: func(err error) bool { return err != nil && strings.Contains(err.Error(), "TLS handshake") }, text: "protocol version"},
	}
}

// noReferral: the client kept no PB-PDP-Referral to follow.
func noReferral(t *testing.T, res *tnccs.Result) {
	if res != nil && res.PDPReferral != nil {
		t.Errorf("the client would follow the referral %+v", res.PDPReferral)
	}
}

func ptCodeOf(errs []*pttls.Error) []pttls.ErrorCode {
	var out []pttls.ErrorCode
	for _, e := range errs {
		out = append(out, e.Code)
	}
	return out
}

func withCredentials(cfg *tnccs.ClientConfig) {
	cfg.PTTLS.Username, cfg.PTTLS.Password = "client.test", "secret"
}

// TestHostilePDP runs each misbehaving PDP against the real client and host.
func TestHostilePDP(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	h := newHost(t, env.platform(t, fixtureRoot(t, false)), imcConfigs(t, env.logPath))
	cert, pool, err := pdp.SelfSignedCertificate(time.Hour, pdpName, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range hostilePDPCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			leaks := startGoroutineCheck()
			res, err, peer := runHostilePDP(t, tc, h, cert, pool)
			t.Logf("client error: %v", err)
			if !tc.want(err) {
				t.Fatalf("error %v (%T), result %+v", err, err, res)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error text %q lacks %q", err, tc.text)
			}
			if err != nil && res != nil && res.Decided {
				t.Errorf("a decision from a misbehaving PDP: %+v", res)
			}
			if tc.decided && (res == nil || !res.Decided || res.Recommendation != pb.RecommendationAllowed) {
				t.Errorf("want the first decision (allowed), got %+v", res)
			}
			if tc.pbErr != nil {
				e, why := peer.lastClose()
				if e == nil {
					t.Errorf("client's answer: %s", why)
				} else if e.Code != uint16(*tc.pbErr) {
					t.Errorf("client sent %s, want code %s", e, *tc.pbErr)
				}
			}
			if tc.ptErr != nil {
				if got := ptCodeOf(peer.errs); len(got) != 1 || got[0] != *tc.ptErr {
					t.Errorf("PT-TLS errors from the client: %v, want one %s", got, *tc.ptErr)
				}
			}
			if tc.check != nil {
				tc.check(t, res)
			}
			if k := h.Instances(); k != 0 {
				t.Errorf("%d IMC instances left after the case", k)
			}
			leaks.check(t)
			noGoroutines(t, connGoroutines...)
		})
	}
}

// runHostilePDP serves one connection with tc's script and runs the client
// against it; it returns the client's result and error and the PDP's view.
func runHostilePDP(t *testing.T, tc pdpCase, h *host.Host, cert tls.Certificate, pool *x509.CertPool) (*tnccs.Result, error, *hostileConn) {
	ln := loopback(t)
	done := make(chan *hostileConn, 1)
	go func() {
		defer ln.Close()
		nc, err := ln.Accept()
		if err != nil {
			done <- nil
			return
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		if tc.serverTLS != nil {
			tc.serverTLS(cfg)
		}
		tcn := tls.Server(nc, cfg)
		defer tcn.Close()
		_ = tcn.SetDeadline(time.Now().Add(hostileBound))
		c := &hostileConn{Conn: tcn, rcv: pb.SideServer}
		if tcn.Handshake() == nil && tc.script != nil {
			if err := tc.script(t, c); err != nil {
				t.Errorf("hostile PDP script: %v", err)
			}
			c.drain()
		}
		done <- c
	}()
	ccfg := tnccs.ClientConfig{Addr: ln.Addr().String()}
	ccfg.PTTLS.RootCAs, ccfg.PTTLS.ServerName = pool, pdpName
	ccfg.PTTLS.Timeout = 10 * time.Second
	ccfg.Logger = testLogger(t, "")
	if tc.client != nil {
		tc.client(&ccfg)
	}
	bound := hostileBound
	if tc.ctxTimeout != 0 {
		bound = tc.ctxTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	res, err := tnccs.Dial(ctx, ccfg, h)
	if tc.ctxTimeout == 0 && ctx.Err() != nil {
		t.Errorf("the case hit its %s bound: %v", bound, err)
	}
	return res, err, <-done
}
