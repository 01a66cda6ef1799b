package capability

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/inventory"
	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/tnccs"
)

// SessionConfig configures a Session.
type SessionConfig struct {
	IMCID    uint32
	Name     string
	Conn     tnccs.ConnID // 0: no connection (load-time probe); send answers StatusState
	Settings map[string]string
	// Files is the IMC's file allowlist (file_measure, file_metadata).
	Files    []string
	Platform Platform
	// Logger is the IMC's logger (log and log_level use it; nil discards).
	Logger hclog.Logger
	// Send queues a PA message for the connection (nil: StatusState).
	Send tnccs.SendFunc
	// MaxMessageSize bounds a sent PA message ([tnccs] max_message_size; 0: abi.MaxMessageLen).
	// config_get answers it for SettingMaxMessageSize when the IMC's
	// settings do not set that key.
	MaxMessageSize uint32
	// OnReport receives the module's report calls (nil: dropped).
	OnReport func(abi.Report)
	// SendTypes and ReceiveTypes are the module's PA lane ([[imc]] pa_send
	// and pa_receive): the message types it may send and receive. nil:
	// the types it subscribed to.
	SendTypes, ReceiveTypes []abi.MsgType
	// MaxBatchSize is the PB-TNC batch limit ([tnccs] max_batch_size; 0:
	// PT-TLS's) the send budgets are multiples of.
	MaxBatchSize uint32
	// ModuleReport, when set, makes the host's module report attribute
	// (abi.ModuleReport) for a tpm_quote request; it is appended to the
	// next TCG/PTS message the module sends (measure.go).
	ModuleReport func(ctx context.Context, q abi.QuoteRequest) ([]byte, error)
}

// Session is the host side of one IMC instance: it executes the host
// functions on encoded inputs and returns encoded results. The wasm glue
// calls it with bytes copied out of guest memory; sdk/imctest calls it
// natively, so both paths run the same code. A Session takes one call at a
// time (it is used by one instance) but is safe for concurrent use.
type Session struct {
	c   SessionConfig
	log hclog.Logger

	mu           sync.Mutex
	moduleAttr   []byte // the module report waiting for the next TCG/PTS send
	initializing bool
	subs         []abi.MsgType
	stash        []byte
	stashed      bool
	dh           map[uint32]DHKey
	nextDH       uint32
	eventLogs    map[uint16][]byte // encoded results, per bank, for this connection
	ima          *imaCursor        // the open pass over the IMA list (ima_events)
	packageList  []byte            // the encoded packages result, for this connection
	sw           *swPass           // the open pass over the software inventory (sw_inventory)
	swRec        *inventory.Record // the event record as sw_events last read it
	roundSent    int               // PA bytes sent since the client's last batch
	connSent     int               // PA bytes sent on this connection
	refused      map[string]int    // refused sends, by reason
	logLim       logLimiter
	assessed     assessed // what IMVs sent this module, for report
}

// NewSession returns a Session for one IMC instance.
func NewSession(c SessionConfig) *Session {
	l := c.Logger
	if l == nil {
		l = hclog.NewNullLogger()
	}
	return &Session{c: c, log: l, dh: map[uint32]DHKey{}, eventLogs: map[uint16][]byte{}}
}

// Attach binds a session made without a connection (a load's probe
// instance kept for the first connection: host.Options.ReuseProbe) to a
// connection: from now on send queues on it and reports name it.
func (s *Session) Attach(conn tnccs.ConnID, send tnccs.SendFunc, onReport func(abi.Report)) {
	s.mu.Lock()
	s.c.Conn, s.c.Send, s.c.OnReport = conn, send, onReport
	s.mu.Unlock()
}

// BeginInitialize opens the window in which subscribe is allowed (the
// module's imc_initialize); EndInitialize closes it.
func (s *Session) BeginInitialize() { s.mu.Lock(); s.initializing = true; s.mu.Unlock() }

// EndInitialize closes the subscribe window.
func (s *Session) EndInitialize() { s.mu.Lock(); s.initializing = false; s.mu.Unlock() }

// Subscriptions returns the message types the module subscribed to.
func (s *Session) Subscriptions() []abi.MsgType {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs)
}

// Accepts reports whether a subscription, wildcards included, covers t
// and, when the module has a pa_receive lane, the lane does too.
func (s *Session) Accepts(t abi.MsgType) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return covers(s.subs, t) && (s.c.ReceiveTypes == nil || covers(s.c.ReceiveTypes, t))
}

// Received notes a PA message delivered to the module (imc_receive): the
// assessments in it are what report may show.
func (s *Session) Received(validator uint32, body []byte) {
	s.mu.Lock()
	s.assessed.note(validator, body)
	s.mu.Unlock()
}

// EndRound starts the send budget of the next round: the client is about
// to send a batch with what the modules queued.
func (s *Session) EndRound() {
	s.mu.Lock()
	s.roundSent = 0
	s.mu.Unlock()
}

// SetStash keeps a result that did not fit the guest's buffer.
func (s *Session) SetStash(out []byte) {
	s.mu.Lock()
	s.stash, s.stashed = out, true
	s.mu.Unlock()
}

// TakeStash implements result_take: the stashed result if it fits in capacity
// (then it is dropped), else only its length (then it stays).
func (s *Session) TakeStash(capacity uint32) ([]byte, int, abi.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stashed {
		return nil, 0, abi.StatusNoResult
	}
	if uint32(len(s.stash)) > capacity {
		return nil, len(s.stash), abi.StatusOK
	}
	out := s.stash
	s.stash, s.stashed = nil, false
	return out, len(out), abi.StatusOK
}

func fail(fn string, st abi.Status, err error) error { return &CallError{Fn: fn, Status: st, Err: err} }

// Close forgets the session's DH keys and cached results, and says how
// many log lines and sends were refused.
func (s *Session) Close() {
	s.mu.Lock()
	clear(s.dh)
	clear(s.eventLogs)
	s.ima.close()
	s.ima = nil
	s.stash, s.stashed, s.packageList = nil, false, nil
	s.sw, s.swRec = nil, nil
	suppressed, refused := s.logLim.suppressed, s.refused
	s.refused = nil
	s.mu.Unlock()
	if suppressed > 0 {
		s.log.Warn(fmt.Sprintf("IMC %d \"%s\": %d log lines suppressed on Connection ID %d", s.c.IMCID, logfmt.Escape(s.c.Name), suppressed, s.c.Conn))
	}
	for _, r := range []string{"lane", "framing", "budget"} {
		if n := refused[r]; n > 1 {
			s.log.Warn(fmt.Sprintf("IMC %d \"%s\": %d sends refused (%s) on Connection ID %d", s.c.IMCID, logfmt.Escape(s.c.Name), n, r, s.c.Conn))
		}
	}
}
