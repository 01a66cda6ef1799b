package tnccs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

// BatchConn carries whole PB-TNC batches; *pttls.Conn implements it.
// ReadBatch returns an error wrapping io.EOF when the peer closed.
type BatchConn interface {
	WriteBatch(ctx context.Context, batch []byte) error
	ReadBatch(ctx context.Context) ([]byte, error)
}

// DefaultMaxRounds bounds the batches a connection may receive.
const DefaultMaxRounds = 100

// DefaultLanguage is the PB-Language-Preference a client sends.
const DefaultLanguage = "en"

// Options are the PB-TNC settings both roles share.
type Options struct {
	// Limits bounds batches and PA messages. A limit left at 0 is the
	// transport's: PT-TLS's (pb.PTTLSLimits) when Client.Assess or
	// Server.Serve dial or accept it, else IF-T for EAP's (pb defaults).
	Limits pb.Limits
	// MaxRounds ends a connection that has received this many batches
	// without reaching a decision (DefaultMaxRounds when 0): an endless
	// SDATA/CDATA ping-pong gets a fatal Local Error.
	MaxRounds int
	// Logger is the parent logger; PB-TNC logs under "tnc", PT-TLS under
	// "tls". None when nil.
	Logger hclog.Logger
	// OnBatch, when set, observes every batch sent (sent=true) or received
	// and parsed, with its size in bytes. It runs synchronously.
	OnBatch func(sent bool, b *pb.Batch, size int)
}

func (o *Options) rounds() int {
	if o.MaxRounds <= 0 {
		return DefaultMaxRounds
	}
	return o.MaxRounds
}

func (o *Options) logger(name string) hclog.Logger {
	if o.Logger == nil {
		return hclog.NewNullLogger()
	}
	return o.Logger.Named(name)
}

// ClientConfig configures the client (endpoint) role.
type ClientConfig struct {
	// Addr is the PDP's "host:port" (port 271 is PT-TLS's).
	Addr string
	// PTTLS configures TLS and PT-TLS (server verification, client
	// certificate, SASL PLAIN credentials, timeouts). Its Logger defaults
	// to Options.Logger named "tls".
	PTTLS pttls.ClientConfig
	// Language is the PB-Language-Preference list (DefaultLanguage when
	// empty); the message value is "Accept-Language: " + Language.
	Language string
	// CloseWait bounds the wait for the server to close TLS after our
	// CLOSE batch (2 s when 0).
	CloseWait time.Duration
	// MaxServerRetries bounds the re-assessments a PDP may ask for with
	// SRETRY in a Session between two of the client's own (CRETRY):
	// beyond it the client closes the session with ErrTooManyRetries, so
	// that a PDP sending SRETRY after every RESULT cannot keep it busy
	// (DefaultMaxServerRetries when 0).
	MaxServerRetries int
	Options
}

// ServerConfig configures the server (PDP) role.
type ServerConfig struct {
	// PTTLS configures TLS and PT-TLS (certificate, client CAs, SASL PLAIN
	// verifier, timeouts). Its Logger defaults to Options.Logger named "tls".
	PTTLS pttls.ServerConfig
	// IMVs are the validators; required.
	IMVs IMVs
	// MaxConns bounds the connections running at once (64 when 0);
	// further ones wait for a slot (see Server.Serve).
	MaxConns int
	// ConnTimeout bounds one whole connection, PT-TLS negotiation
	// included (10 minutes when 0); single reads and writes are bounded by
	// PTTLS.Timeout.
	ConnTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake and the PT-TLS
	// negotiation (version, SASL) together (DefaultHandshakeTimeout when
	// 0): a silent socket or a half-sent ClientHello holds a slot no
	// longer than this.
	HandshakeTimeout time.Duration
	// MaxConnsPerSource bounds the connections accepted from one IP
	// address, running or waiting (DefaultMaxConnsPerSource when 0, no
	// bound when < 0). Behind a load balancer that does not keep client
	// addresses every connection comes from the balancer: disable it.
	MaxConnsPerSource int
	// ProxyFrom lists the addresses of TCP load balancers that speak the
	// PROXY protocol (HAProxy's, version 1 or 2): a connection from one of
	// them must start with a PROXY header within HandshakeTimeout, and is
	// then treated as from the client the header names (per-source
	// admission, logs, Peer.RemoteAddr). Connections from other addresses
	// are served as they are.
	ProxyFrom []netip.Prefix
	// OnRefused, when set, is called for each connection refused (reason
	// RefusedPerSource, RefusedShutdown), closed by its peer while it
	// waited for a slot (RefusedGone) or closed to admit another
	// (RefusedEvicted), with its remote address.
	OnRefused func(remote, reason string)
	// RetryIdle is how long a connection stays open after a decision
	// waiting for the client's CRETRY (or CLOSE) before the server ends
	// it with a CLOSE batch; while it waits, RequestRetry and RetryAfter
	// can make it send an SRETRY (RFC 5793 Section 3.2). 0 keeps the
	// one-shot behaviour: the client's next batch is awaited for
	// PTTLS.Timeout only. With RetryIdle set, ConnTimeout bounds each
	// assessment of the connection rather than the whole connection.
	RetryIdle time.Duration
	// RetryAfter, when set (and below RetryIdle), makes the server ask a
	// client still connected this long after a decision for a
	// re-assessment (SRETRY).
	RetryAfter time.Duration
	// MaxRetries bounds the re-assessments of one connection, CRETRY and
	// SRETRY together (DefaultMaxRetries when 0; < 0: none): a CRETRY
	// beyond it is refused with a CLOSE batch, and no SRETRY is sent, so
	// that no client holds a connection slot by endless CRETRYs.
	MaxRetries int
	// PDPReferral, when set, is sent in the first server batch.
	PDPReferral *pb.MsgPDPReferral
	// OnResult, when set, is called after each connection with its
	// outcome; res is nil when the connection failed before PB-TNC
	// (TLS, PT-TLS negotiation or authentication). It runs on the
	// connection's goroutine.
	OnResult func(res *Result, err error)
	Options
}

// ErrClosed reports that the peer ended the connection (CLOSE batch or
// transport close) before a decision.
var ErrClosed = errors.New("tnccs: connection closed before a decision")

// ErrTooManyRetries reports a connection ended because its peer wanted
// more re-assessments than allowed: a PDP's SRETRYs beyond
// ClientConfig.MaxServerRetries, a client's CRETRYs beyond
// ServerConfig.MaxRetries.
var ErrTooManyRetries = errors.New("tnccs: too many re-assessments on one PB-TNC connection")

// ErrTooManyRounds reports a connection ended for exceeding MaxRounds.
var ErrTooManyRounds = errors.New("tnccs: too many PB-TNC batches without a decision")

// RemoteError is a PB-Error received from the peer.
type RemoteError struct {
	Msg *pb.MsgError
}

// Error implements error.
func (e *RemoteError) Error() string { return fmt.Sprintf("tnccs: peer sent %s", e.Msg) }

// LocalError is a protocol error we found in a peer's batch and reported to
// it (PB-Error in a CLOSE batch). Err is the *pb.Error.
type LocalError struct {
	Err *pb.Error
}

// Error implements error.
func (e *LocalError) Error() string { return "tnccs: peer batch refused: " + e.Err.Error() }

// Unwrap returns the *pb.Error.
func (e *LocalError) Unwrap() error { return e.Err }
