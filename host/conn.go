package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host/internal/wasmstop"
	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/tnccs"
)

// Conn is the IMC instances of one PB-TNC connection; it implements
// tnccs.IMCConn. Calls go to the IMCs in ID order. An IMC that traps, times
// out or runs out of memory is closed for this connection and skipped from
// then on; the others go on.
type Conn struct {
	h     *Host
	id    tnccs.ConnID
	send  tnccs.SendFunc
	insts []*instance

	mu     sync.Mutex
	closed bool
}

var _ tnccs.IMCConn = (*Conn)(nil)
var _ tnccs.IMCs = (*Host)(nil)

// ID returns the connection ID.
func (c *Conn) ID() tnccs.ConnID { return c.id }

// IMCs returns the IDs of the IMCs still serving the connection.
func (c *Conn) IMCs() []uint32 {
	var out []uint32
	c.mu.Lock()
	insts := slices.Clone(c.insts)
	c.mu.Unlock()
	for _, in := range insts {
		if in.alive() {
			out = append(out, in.v.m.id)
		}
	}
	return out
}

// ChangeState implements tnccs.IMCConn.
func (c *Conn) ChangeState(ctx context.Context, s abi.ConnState) {
	for _, in := range c.insts {
		if !in.alive() {
			continue
		}
		if in.pending != nil { // replayed when it starts
			in.pending.states = append(in.pending.states, s)
			continue
		}
		// strongSwan's imc_agent words and levels (DBG2). PB-TNC gives an
		// IMC long message types and EXCL, and no SOH.
		switch s {
		case abi.ConnCreate:
			c.h.ilog.Debug(fmt.Sprintf("IMC %d \"%s\" created a state for IF-TNCCS 2.0 Connection ID %d: +long +excl -soh", in.v.m.id, in.v.m.name, c.id))
			if max := in.v.full.Limits.MaxMessageSize; max != 0 {
				c.h.ilog.Debug(fmt.Sprintf("  over IF-T for TLS 2.0 with maximum PA-TNC message size of %d bytes", max))
			}
		case abi.ConnDelete:
			c.h.ilog.Debug(fmt.Sprintf("IMC %d \"%s\" deleted the state of Connection ID %d", in.v.m.id, in.v.m.name, c.id))
		default:
			c.h.ilog.Debug(fmt.Sprintf("IMC %d \"%s\" changed state of Connection ID %d to '%s'", in.v.m.id, in.v.m.name, c.id, s.String()))
		}
		in.lifecycle(ctx, in.fChange, abi.ExportConnectionChange, uint64(c.id), uint64(s))
	}
}

// BeginHandshake implements tnccs.IMCConn.
func (c *Conn) BeginHandshake(ctx context.Context) {
	for _, in := range c.insts {
		if in.pending != nil { // replayed when it starts
			in.pending.begun = true
			continue
		}
		in.lifecycle(ctx, in.fBegin, abi.ExportBeginHandshake, uint64(c.id))
	}
	c.endRound()
}

// endRound starts the modules' next send budget: the client sends its
// batch next.
func (c *Conn) endRound() {
	for _, in := range c.insts {
		if in.sess != nil {
			in.sess.EndRound()
		}
	}
}

// Receive implements tnccs.IMCConn: an EXCL message goes to the IMC whose ID
// is its Collector (if subscribed to the type); any other message to every
// IMC subscribed to its type, wildcards included.
func (c *Conn) Receive(ctx context.Context, m tnccs.PAMessage) {
	t := abi.MsgType{Vendor: m.Vendor, Subtype: m.Subtype}
	delivered := false
	for i, in := range c.insts {
		if !in.alive() || !in.accepts(t) || (m.Exclusive && uint32(m.Collector) != in.v.m.id) {
			continue
		}
		delivered = true
		if in.pending != nil {
			// Started, it subscribes for itself: a record out of date
			// (start says so) must not deliver a type it did not ask for.
			if in = c.start(ctx, i); in == nil || !in.accepts(t) {
				continue
			}
		}
		if c.h.ilog.IsDebug() {
			c.h.ilog.Debug(fmt.Sprintf("IMC %d \"%s\" received message for Connection ID %d from IMV %d",
				in.v.m.id, in.v.m.name, c.id, m.Validator))
		}
		in.sess.Received(uint32(m.Validator), m.Body)
		in.receive(ctx, c.id, m)
	}
	if !delivered && c.h.ilog.IsDebug() {
		c.h.ilog.Debug(fmt.Sprintf("no IMC for PA message type %s from IMV %d on Connection ID %d",
			t.String(), m.Validator, c.id))
	}
}

