// Package imctest drives an IMC in tests the way the host does, with
// scripted server messages, and collects what it sends and reports.
//
// New runs an IMC natively (in-process, in the test binary) against a Host
// backed by the real host capability code (capability.Session on a
// capability.Platform: a fixture root for os-release and friends, tpmhost on a
// simulator for the TPM), encoding every call with the abi codecs exactly as
// a wasm module does; it needs package capability only, not the wasm
// runtime. Package sdk/wasmtest runs a built .wasm module through the real
// host (wazero, grants, deadlines, memory cap) behind the same *Harness
// (NewDriven), so one test body can run both ways.
//
//	h := imctest.New(t, &osIMC{}, imctest.Options{Root: "testdata/root"})
//	first := h.Start()                 // CREATE, HANDSHAKE, BeginHandshake
//	reply := h.Batch(serverMsg)        // Receive each, then BatchEnding
package imctest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/tnccs"
)

// Options configure a Harness. Zero values are fine.
type Options struct {
	ID       uint32            // IMC ID (default 1)
	Name     string            // IMC name (default "test")
	Conn     uint32            // connection ID (default 1)
	Settings map[string]string // what config_get answers
	// Files is the IMC's file allowlist (config.toml [[imc]] files).
	Files []string
	// Platform backs the host functions. When Platform.System is nil and
	// Root is set, the System is capability.NewSystem(Root).
	Platform capability.Platform
	Root     string
	// MaxMessageSize bounds sent PA messages (0: abi.MaxMessageLen).
	MaxMessageSize uint32
	// Logger receives the IMC's and host's log lines (default: t.Log at
	// Trace level).
	Logger hclog.Logger
	// ExpectErrors keeps IMC errors (native) in Errors() instead of
	// failing the test.
	ExpectErrors bool

	// Wasm only (sdk/wasmtest): grants (default: every host function),
	// memory cap and call deadline (defaults of the host).
	Grants      []string
	MemoryPages uint32
	CallTimeout time.Duration
}

// Harness is one IMC serving one connection.
type Harness struct {
	t    testing.TB
	o    Options
	conn tnccs.ConnID

	mu      sync.Mutex
	sent    []imc.Message
	reports []abi.Report
	errs    []error

	// native
	imc  imc.IMC
	sess *capability.Session

	// another runner (NewDriven)
	d Driver

	closed bool
}

func (o *Options) defaults(t testing.TB) {
	if o.ID == 0 {
		o.ID = 1
	}
	if o.Name == "" {
		o.Name = "test"
	}
	if o.Conn == 0 {
		o.Conn = 1
	}
	if o.Platform.System == nil && o.Root != "" {
		o.Platform.System = capability.NewSystem(o.Root)
	}
	if o.Logger == nil {
		o.Logger = hclog.New(&hclog.LoggerOptions{
			Output: tWriter{t}, Level: hclog.Trace, DisableTime: true,
		})
	}
}

// tWriter sends log output to t.Log.
type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func toIMC(m tnccs.PAMessage) imc.Message {
	return imc.Message{
		Type:      abi.MsgType{Vendor: m.Vendor, Subtype: m.Subtype},
		Collector: uint32(m.Collector),
		Validator: uint32(m.Validator),
		Exclusive: m.Exclusive,
		Body:      m.Body,
	}
}

func (x *Harness) collect(m tnccs.PAMessage) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sent = append(x.sent, toIMC(m))
	return nil
}

// transport is the imc.Transport over a capability.Session.
type transport struct{ s *capability.Session }

func (tr transport) Call(fn string, in []byte) ([]byte, abi.Status) { return tr.s.Call(fn, in) }
func (tr transport) Log(level abi.LogLevel, msg []byte) abi.Status  { return tr.s.Log(level, msg) }
func (tr transport) LogLevel() abi.LogLevel                         { return tr.s.LogLevel() }

// New runs m natively and calls its Initialize (in the subscribe window).
// The harness closes itself at the end of the test.
func New(t testing.TB, m imc.IMC, o Options) *Harness {
	t.Helper()
	o.defaults(t)
	x := &Harness{t: t, o: o, conn: tnccs.ConnID(o.Conn), imc: m}
	x.sess = capability.NewSession(capability.SessionConfig{
		IMCID:          o.ID,
		Name:           o.Name,
		Conn:           x.conn,
		Settings:       o.Settings,
		Files:          o.Files,
		Platform:       o.Platform,
		Logger:         o.Logger.Named("imc").Named(strings.ToLower(o.Name)),
		Send:           x.collect,
		MaxMessageSize: o.MaxMessageSize,
		OnReport: func(r abi.Report) {
			x.mu.Lock()
			x.reports = append(x.reports, r)
			x.mu.Unlock()
		},
	})
	x.sess.BeginInitialize()
	err := m.Initialize(imc.NewHost(transport{x.sess}), o.ID)
	x.sess.EndInitialize()
	x.check("Initialize", err)
	t.Cleanup(x.Close)
	return x
}

