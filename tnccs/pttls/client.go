package pttls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"
)

// ClientConfig configures the client (endpoint) side.
type ClientConfig struct {
	// ServerName is the name the server certificate must carry. Empty:
	// the host part of the dialled address.
	ServerName string
	// RootCAs verifies the server certificate. When nil, CAPEM is used;
	// when both are empty, the system roots.
	RootCAs *x509.CertPool
	// CAPEM holds PEM CA certificates, an alternative to RootCAs.
	CAPEM []byte
	// Certificate is the optional client certificate; CertPEM and KeyPEM
	// are the PEM alternative.
	Certificate     *tls.Certificate
	CertPEM, KeyPEM []byte
	// InsecureSkipVerify disables server certificate verification. It is
	// for tests and debugging only and logs a warning on every use.
	InsecureSkipVerify bool
	// Username and Password are used for SASL PLAIN when the server asks.
	Username, Password string
	// Timeout bounds the TLS handshake and every message read or write
	// (DefaultTimeout when 0).
	Timeout time.Duration
	// MaxMessageSize bounds a received message value
	// (DefaultMaxMessageSize when 0).
	MaxMessageSize int
	// Logger receives the "tls" subsystem logs (none when nil).
	Logger hclog.Logger
	// MaxVersion is the highest TLS version offered. 0 offers TLS 1.3 and
	// lets Dial retry once with TLS 1.2 after the one failure that
	// strongSwan's TLS server causes (see ErrTLS13Undecodable);
	// tls.VersionTLS13 offers TLS 1.3 without that retry;
	// tls.VersionTLS12 offers TLS 1.2 only.
	MaxVersion uint16
}

// ErrTLS13Undecodable is the handshake failure after which Dial retries
// with TLS 1.2: the server chose TLS 1.3 and one of its handshake messages
// before its certificate did not decode. strongSwan's TLS server (up to at
// least 5.9) causes it: its TLS 1.3 CertificateRequest lists only RSA CA
// certificates in certificate_authorities, so a server holding only ECDSA
// CAs sends that extension with an empty list, which RFC 8446 Section
// 4.2.4 forbids and crypto/tls refuses with a decode_error alert. TLS 1.2
// lets the list be empty (RFC 5246 Section 7.4.4).
var ErrTLS13Undecodable = errors.New("pttls: the PDP's TLS 1.3 handshake did not decode before its certificate")