// BatchEnding implements tnccs.IMCConn.
func (c *Conn) BatchEnding(ctx context.Context) {
	for _, in := range c.insts {
		if in.pending != nil {
			continue
		}
		in.lifecycle(ctx, in.fBatch, abi.ExportBatchEnding, uint64(c.id))
	}
	c.endRound()
}

// Close implements tnccs.IMCConn: imc_terminate, then the instances close.
func (c *Conn) Close(ctx context.Context) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	// IF-IMC's last state change: the IMCs drop their connection state
	// (also when the connection's context is done, as terminate).
	c.ChangeState(context.WithoutCancel(ctx), abi.ConnDelete)
	for _, in := range c.insts {
		in.terminate(ctx)
	}
	c.h.mu.Lock()
	delete(c.h.conns, c)
	c.h.mu.Unlock()
}

// Reports returns what the connection's IMCs reported so far.
func (c *Conn) Reports() []IMCReport { return c.h.Reports(c.id) }

// instance is one module instance: one IMC version serving one connection
// (or the load-time probe when conn is nil). It takes one call at a time.
type instance struct {
	h    *Host
	v    *version
	conn *Conn
	log  hclog.Logger // "imc.<name>"
	sess *capability.Session
	out  *lineWriter // stdout
	err  *lineWriter // stderr

	mu  sync.Mutex
	mod api.Module
	// stop and fuel are the module's wasmstop globals: stop set to 1 and
	// fuel to 0 trap the running call at its next function entry or loop
	// iteration.
	stop, fuel api.MutableGlobal
	// wctx is the context every call hands wazero: it carries the instance
	// for the host functions. Deadlines and cancellation set stop from
	// watch (the call deadline) and context.AfterFunc instead.
	wctx    context.Context
	watch   *callWatch
	callCtx context.Context // the caller's context during a call, for the host functions
	// hostCancel ends the host function running under callBounded, if
	// any; interrupt calls it.
	hmu        sync.Mutex
	hostCancel context.CancelFunc
	ref        bool   // holds a reference on v (connection instances)
	inPtr      uint32 // the last imc_alloc buffer, reused while messages fit
	inCap      uint32
	failed     bool
	closed     bool
	stack      [4]uint64
	hdr        [abi.MessageHeaderLen]byte // imc_receive's header, built here to spare an allocation per message

	fAlloc, fInit, fChange, fBegin, fReceive, fBatch, fTerm api.Function

	// pending is set while the instance stands for a lazy IMC not started
	// on this connection yet (Host.pendingInstance): no module, no
	// session; what the connection told the IMC so far, to replay.
	pending *pendingStart
}

// pendingStart is what a connection told a lazy IMC before it started.
type pendingStart struct {
	states []abi.ConnState // state changes, in order
	begun  bool            // begin_handshake
}

// pendingInstance stands for a lazy IMC on connection c until its first
// message (Conn.start). It holds the connection's reference on v.
func (h *Host) pendingInstance(v *version, c *Conn) *instance {
	return &instance{h: h, v: v, conn: c, pending: &pendingStart{}}
}

// start starts the lazy IMC standing at c.insts[i] for its first message:
// the version is compiled if it is not yet (Host.startLazy), an instance
// made and initialized, and the connection's state changes and
// begin_handshake replayed to it; what it sends goes with the batch being
// answered. It returns the started instance, or nil when the IMC could not
// start (logged; the IMC is left out of this connection, the others go
// on).
func (c *Conn) start(ctx context.Context, i int) *instance {
	h, p := c.h, c.insts[i]
	v := p.v
	err := h.startLazy(ctx, v, false)
	var in *instance
	if err == nil {
		in, err = h.newInstance(ctx, v, c)
		if err != nil {
			h.wlog.Error(fmt.Sprintf("IMC %d \"%s\" failed for Connection ID %d: %v", v.m.id, v.m.name, c.id, err))
		}
	}
	if err != nil {
		p.mu.Lock()
		p.failed = true
		p.mu.Unlock()
		return nil
	}
	if subs := in.sess.Subscriptions(); !slices.Equal(subs, v.subs) {
		// Its record is out of date: the next start loads it in full.
		removeFile(h.recordPath(v.sha, v.cfg.Settings))
		h.wlog.Warn(fmt.Sprintf("IMC %d \"%s\" subscribed to other message types than its record says; the next start loads it in full",
			v.m.id, v.m.name))
	}
	in.ref, p.ref = p.ref, false
	c.mu.Lock()
	c.insts[i] = in
	c.mu.Unlock()
	for _, s := range p.pending.states {
		in.lifecycle(ctx, in.fChange, abi.ExportConnectionChange, uint64(c.id), uint64(s))
	}
	if p.pending.begun {
		in.lifecycle(ctx, in.fBegin, abi.ExportBeginHandshake, uint64(c.id))
	}
	h.ilog.Debug(fmt.Sprintf("IMC %d \"%s\" started for Connection ID %d on its first message", v.m.id, v.m.name, c.id))
	if !in.alive() {
		return nil
	}
	return in
}