// Driver runs an IMC for a Harness other than natively: sdk/wasmtest's
// runs a built module in the real host. Each method is the Harness method
// of the same name.
type Driver interface {
	ChangeState(s abi.ConnState)
	BeginHandshake()
	Receive(m imc.Message)
	BatchEnding()
	Subscriptions() []abi.MsgType
	Reports() []abi.Report
	// Alive reports whether the IMC still serves the connection.
	Alive() bool
	Close()
}

// NewDriven returns a Harness whose IMC open starts: open gets the options
// with their defaults and the function that collects what the IMC sends
// (the Harness's Sent), and fails the test by returning an error. The
// harness closes itself at the end of the test.
func NewDriven(t testing.TB, o Options, open func(o Options, send tnccs.SendFunc) (Driver, error)) *Harness {
	t.Helper()
	o.defaults(t)
	x := &Harness{t: t, o: o, conn: tnccs.ConnID(o.Conn)}
	d, err := open(o, x.collect)
	if err != nil {
		t.Fatalf("imctest: %v", err)
	}
	x.d = d
	t.Cleanup(x.Close)
	return x
}

// AllGrants returns every host function name a grant may list
// (capability.GrantNames).
func AllGrants() []string { return capability.GrantNames() }

func (x *Harness) check(what string, err error) {
	if err == nil {
		return
	}
	x.mu.Lock()
	x.errs = append(x.errs, fmt.Errorf("%s: %w", what, err))
	x.mu.Unlock()
	if !x.o.ExpectErrors {
		x.t.Helper()
		x.t.Errorf("imctest: IMC %s: %v", what, err)
	}
}

// Errors returns the errors the IMC's methods returned (native only).
func (x *Harness) Errors() []error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.errs)
}

// Subscriptions returns the message types the IMC subscribed to.
func (x *Harness) Subscriptions() []abi.MsgType {
	if x.sess != nil {
		return x.sess.Subscriptions()
	}
	return x.d.Subscriptions()
}

// ChangeState tells the IMC about a connection state change.
func (x *Harness) ChangeState(s abi.ConnState) {
	x.t.Helper()
	if x.imc != nil {
		x.check("ConnectionChange", x.imc.ConnectionChange(imc.ConnID(x.conn), s))
		return
	}
	x.d.ChangeState(s)
}

// BeginHandshake calls BeginHandshake and returns what the IMC sent.
func (x *Harness) BeginHandshake() []imc.Message {
	x.t.Helper()
	if x.imc != nil {
		x.check("BeginHandshake", x.imc.BeginHandshake(imc.ConnID(x.conn)))
	} else {
		x.d.BeginHandshake()
	}
	return x.Sent()
}

// Start is CREATE, HANDSHAKE, then BeginHandshake; it returns the IMC's
// first messages (what goes into the first CDATA batch).
func (x *Harness) Start() []imc.Message {
	x.t.Helper()
	x.ChangeState(abi.ConnCreate)
	x.ChangeState(abi.ConnHandshake)
	return x.BeginHandshake()
}

// Receive delivers one server message (natively: when the IMC subscribed
// to its type, as the host dispatches; EXCL messages only when addressed
// to this IMC's ID).
func (x *Harness) Receive(m imc.Message) {
	x.t.Helper()
	if x.imc != nil {
		if !x.accepts(m) {
			return
		}
		m.Body = slices.Clone(m.Body)
		x.sess.Received(m.Validator, m.Body) // what report may show, as the host notes it
		x.check("Receive", x.imc.Receive(imc.ConnID(x.conn), m))
		return
	}
	x.d.Receive(m)
}

func (x *Harness) accepts(m imc.Message) bool {
	if m.Exclusive && m.Collector != x.o.ID {
		return false
	}
	return x.sess.Accepts(m.Type)
}

// BatchEnding tells the IMC the server batch is done.
func (x *Harness) BatchEnding() {
	x.t.Helper()
	if x.imc != nil {
		x.check("BatchEnding", x.imc.BatchEnding(imc.ConnID(x.conn)))
		x.sess.EndRound()
		return
	}
	x.d.BatchEnding()
}

// Batch delivers a server batch (each message, then BatchEnding) and
// returns what the IMC sent in response.
func (x *Harness) Batch(msgs ...imc.Message) []imc.Message {
	x.t.Helper()
	for _, m := range msgs {
		x.Receive(m)
	}
	x.BatchEnding()
	return x.Sent()
}

// Sent returns (and forgets) the messages sent since the last call.
func (x *Harness) Sent() []imc.Message {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := x.sent
	x.sent = nil
	return out
}

// Reports returns the reports the IMC made so far.
func (x *Harness) Reports() []abi.Report {
	if x.d != nil {
		return x.d.Reports()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.reports)
}

// Alive reports whether the IMC still serves the connection (wasm: it did
// not trap, time out or run out of memory; native: always).
func (x *Harness) Alive() bool {
	if x.d == nil {
		return !x.closed
	}
	return x.d.Alive()
}

// Close calls Terminate and releases everything; it runs at test cleanup
// and may be called earlier.
func (x *Harness) Close() {
	if x.closed {
		return
	}
	x.closed = true
	if x.imc != nil {
		x.check("Terminate", x.imc.Terminate())
		x.sess.Close()
		return
	}
	if x.d != nil {
		x.d.Close()
	}
}