func (cfg *ClientConfig) tlsConfig(log hclog.Logger, serverName string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: cfg.MaxVersion, ServerName: serverName, RootCAs: cfg.RootCAs}
	if tc.RootCAs == nil && len(cfg.CAPEM) > 0 {
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(cfg.CAPEM) {
			return nil, errors.New("pttls: no CA certificate found in CAPEM")
		}
	}
	switch {
	case cfg.Certificate != nil:
		tc.Certificates = []tls.Certificate{*cfg.Certificate}
	case len(cfg.CertPEM) > 0:
		c, err := tls.X509KeyPair(cfg.CertPEM, cfg.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("pttls: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	if cfg.InsecureSkipVerify {
		log.Warn("server certificate verification is DISABLED (insecure_skip_verify): anyone can impersonate the PDP")
		tc.InsecureSkipVerify = true
	}
	if tc.ServerName == "" && !tc.InsecureSkipVerify {
		return nil, errors.New("pttls: no server name to verify the server certificate against")
	}
	return tc, nil
}

// Dial connects to a PT-TLS server at addr ("host:port"): TCP, TLS (server
// verified), version negotiation and client authentication. The returned
// Conn is in the data phase.
//
// With cfg.MaxVersion 0, a TLS 1.3 handshake that fails with
// ErrTLS13Undecodable is tried once more on a new connection offering TLS
// 1.2 only, and a warning says so; Conn.FellBack then reports it.
func Dial(ctx context.Context, addr string, cfg ClientConfig) (*Conn, error) {
	c, err := dial(ctx, addr, cfg)
	if cfg.MaxVersion != 0 || !errors.Is(err, ErrTLS13Undecodable) {
		return c, err
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	log.Warn(fmt.Sprintf("PDP '%s' chose TLS 1.3 and sent a handshake message before its certificate that does not decode "+
		"(tls: error decoding message), as strongSwan's CertificateRequest with an empty certificate_authorities list does "+
		"(a PDP holding only ECDSA CA certificates): retrying with TLS 1.2 for this PDP", addr))
	cfg.MaxVersion = tls.VersionTLS12
	c, err = dial(ctx, addr, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (after falling back to TLS 1.2)", err)
	}
	c.fellBack = true
	return c, nil
}

func dial(ctx context.Context, addr string, cfg ClientConfig) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pttls: %w", err)
	}
	nc = quickAck(nc)
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("pttls: %w", err)
		}
		cfg.ServerName = host
	}
	c, err := Client(ctx, nc, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Client runs TLS and the PT-TLS negotiation phase over an established
// connection. On error the caller closes nc.
func Client(ctx context.Context, nc net.Conn, cfg ClientConfig) (*Conn, error) {
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	tcfg, err := cfg.tlsConfig(log, cfg.ServerName)
	if err != nil {
		return nil, err
	}
	// Whether the server's certificate was reached tells a message before
	// it that did not decode (ErrTLS13Undecodable) from any later failure.
	sawCert := false
	verify := tcfg.VerifyPeerCertificate
	tcfg.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
		sawCert = true
		if verify != nil {
			return verify(raw, chains)
		}
		return nil
	}
	tc := tls.Client(nc, tcfg)
	c := newConn(tc, log, cfg.Timeout, cfg.MaxMessageSize, false)
	stop := c.deadline(ctx)
	err = tc.HandshakeContext(ctx)
	stop()
	if err != nil {
		if ctx.Err() == nil && !sawCert && tc.ConnectionState().Version == tls.VersionTLS13 && isDecodeError(err) {
			return nil, fmt.Errorf("%w: %w", ErrTLS13Undecodable, ioErr(ctx, "TLS handshake", err))
		}
		return nil, ioErr(ctx, "TLS handshake", err)
	}
	st := tc.ConnectionState()
	log.Debug(fmt.Sprintf("TLS session established with '%s' (%s, %s)", tcfg.ServerName, tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)), "version", tls.VersionName(st.Version),
		"suite", tls.CipherSuiteName(st.CipherSuite))
	if err := c.clientVersion(ctx); err != nil {
		return nil, c.refuse(ctx, err)
	}
	if err := c.clientAuth(ctx, &cfg); err != nil {
		return nil, c.refuse(ctx, err)
	}
	return c, nil
}

// refuse tells the server about a protocol error found here with a PT-TLS
// Error message (RFC 6876 Section 3.9: the offending message's header
// copied in) before the connection closes, and returns err.
func (c *Conn) refuse(ctx context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) {
		_ = c.SendError(ctx, e.Code, e.header)
	}
	return err
}

// Version Request value, RFC 6876 Section 3.6:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Reserved   |  Min Vers     |  Max Vers     |  Pref Vers    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Version Response value, Section 3.7:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Reserved                     |    Version    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
func (c *Conn) clientVersion(ctx context.Context) error {
	if err := c.WriteMessage(ctx, VendorIETF, TypeVersionRequest, []byte{0, Version, Version, Version}); err != nil {
		return err
	}
	m, err := c.ReadMessage(ctx)
	if err != nil {
		return err
	}
	switch {
	case m.Vendor == VendorIETF && m.Type == TypeError:
		return parsePeerError(m.Value)
	case m.Vendor != VendorIETF || m.Type != TypeVersionResponse:
		return &Error{Code: ErrInvalidMessage, Reason: "expected Version Response, got " + m.describe(), header: headerOf(m)}
	case len(m.Value) != 4:
		return &Error{Code: ErrMalformedMessage, header: headerOf(m),
			Reason: fmt.Sprintf("Version Response value of %d bytes (%x), RFC 6876 Section 3.7 has 4", len(m.Value), m.Value)}
	case m.Value[3] != Version:
		return &Error{Code: ErrVersionNotSupported, header: headerOf(m),
			Reason: fmt.Sprintf("server selected PT-TLS version %d, this client speaks %d", m.Value[3], Version)}
	}
	c.log.Debug("negotiated PT-TLS version 1")
	return nil
}