type instKey struct{}

// minInbox is the smallest imc_alloc request, so that small messages share
// one buffer.
const minInbox = 4096

func (h *Host) newInstance(ctx context.Context, v *version, c *Conn) (*instance, error) {
	mlog := h.log.Named("imc").Named(strings.ToLower(v.m.name))
	in := &instance{h: h, v: v, conn: c, log: mlog}
	in.wctx = context.WithValue(context.Background(), instKey{}, in)
	in.out = newLineWriter(func(l string) { mlog.Info(logfmt.Escape(l)) })
	in.err = newLineWriter(func(l string) { mlog.Debug(logfmt.Escape(l), "stream", "stderr") })
	p := h.opts.Platform
	if v.full.EventLog != "" { // [tpm] eventlog as the version was loaded with: a reload changes it
		p.EventLogPath = v.full.EventLog
	}
	sc := capability.SessionConfig{
		IMCID: v.m.id, Name: v.m.name, Settings: v.cfg.Settings, Files: v.cfg.Files, Platform: p, Logger: mlog,
		MaxMessageSize: v.full.Limits.MaxMessageSize, MaxBatchSize: v.full.Limits.MaxBatchSize,
		ModuleReport: h.moduleReport(v),
	}
	// Checked by Config.Validate: an error here leaves the default lane.
	sc.SendTypes, _ = parsePATypes(v.cfg.PASend)
	sc.ReceiveTypes, _ = parsePATypes(v.cfg.PAReceive)
	if c != nil {
		sc.Conn, sc.Send = c.id, c.send
		sc.OnReport = func(r abi.Report) {
			h.addReport(IMCReport{Conn: c.id, IMCID: v.m.id, IMC: v.m.name, Report: r})
		}
	}
	in.sess = capability.NewSession(sc)

	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // a reactor: _initialize is called below, under a deadline
		WithStdout(in.out).
		WithStderr(in.err).
		WithSysWalltime().
		WithSysNanotime().
		// No WithSysNanosleep: a Go guest's scheduler sleeps briefly at
		// idle points, and a real sleep there triples the cost of a call.
		// A module's time.Sleep spins instead, against its call deadline.
		WithRandSource(rand.Reader)
	ictx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	mems := &memories{count: &h.memMaps}
	mod, err := instantiateGuarded(experimental.WithMemoryAllocator(context.WithValue(ictx, instKey{}, in), mems), v.rt.rt, v.compiled, mc)
	if err != nil {
		mems.free()
		return nil, fmt.Errorf("instantiating: %v", err)
	}
	stop, ok1 := mod.ExportedGlobal(wasmstop.StopGlobal).(api.MutableGlobal)
	fuel, ok2 := mod.ExportedGlobal(wasmstop.FuelGlobal).(api.MutableGlobal)
	if !ok1 || !ok2 {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("instantiating: no %s global (module not instrumented)", wasmstop.StopGlobal)
	}
	h.live.Add(1)
	in.mod, in.stop, in.fuel = mod, stop, fuel
	in.watch = newCallWatch(in.interrupt)
	in.fAlloc = mod.ExportedFunction(abi.ExportAlloc)
	in.fInit = mod.ExportedFunction(abi.ExportInit)
	in.fChange = mod.ExportedFunction(abi.ExportConnectionChange)
	in.fBegin = mod.ExportedFunction(abi.ExportBeginHandshake)
	in.fReceive = mod.ExportedFunction(abi.ExportReceive)
	in.fBatch = mod.ExportedFunction(abi.ExportBatchEnding)
	in.fTerm = mod.ExportedFunction(abi.ExportTerminate)
	h.mu.Lock()
	v.instances++
	h.mu.Unlock()

	in.mu.Lock()
	defer in.mu.Unlock()
	if start := mod.ExportedFunction(wasmstop.StartExport); start != nil { // the module's start section
		if _, err := in.callLocked(ctx, start, "the start function"); err != nil {
			return nil, err
		}
	}
	if _, err := in.callLocked(ctx, mod.ExportedFunction(abi.ExportInitialize), abi.ExportInitialize); err != nil {
		return nil, err
	}
	in.sess.BeginInitialize()
	st, err := in.callLocked(ctx, in.fInit, abi.ExportInit, uint64(v.m.id))
	in.sess.EndInitialize()
	if err != nil {
		return nil, err
	}
	if st != abi.StatusOK {
		in.closeLocked()
		return nil, fmt.Errorf("imc_initialize returned status %d (%s)", st, st)
	}
	return in, nil
}

