// Package tnccs runs the TNC client-server conversation: PB-TNC (RFC 5793)
// batches over PT-TLS (RFC 6876), in the client role (the endpoint) and the
// server role (the PDP). It knows nothing of wasm or TPMs: PA messages cross
// it as opaque PAMessage values, handed to an IMCs (client) or IMVs (server)
// implementation.
//
// The codec is in tnccs/pb, the transport in tnccs/pttls. This package has
// the state machine of RFC 5793 Section 3.2 for both roles (state.go, one
// transition table per role and direction) and the conversation around it.
//
// Client, one assessment:
//
//	res, err := tnccs.Dial(ctx, tnccs.ClientConfig{
//		Addr:  "pdp.example.org:271",
//		PTTLS: pttls.ClientConfig{CAPEM: caPEM, Username: "alice", Password: "secret"},
//		Options: tnccs.Options{Logger: log}, // logs under "tnc" and "tls"
//	}, imcs)
//	// res.Decided, res.AssessmentResult, res.Recommendation, res.Reasons, ...
//
// Server (PDP):
//
//	srv := &tnccs.Server{Config: tnccs.ServerConfig{
//		PTTLS: pttls.ServerConfig{Certificates: certs, ClientCAs: pool,
//			VerifyPlain: func(user, pass string) bool { ... }},
//		IMVs: imvs,
//	}}
//	err := srv.Serve(ctx, listener) // returns once ctx is done and all connections ended
//
// Errors: a faulty peer batch is answered with a fatal PB-Error in a CLOSE
// batch and returned as *LocalError (wrapping the *pb.Error); a PB-Error
// from the peer is *RemoteError; a transport problem is the pttls error
// (*pttls.Error, *pttls.PeerError, pttls.ErrAuthFailed, deadlines);
// ErrClosed and ErrTooManyRounds end a conversation without a decision.
package tnccs

import (
	"context"

	"github.com/imchost/imchost/abi"
)

// ConnID is a PB-TNC connection identifier (strongSwan's TNC_ConnectionID).
type ConnID uint32

// PAMessage is one PB-PA message (RFC 5793 §4.5) without the PB framing.
type PAMessage struct {
	Vendor    uint32 // PA Message Vendor ID, 24 bits
	Subtype   uint32 // PA Subtype
	Collector uint16 // Posture Collector Identifier (IMC ID)
	Validator uint16 // Posture Validator Identifier (IMV ID)
	Exclusive bool   // EXCL flag
	Body      []byte // the PA-TNC message
}

// SendFunc queues a PA message into the batch being built for a connection.
type SendFunc func(PAMessage) error

// IMCs is the client-side collectors: host.Host implements it.
type IMCs interface {
	// Open is called when a PB-TNC connection is created; send queues PA
	// messages for that connection. It returns the connection's IMC set.
	Open(ctx context.Context, id ConnID, send SendFunc) (IMCConn, error)
}

// IMCConn is the IMCs of one connection.
type IMCConn interface {
	// ChangeState notifies every IMC of a connection state change.
	ChangeState(ctx context.Context, s abi.ConnState)
	// BeginHandshake lets every IMC send its first messages.
	BeginHandshake(ctx context.Context)
	// Receive delivers one PB-PA message from the server to the IMCs
	// subscribed to its type (or the one named by Collector with EXCL).
	Receive(ctx context.Context, m PAMessage)
	// BatchEnding is called after the last message of a server batch.
	BatchEnding(ctx context.Context)
	// Close releases the connection's IMC instances.
	Close(ctx context.Context)
}

// IMVs is the server-side validators: the PDP implements it.
type IMVs interface {
	// Open is called when the first batch of a client's PB-TNC connection
	// has arrived (so that peer.Language is known); send queues PA
	// messages for the next server batch. peer says who the client
	// authenticated as.
	Open(ctx context.Context, id ConnID, peer Peer, send SendFunc) (IMVConn, error)
}

// IMVConn is the IMVs of one connection. The server calls Receive for each
// PB-PA of a client batch, then BatchEnding. If the IMVs queued messages
// it sends them in an SDATA batch; if not, it calls Decide (which may queue
// final PA messages, e.g. assessment results) and sends a RESULT batch with
// those PB-PA messages, PB-Assessment-Result, PB-Access-Recommendation,
// one PB-Reason-String per reason and PB-Remediation-Parameters if given.
// Close is called once at the end, whatever happened.
type IMVConn interface {
	// Receive delivers one PB-PA message from the client.
	Receive(ctx context.Context, m PAMessage)
	// BatchEnding is called after the last message of a client batch.
	BatchEnding(ctx context.Context)
	// Decide returns the verdict; called when the IMVs have nothing more
	// to ask (again after a client's CRETRY).
	Decide(ctx context.Context) Decision
	// Close releases the connection's IMV state.
	Close(ctx context.Context)
}

// Peer describes the client of a server connection.
type Peer struct {
	// Identity is the authenticated identity: the SASL PLAIN user, or the
	// subject common name (else first DNS name) of the verified client
	// certificate; empty when the client did not authenticate.
	Identity string
	// RemoteAddr is the client's network address.
	RemoteAddr string
	// Language is the client's PB-Language-Preference list ("en"); empty
	// if its first batch carried none.
	Language string
}