func (c *Conn) clientAuth(ctx context.Context, cfg *ClientConfig) error {
	for round := 0; round < 4; round++ {
		m, err := c.readNegotiation(ctx, TypeSASLMechanisms)
		if err != nil {
			return err
		}
		mechs, err := parseMechanisms(m.Value)
		if err != nil {
			return err
		}
		if len(mechs) == 0 {
			c.log.Debug("PT-TLS client authentication complete")
			return nil
		}
		c.log.Debug("server offers SASL mechanisms", "mechanisms", mechs)
		switch {
		case !slices.Contains(mechs, MechPLAIN):
			return fmt.Errorf("%w: no supported SASL mechanism among %v (this client speaks PLAIN)", ErrAuthFailed, mechs)
		case cfg.Username == "":
			return fmt.Errorf("%w: the PDP asks for a user name and password (SASL %s) and none is configured", ErrAuthFailed, MechPLAIN)
		}
		c.log.Info(fmt.Sprintf("SASL %s authentication as '%s'", MechPLAIN, cfg.Username))
		sel := append(marshalMechanisms(MechPLAIN), plainResponse(cfg.Username, cfg.Password)...)
		if err := c.WriteMessage(ctx, VendorIETF, TypeSASLMechSelection, sel); err != nil {
			return err
		}
		for done := false; !done; {
			m, err := c.ReadMessage(ctx)
			if err != nil {
				return err
			}
			switch {
			case m.Vendor == VendorIETF && m.Type == TypeError:
				return parsePeerError(m.Value)
			case m.Vendor == VendorIETF && m.Type == TypeSASLAuthData:
				// PLAIN has no challenge; a server that did not take the
				// initial response asks with empty data.
				if err := c.WriteMessage(ctx, VendorIETF, TypeSASLAuthData, plainResponse(cfg.Username, cfg.Password)); err != nil {
					return err
				}
			case m.Vendor == VendorIETF && m.Type == TypeSASLResult:
				r, err := parseSASLResult(m.Value)
				if err != nil {
					return err
				}
				if err := r.err(); err != nil {
					c.log.Error(fmt.Sprintf("SASL %s authentication failed: %s", MechPLAIN, r))
					return fmt.Errorf("%w (the PDP refused user '%s')", err, cfg.Username)
				}
				c.log.Info(fmt.Sprintf("SASL %s authentication successful", MechPLAIN))
				done = true
			default:
				return &Error{Code: ErrInvalidMessage, Reason: "unexpected " + m.describe() + " during SASL", header: headerOf(m)}
			}
		}
	}
	return &Error{Code: ErrInvalidMessage, Reason: "too many SASL rounds"}
}

// readNegotiation reads a message of the given IETF type, turning a PT-TLS
// Error into *PeerError and anything else into *Error.
func (c *Conn) readNegotiation(ctx context.Context, want MsgType) (*Message, error) {
	m, err := c.ReadMessage(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case m.Vendor == VendorIETF && m.Type == TypeError:
		return nil, parsePeerError(m.Value)
	case m.Vendor != VendorIETF || m.Type != want:
		return nil, &Error{Code: ErrInvalidMessage, Reason: fmt.Sprintf("expected %s, got %s", want, m.describe()), header: headerOf(m)}
	}
	return m, nil
}

// isDecodeError reports whether err is crypto/tls refusing a handshake
// message it could not parse: the decode_error alert it sent, which it
// returns as a *net.OpError "local error" (the alert type is unexported,
// so its text is what identifies it).
func isDecodeError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "local error" && op.Err != nil && op.Err.Error() == "tls: error decoding message"
}