// adopt gives a kept probe instance to connection c (see
// Options.ReuseProbe): it initialized without a connection and has made no
// call since.
func (in *instance) adopt(c *Conn) *instance {
	in.mu.Lock()
	in.conn = c
	in.mu.Unlock()
	v, h := in.v, in.h
	in.sess.Attach(c.id, c.send, func(r abi.Report) {
		h.addReport(IMCReport{Conn: c.id, IMCID: v.m.id, IMC: v.m.name, Report: r})
	})
	return in
}

func (in *instance) alive() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return !in.failed && !in.closed
}

func (in *instance) accepts(t abi.MsgType) bool {
	if in.pending != nil {
		recv, _ := parsePATypes(in.v.cfg.PAReceive) // checked by Config.Validate
		return coversType(in.v.subs, t) && (recv == nil || coversType(recv, t))
	}
	return in.sess.Accepts(t)
}

func (in *instance) connID() tnccs.ConnID {
	if in.conn == nil {
		return 0
	}
	return in.conn.id
}

// lifecycle makes one lifecycle call and logs a non-OK status.
func (in *instance) lifecycle(ctx context.Context, f api.Function, name string, params ...uint64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.failed || in.closed {
		return
	}
	st, err := in.callLocked(ctx, f, name, params...)
	if err == nil && st != abi.StatusOK {
		in.h.ilog.Warn(fmt.Sprintf("IMC %d \"%s\" returned status %d (%s) from %s for Connection ID %d",
			in.v.m.id, in.v.m.name, st, st, name, in.connID()))
	}
}

// receive copies the message into a buffer from imc_alloc and calls imc_receive.
func (in *instance) receive(ctx context.Context, conn tnccs.ConnID, m tnccs.PAMessage) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.failed || in.closed {
		return
	}
	if len(m.Body) > abi.MaxMessageLen {
		in.h.ilog.Warn(fmt.Sprintf("PA message of %d bytes is too large for IMC %d", len(m.Body), in.v.m.id))
		return
	}
	size := abi.MessageHeaderLen + len(m.Body)
	if uint32(size) > in.inCap || in.inPtr == 0 {
		// The buffer stays the module's until the next imc_alloc (ABI §2),
		// so one allocation serves every message that fits.
		want := max(uint32(size), minInbox)
		if _, err := in.callLocked(ctx, in.fAlloc, abi.ExportAlloc, uint64(want)); err != nil {
			return
		}
		in.inPtr, in.inCap = api.DecodeU32(in.stack[0]), want
		if in.inPtr == 0 {
			in.inCap = 0
			in.h.ilog.Warn(fmt.Sprintf("IMC %d \"%s\" refused a %d-byte buffer in imc_alloc", in.v.m.id, in.v.m.name, want))
			return
		}
	}
	ptr := in.inPtr
	h := abi.MessageHeader{
		Type:      abi.MsgType{Vendor: m.Vendor, Subtype: m.Subtype},
		Collector: uint32(m.Collector),
		Validator: uint32(m.Validator),
	}
	if m.Exclusive {
		h.Flags = abi.FlagExclusive
	}
	abi.AppendMessageHeader(in.hdr[:0], h)
	mem := in.mod.Memory()
	if ptr == 0 || !mem.Write(ptr, in.hdr[:]) || !mem.Write(ptr+abi.MessageHeaderLen, m.Body) {
		in.failLocked(abi.ExportAlloc, fmt.Errorf("imc_alloc(%d) returned an unusable buffer at 0x%x", size, ptr))
		return
	}
	st, err := in.callLocked(ctx, in.fReceive, abi.ExportReceive, uint64(conn), uint64(ptr), uint64(size))
	if err == nil && st != abi.StatusOK {
		in.h.ilog.Warn(fmt.Sprintf("IMC %d \"%s\" returned status %d (%s) from %s for Connection ID %d",
			in.v.m.id, in.v.m.name, st, st, abi.ExportReceive, conn))
	}
}

