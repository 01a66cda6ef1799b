package pttls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
)

// ServerConfig configures the server (PDP) side.
type ServerConfig struct {
	// Certificates are the server's TLS certificates (at least one).
	Certificates []tls.Certificate
	// ClientCAs, when set, lets clients authenticate with a certificate
	// (requested, verified if given). A verified client skips SASL.
	ClientCAs *x509.CertPool
	// VerifyPlain, when set, offers SASL PLAIN to clients without a
	// certificate and checks their credentials.
	VerifyPlain func(user, password string) bool
	// AllowAnonymous lets a client without certificate proceed when no
	// VerifyPlain is set. Without it, such a server requires ClientCAs and
	// a client certificate, or refuses everyone (no method configured).
	AllowAnonymous bool
	// Throttle, when set, delays SASL attempts after failures from the
	// same address or for the same user (see Throttle).
	Throttle *Throttle
	// RFCSASLResult sends the 2-byte SASL result of RFC 6876 instead of
	// strongSwan's single byte.
	RFCSASLResult bool
	// Timeout bounds the TLS handshake and every message read or write
	// (DefaultTimeout when 0).
	Timeout time.Duration
	// MaxMessageSize bounds a received message value
	// (DefaultMaxMessageSize when 0).
	MaxMessageSize int
	// Logger receives the "tls" subsystem logs (none when nil).
	Logger hclog.Logger
}

// Server runs TLS, version negotiation and client authentication as the
// server over an accepted connection. On error the caller closes nc.
func Server(ctx context.Context, nc net.Conn, cfg ServerConfig) (*Conn, error) {
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if len(cfg.Certificates) == 0 {
		return nil, errors.New("pttls: server has no certificate")
	}
	tcfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: cfg.Certificates}
	if cfg.ClientCAs != nil {
		tcfg.ClientCAs = cfg.ClientCAs
		tcfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	tc := tls.Server(nc, tcfg)
	c := newConn(tc, log, cfg.Timeout, cfg.MaxMessageSize, true)
	stop := c.deadline(ctx)
	err := tc.HandshakeContext(ctx)
	stop()
	if err != nil {
		return nil, ioErr(ctx, "TLS handshake", err)
	}
	if err := c.serverVersion(ctx); err != nil {
		return nil, err
	}
	if err := c.serverAuth(ctx, &cfg); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Conn) serverVersion(ctx context.Context) error {
	m, err := c.ReadMessage(ctx)
	if err != nil {
		return err
	}
	if m.Vendor != VendorIETF || m.Type != TypeVersionRequest || len(m.Value) != 4 {
		_ = c.SendError(ctx, ErrInvalidMessage, headerOf(m))
		return &Error{Code: ErrInvalidMessage, Reason: fmt.Sprintf("expected Version Request, got %s", m.Type)}
	}
	lo, hi := m.Value[1], m.Value[2]
	if lo > Version || hi < Version {
		c.log.Error(fmt.Sprintf("client supports PT-TLS versions %d..%d only", lo, hi))
		_ = c.SendError(ctx, ErrVersionNotSupported, headerOf(m))
		return &Error{Code: ErrVersionNotSupported, Reason: fmt.Sprintf("client versions %d..%d", lo, hi)}
	}
	return c.WriteMessage(ctx, VendorIETF, TypeVersionResponse, []byte{0, 0, 0, Version})
}

func (c *Conn) serverAuth(ctx context.Context, cfg *ServerConfig) error {
	if st := c.tc.ConnectionState(); len(st.VerifiedChains) > 0 {
		c.identity = certIdentity(st.VerifiedChains[0][0])
		c.log.Info("skipping SASL, client already authenticated by TLS certificate", "identity", c.identity)
		return c.WriteMessage(ctx, VendorIETF, TypeSASLMechanisms, nil)
	}
	if cfg.VerifyPlain == nil {
		if !cfg.AllowAnonymous {
			_ = c.SendError(ctx, ErrSASLMechanismError, nil)
			return fmt.Errorf("%w: client has no certificate and no SASL mechanism is configured", ErrAuthFailed)
		}
		return c.WriteMessage(ctx, VendorIETF, TypeSASLMechanisms, nil)
	}
	if err := c.WriteMessage(ctx, VendorIETF, TypeSASLMechanisms, marshalMechanisms(MechPLAIN)); err != nil {
		return err
	}
	m, err := c.readNegotiation(ctx, TypeSASLMechSelection)
	if err != nil {
		if e := (*Error)(nil); errors.As(err, &e) {
			_ = c.SendError(ctx, e.Code, nil)
		}
		return err
	}
	mech, resp, err := parseSelection(m.Value)
	if err == nil && mech != MechPLAIN {
		err = &Error{Code: ErrSASLMechanismError, Reason: fmt.Sprintf("unsupported SASL mechanism '%s'", mech)}
	}
	if err == nil && len(resp) == 0 {
		// no initial response: ask for it with empty data
		if err = c.WriteMessage(ctx, VendorIETF, TypeSASLAuthData, nil); err == nil {
			var d *Message
			if d, err = c.readNegotiation(ctx, TypeSASLAuthData); err == nil {
				resp = d.Value
			}
		}
	}
	var user, pass string
	if err == nil {
		_, user, pass, err = parsePlain(resp)
	}
	if err != nil {
		if e := (*Error)(nil); errors.As(err, &e) {
			_ = c.SendError(ctx, e.Code, headerOf(m))
		}
		return err
	}
	source := c.tc.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(source); err == nil {
		source = h
	}
	if cfg.Throttle != nil {
		if d := cfg.Throttle.Delay(source, user); d > 0 {
			c.log.Info(fmt.Sprintf("SASL %s authentication of '%s' delayed %s after failures", MechPLAIN, user, d))
		}
		if err := cfg.Throttle.Wait(ctx, source, user); err != nil {
			return ioErr(ctx, "SASL throttle", err)
		}
	}
	if !cfg.VerifyPlain(user, pass) {
		if cfg.Throttle != nil {
			cfg.Throttle.Failed(source, user)
		}
		c.log.Error(fmt.Sprintf("SASL %s authentication of '%s' failed", MechPLAIN, user))
		_ = c.WriteMessage(ctx, VendorIETF, TypeSASLResult, c.saslResult(cfg, SASLAbort))
		return fmt.Errorf("%w: wrong credentials for '%s'", ErrAuthFailed, user)
	}
	if cfg.Throttle != nil {
		cfg.Throttle.Succeeded(user)
	}
	c.identity = user
	c.log.Info(fmt.Sprintf("SASL %s authentication of '%s' successful", MechPLAIN, user))
	if err := c.WriteMessage(ctx, VendorIETF, TypeSASLResult, c.saslResult(cfg, SASLSuccess)); err != nil {
		return err
	}
	return c.WriteMessage(ctx, VendorIETF, TypeSASLMechanisms, nil)
}

func (c *Conn) saslResult(cfg *ServerConfig, r SASLResult) []byte {
	if cfg.RFCSASLResult {
		return []byte{byte(r >> 8), byte(r)}
	}
	return []byte{byte(r)}
}

func certIdentity(cert *x509.Certificate) string {
	switch {
	case cert.Subject.CommonName != "":
		return cert.Subject.CommonName
	case len(cert.DNSNames) > 0:
		return cert.DNSNames[0]
	case len(cert.EmailAddresses) > 0:
		return cert.EmailAddresses[0]
	}
	return cert.Subject.String()
}