// callLocked calls f under the version's deadline with the instance in the
// context (for the host functions). A failure closes the instance.
//
// The deadline is the call's CPU time (callWatch: one timer per instance,
// re-armed per call; the goroutine stays on its thread for the call so
// that the thread's CPU clock is the call's), and the caller's
// cancellation a context.AfterFunc: both set the module's stop global (see
// wasmstop), which traps the running call. When either fired, even as the
// call was returning, the call counts as interrupted and the instance is
// closed: its stop global may be set.
func (in *instance) callLocked(ctx context.Context, f api.Function, name string, params ...uint64) (abi.Status, error) {
	if ctx.Err() != nil {
		return 0, in.failLocked(name, sys.NewExitError(sys.ExitCodeContextCanceled))
	}
	var cancelled func() bool
	if ctx.Done() != nil {
		cancelled = context.AfterFunc(ctx, in.interrupt)
	}
	in.callCtx = ctx
	copy(in.stack[:], params)
	runtime.LockOSThread()
	trace := in.h.wlog.IsTrace() // what a call needs, for sizing call_timeout
	in.watch.begin(in.v.timeout, trace)
	err := f.CallWithStack(in.wctx, in.stack[:])
	if trace {
		if cpu, ok := in.watch.used(); ok {
			in.h.wlog.Trace(fmt.Sprintf("IMC %d \"%s\" %s took %s of CPU time", in.v.m.id, in.v.m.name, name, cpu), "limit", in.v.timeout)
		}
	}
	timedOut := in.watch.end()
	runtime.UnlockOSThread()
	stopped := cancelled != nil && !cancelled()
	in.callCtx = nil
	switch {
	case timedOut == "cpu":
		err = fmt.Errorf("timed out after %s of CPU time: %w", in.v.timeout, sys.NewExitError(sys.ExitCodeDeadlineExceeded))
	case timedOut != "":
		err = fmt.Errorf("timed out after %s (wall-clock time): %w", wallLimit(in.v.timeout), sys.NewExitError(sys.ExitCodeDeadlineExceeded))
	case stopped:
		err = sys.NewExitError(sys.ExitCodeContextCanceled)
	}
	if err != nil {
		return 0, in.failLocked(name, err)
	}
	return abi.Status(api.DecodeI32(in.stack[0])), nil
}

// interrupt stops a running call from another goroutine: the module traps
// at its next function entry or loop iteration (a host function it is in
// returns first). The caller then closes the instance.
func (in *instance) interrupt() {
	in.stop.Set(1)
	in.fuel.Set(0)
	in.hmu.Lock()
	if in.hostCancel != nil {
		in.hostCancel()
	}
	in.hmu.Unlock()
}

// failLocked logs the failure once, with the guest's last stderr lines, and
// closes the instance.
func (in *instance) failLocked(name string, err error) error {
	reason := in.classify(err)
	tail := in.err.tail()
	msg := fmt.Sprintf("IMC %d \"%s\" %s in %s", in.v.m.id, in.v.m.name, reason, name)
	if c := in.connID(); c != 0 {
		msg += fmt.Sprintf(" for Connection ID %d; it is closed for this connection", c)
	}
	if len(tail) > 0 {
		in.h.wlog.Error(msg, "stderr", strings.Join(tail, "\n"))
	} else {
		in.h.wlog.Error(msg)
	}
	in.failed = true
	in.closeLocked()
	return fmt.Errorf("%s in %s: %w", reason, name, err)
}

func (in *instance) classify(err error) string {
	var ee *sys.ExitError
	errors.As(err, &ee)
	switch {
	case ee != nil && ee.ExitCode() == sys.ExitCodeDeadlineExceeded, strings.HasPrefix(err.Error(), "timed out"):
		if why, _, _ := strings.Cut(err.Error(), ":"); strings.HasPrefix(why, "timed out after") {
			return why // callLocked's: CPU or wall-clock time
		}
		return fmt.Sprintf("timed out after %s", in.v.timeout)
	case ee != nil && ee.ExitCode() == sys.ExitCodeContextCanceled:
		return "was canceled"
	}
	if g := in.mod.ExportedGlobal(wasmstop.DepthGlobal); g != nil && uint32(g.Get()) > wasmstop.MaxCallDepth {
		return fmt.Sprintf("nested calls deeper than %d", wasmstop.MaxCallDepth)
	}
	for _, l := range in.err.tail() {
		if strings.Contains(l, "out of memory") {
			return fmt.Sprintf("ran out of memory (limit %d pages)", in.v.pages)
		}
	}
	if mem := in.mod.Memory(); mem != nil && uint64(mem.Size())+(1<<20) > uint64(in.v.pages)*65536 &&
		strings.Contains(err.Error(), "unreachable") {
		return fmt.Sprintf("ran out of memory (limit %d pages)", in.v.pages)
	}
	if ee != nil {
		return fmt.Sprintf("exited with code %d", ee.ExitCode())
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	return "trapped (" + first + ")"
}

// terminate calls imc_terminate (when still healthy) and closes the instance.
func (in *instance) terminate(ctx context.Context) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	if !in.failed && in.pending == nil {
		// Terminate even when the connection's context is already done
		// (its own deadline still applies).
		st, err := in.callLocked(context.WithoutCancel(ctx), in.fTerm, abi.ExportTerminate)
		if err == nil && st != abi.StatusOK {
			in.h.ilog.Debug(fmt.Sprintf("IMC %d \"%s\" returned status %d from imc_terminate", in.v.m.id, in.v.m.name, st))
		}
	}
	in.closeLocked()
}

func (in *instance) closeLocked() {
	if in.closed {
		return
	}
	in.closed = true
	if in.pending != nil { // never started
		if in.ref {
			in.v.release(in.h)
		}
		return
	}
	if in.watch != nil {
		in.watch.close()
	}
	in.mod.Close(context.Background())
	in.sess.Close()
	in.h.live.Add(-1)
	in.h.mu.Lock()
	in.v.instances--
	in.h.mu.Unlock()
	if in.ref {
		in.v.release(in.h)
	}
}

// lineWriter turns a guest's stdout or stderr into log lines and keeps the
// last ones for failure reports.
type lineWriter struct {
	mu      sync.Mutex
	emit    func(string)
	partial []byte
	last    []string
	emitted int
	// headline is the last "panic:", "fatal error:" or "runtime:" line: the
	// reason a Go runtime prints before its goroutine dump, which the tail
	// alone would miss.
	headline string
}

const (
	tailLines   = 8
	maxLineLen  = 4096
	maxLinesOut = 1000 // lines logged per instance; the rest only fill the tail
)

func newLineWriter(emit func(string)) *lineWriter { return &lineWriter{emit: emit} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := 0
		for i < len(p) && p[i] != '\n' {
			i++
		}
		if room := maxLineLen - len(w.partial); room > 0 {
			w.partial = append(w.partial, p[:min(i, room)]...)
		}
		if i == len(p) {
			break
		}
		w.line(string(w.partial))
		w.partial = w.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) line(l string) {
	if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") || strings.HasPrefix(l, "runtime: ") {
		w.headline = l
	}
	if w.emitted < maxLinesOut {
		w.emitted++
		w.emit(l)
	}
	w.last = append(w.last, l)
	if len(w.last) > tailLines {
		w.last = w.last[len(w.last)-tailLines:]
	}
}

func (w *lineWriter) tail() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	if w.headline != "" && !slices.Contains(w.last, w.headline) {
		out = append(out, w.headline, "...")
	}
	out = append(out, w.last...)
	if len(w.partial) > 0 {
		out = append(out, string(w.partial))
	}
	return out
}

// instantiateGuarded is wazero's InstantiateModule with a panic turned into
// an error (see compileGuarded). No guest code runs in it: the host calls
// the start function and _initialize itself, afterwards.
func instantiateGuarded(ctx context.Context, rt wazero.Runtime, cm wazero.CompiledModule, mc wazero.ModuleConfig) (mod api.Module, err error) {
	defer func() {
		if p := recover(); p != nil {
			mod, err = nil, fmt.Errorf("wazero failed on it: %v", p)
		}
	}()
	return rt.InstantiateModule(ctx, cm, mc)
}
