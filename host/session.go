package host

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tpmhost"
)

// SessionConfig configures a Session.
type SessionConfig struct {
	IMCID    uint32
	Name     string
	Conn     tnccs.ConnID // 0: no connection (load-time probe); send answers StatusState
	Settings Settings
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
	packages     []byte            // the encoded packages result, for this connection
	roundSent    int               // PA bytes sent since the client's last batch
	connSent     int               // PA bytes sent on this connection
	refused      map[string]int    // refused sends, by reason
	logLim       logLimiter
	assessed     assessed // what IMVs sent this module, for report
}

// maxDHKeys bounds the key pairs one session may hold.
const maxDHKeys = 8

// maxLogLine bounds one line of the log host function.
const maxLogLine = 16 << 10

// NewSession returns a Session for one IMC instance.
func NewSession(c SessionConfig) *Session {
	l := c.Logger
	if l == nil {
		l = hclog.NewNullLogger()
	}
	return &Session{c: c, log: l, dh: map[uint32]DHKey{}, eventLogs: map[uint16][]byte{}}
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

// Log implements the log host function: levels 0 to 3; of the lines printed, at most a burst of
// logBurst lines refilled at logRate a second, logMaxLines and logMaxBytes in all (the
// rest are counted, said once, and answered StatusExhausted).
func (s *Session) Log(level abi.LogLevel, msg []byte) abi.Status {
	if level < abi.LogError || level > abi.LogTrace {
		return abi.StatusInvalid
	}
	if len(msg) > maxLogLine {
		msg = msg[:maxLogLine]
	}
	if !s.enabled(level) {
		return abi.StatusOK
	}
	s.mu.Lock()
	ok := s.logLim.allow(time.Now(), len(msg))
	first := !ok && s.logLim.suppressed == 1
	s.mu.Unlock()
	if !ok {
		if first {
			s.log.Warn(fmt.Sprintf("IMC %d \"%s\" logs too much (more than %d lines at once, %d a second, %d lines or %d MiB in all): further lines are suppressed",
				s.c.IMCID, logfmt.Escape(s.c.Name), logBurst, logRate, logMaxLines, logMaxBytes>>20))
		}
		return abi.StatusExhausted
	}
	// A module's text is escaped here: a newline in it cannot start a log
	// line of its own, nor an escape sequence reach the terminal.
	line := logfmt.Escape(strings.TrimRight(string(msg), "\n"))
	log := s.log
	// As strongSwan's IMCs do, a module logs its PA-TNC lines under [TNC]
	// and its PTS lines under [PTS] by starting them with that tag. [TNC]
	// is PB-TNC's, whose lines a module must not be able to forge (an
	// access recommendation), so only the PA-TNC vocabulary goes there;
	// every other line, and any other tag, stays the IMC's.
	if rest, ok := strings.CutPrefix(line, "[TNC] "); ok && paTNCLine(rest) {
		log, line = s.tagged("TNC"), rest
	} else if rest, ok := strings.CutPrefix(line, "[PTS] "); ok {
		log, line = s.tagged("PTS"), rest
	}
	s.mu.Lock()
	again := s.initializing && s.c.Conn != 0
	s.mu.Unlock()
	if again && level >= abi.LogInfo {
		// Every connection starts its own instance, which initializes
		// again: what it says then was said when the module was loaded.
		level = abi.LogTrace
	}
	switch {
	case level <= abi.LogError:
		log.Error(line)
	case level == abi.LogInfo:
		log.Info(line)
	case level == abi.LogDebug:
		log.Debug(line)
	default:
		log.Trace(line)
	}
	return abi.StatusOK
}

// enabled reports whether the IMC's logger prints lines of level.
func (s *Session) enabled(level abi.LogLevel) bool {
	switch level {
	case abi.LogError:
		return s.log.IsError()
	case abi.LogInfo:
		return s.log.IsInfo()
	case abi.LogDebug:
		return s.log.IsDebug()
	}
	return s.log.IsTrace()
}

// paTNCLine reports whether a module's [TNC] line is one of PA-TNC's:
// "creating|processing PA-TNC message|attribute ...".
func paTNCLine(l string) bool {
	for _, p := range [...]string{"creating PA-TNC message ", "creating PA-TNC attribute ",
		"processing PA-TNC message ", "processing PA-TNC attribute "} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// tagged returns the logger for a module's [TNC] or [PTS] lines: the
// subsystem's, with the IMC's name after it (JSON "@module": "tnc.os").
func (s *Session) tagged(tag string) hclog.Logger {
	name := strings.ToLower(tag)
	if s.c.Name != "" {
		name += "." + strings.ToLower(s.c.Name)
	}
	return s.log.ResetNamed(name)
}

// LogLevel implements the log_level host function.
func (s *Session) LogLevel() abi.LogLevel {
	switch {
	case s.log.IsTrace():
		return abi.LogTrace
	case s.log.IsDebug():
		return abi.LogDebug
	case s.log.IsInfo():
		return abi.LogInfo
	}
	return abi.LogError
}

// Call runs the data host function fn on an encoded input and returns the
// encoded result (natively, without a stash).
func (s *Session) Call(fn string, in []byte) ([]byte, abi.Status) {
	return s.CallContext(context.Background(), fn, in)
}

// CallContext is Call under ctx (the deadline of the module call).
func (s *Session) CallContext(ctx context.Context, fn string, in []byte) ([]byte, abi.Status) {
	out, err := s.dispatch(ctx, fn, in)
	if err != nil {
		st := statusOf(err)
		var ce *CallError
		if errors.As(err, &ce) {
			st = ce.Status
		}
		switch st {
		case abi.StatusFailed:
			s.log.Warn(fmt.Sprintf("host function %s failed", fn), "error", err)
		case abi.StatusUnsupported:
			// An answer, not a failure: a bank the boot log does not have.
			s.log.Trace(fmt.Sprintf("host function %s: %v", fn, err))
		case abi.StatusNotFound:
			if fn == abi.FnConfigGet {
				// An optional setting left out: no line an operator acts on.
				s.log.Trace(fmt.Sprintf("host function %s: %v", fn, err))
				break
			}
			// A file, key or handle the configuration names is missing
			// (the event log, the AK): the operator has to hear of it.
			s.log.Warn(fmt.Sprintf("host function %s failed", fn), "error", err)
		default:
			s.log.Debug(fmt.Sprintf("host function %s", fn), "status", st, "error", err)
		}
		return nil, st
	}
	return out, abi.StatusOK
}

// setStash keeps a result that did not fit the guest's buffer.
func (s *Session) setStash(out []byte) {
	s.mu.Lock()
	s.stash, s.stashed = out, true
	s.mu.Unlock()
}

// takeStash implements result_take: the stashed result if it fits in capacity
// (then it is dropped), else only its length (then it stays).
func (s *Session) takeStash(capacity uint32) ([]byte, int, abi.Status) {
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

func (s *Session) dispatch(ctx context.Context, fn string, in []byte) ([]byte, error) {
	p := &s.c.Platform
	switch fn {
	case abi.FnSend:
		return nil, s.send(in)
	case abi.FnSubscribe:
		return nil, s.subscribe(in)
	case abi.FnConfigGet:
		if len(in) > abi.MaxConfigKeyLen {
			return nil, fail(fn, abi.StatusTooLarge, errors.New("key too long"))
		}
		v, ok := s.c.Settings[string(in)]
		if !ok && string(in) == SettingMaxMessageSize && s.c.MaxMessageSize != 0 {
			// Unset for the IMC: the connection's own limit, so that an
			// IMC sizes its messages to what send accepts.
			v, ok = strconv.FormatUint(uint64(s.c.MaxMessageSize), 10), true
		}
		if !ok {
			return nil, fail(fn, abi.StatusNotFound, fmt.Errorf("no setting %q", in))
		}
		return []byte(v), nil
	case abi.FnReport:
		r, err := abi.ParseReport(in)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		err = s.assessed.check(r)
		s.mu.Unlock()
		if err != nil {
			s.log.Warn(fmt.Sprintf("IMC %d \"%s\" reported result %d from IMV %d, refused: %v",
				s.c.IMCID, logfmt.Escape(s.c.Name), r.Result, r.Validator, err))
			return nil, fail(fn, abi.StatusDenied, err)
		}
		if s.c.OnReport != nil {
			s.c.OnReport(r)
		}
		return nil, nil
	case abi.FnHash:
		req, err := abi.ParseHashRequest(in)
		if err != nil {
			return nil, err
		}
		h, err := newHash(req.Alg)
		if err != nil {
			return nil, err
		}
		h.Write(req.Data)
		return h.Sum(nil), nil
	case abi.FnRandom:
		n, err := abi.ParseUint32(in)
		if err != nil {
			return nil, err
		}
		if n > abi.MaxRandomLen {
			return nil, fail(fn, abi.StatusTooLarge, fmt.Errorf("%d random bytes asked", n))
		}
		out := make([]byte, n)
		rand.Read(out)
		return out, nil
	case abi.FnDHCreate:
		return s.dhCreate(in)
	case abi.FnDHFinish:
		return s.dhFinish(in)
	case abi.FnOSRelease, abi.FnSystemFacts, abi.FnPackages, abi.FnSymlinks:
		if p.System == nil {
			return nil, ErrUnavailable
		}
		return s.system(fn, in)
	case abi.FnIMAEvents:
		return s.imaEvents(in)
	case abi.FnFileMeasure:
		return s.fileMeasure(ctx, in)
	case abi.FnFileMetadata:
		return s.fileMetadata(in)
	case abi.FnTPMVersionInfo, abi.FnTPMBanks, abi.FnTPMAIK, abi.FnTPMQuote, abi.FnEventLog:
		if p.TPM == nil {
			return nil, ErrUnavailable
		}
		return s.tpm(ctx, fn, in)
	}
	return nil, fail(fn, abi.StatusInvalid, errors.New("unknown host function"))
}

func (s *Session) send(in []byte) error {
	h, body, err := abi.ParseMessage(in)
	if err != nil {
		var de *abi.DecodeError
		if errors.As(err, &de) && de.Offset == abi.MessageHeaderLen {
			return fail(abi.FnSend, abi.StatusTooLarge, err)
		}
		return err
	}
	body = s.withModuleReport(h.Type, body)
	if max := s.c.MaxMessageSize; max != 0 && uint32(len(body)) > max {
		return fail(abi.FnSend, abi.StatusTooLarge,
			fmt.Errorf("PA message of %d bytes exceeds the maximum of %d", len(body), max))
	}
	if s.c.Send == nil || s.c.Conn == 0 {
		return fail(abi.FnSend, abi.StatusState, errors.New("no connection"))
	}
	s.mu.Lock()
	lane := s.c.SendTypes
	if lane == nil {
		lane = s.subs
	}
	inLane := covers(lane, h.Type)
	s.mu.Unlock()
	if !inLane {
		return s.refuse("lane", abi.StatusDenied, fmt.Errorf("PA message type %s is outside its lane (pa_send, else its subscriptions)", h.Type))
	}
	if err := checkPATNC(body); err != nil {
		return s.refuse("framing", abi.StatusInvalid, fmt.Errorf("malformed PA message type %s: %v", h.Type, err))
	}
	batch := batchLimit(s.c.MaxBatchSize)
	s.mu.Lock()
	round, conn := s.roundSent+len(body), s.connSent+len(body)
	within := round <= roundBudgetBatches*batch && conn <= connBudgetBatches*batch
	if within {
		s.roundSent, s.connSent = round, conn
	}
	s.mu.Unlock()
	if !within {
		return s.refuse("budget", abi.StatusExhausted, fmt.Errorf("PA message of %d bytes exceeds its send budget (%d bytes until the next batch, %d on the connection)",
			len(body), roundBudgetBatches*batch, connBudgetBatches*batch))
	}
	m := tnccs.PAMessage{
		Vendor:    h.Type.Vendor,
		Subtype:   h.Type.Subtype,
		Collector: uint16(s.c.IMCID),
		Validator: uint16(h.Validator),
		Exclusive: h.Flags&abi.FlagExclusive != 0,
		Body:      append([]byte(nil), body...),
	}
	if err := s.c.Send(m); err != nil {
		return fail(abi.FnSend, abi.StatusFailed, err)
	}
	return nil
}

// refuse logs a refused send, the first of each reason at warning level
// and the others at debug level, and returns the status for the module.
func (s *Session) refuse(reason string, st abi.Status, err error) error {
	s.mu.Lock()
	if s.refused == nil {
		s.refused = map[string]int{}
	}
	s.refused[reason]++
	n := s.refused[reason]
	s.mu.Unlock()
	msg := fmt.Sprintf("IMC %d \"%s\" send refused on Connection ID %d: %v", s.c.IMCID, logfmt.Escape(s.c.Name), s.c.Conn, err)
	if n == 1 {
		s.log.Warn(msg)
	} else {
		s.log.Debug(msg)
	}
	return fail(abi.FnSend, st, err)
}

func (s *Session) subscribe(in []byte) error {
	types, err := abi.ParseMsgTypes(in)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.initializing {
		return fail(abi.FnSubscribe, abi.StatusState, errors.New("subscribe outside imc_initialize"))
	}
	for _, t := range types {
		if !slices.Contains(s.subs, t) {
			s.subs = append(s.subs, t)
		}
	}
	if len(s.subs) > abi.MaxSubscriptions {
		s.subs = s.subs[:abi.MaxSubscriptions]
		return fail(abi.FnSubscribe, abi.StatusTooLarge, errors.New("too many subscriptions"))
	}
	return nil
}

func newHash(alg uint16) (hash.Hash, error) {
	switch alg {
	case abi.AlgSHA1:
		return sha1.New(), nil
	case abi.AlgSHA256:
		return sha256.New(), nil
	case abi.AlgSHA384:
		return sha512.New384(), nil
	case abi.AlgSHA512:
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("%w: hash algorithm 0x%04x", ErrUnsupported, alg)
}

func (s *Session) dhCreate(in []byte) ([]byte, error) {
	req, err := abi.ParseDHCreateRequest(in)
	if err != nil {
		return nil, err
	}
	dh := s.c.Platform.DH
	if dh == nil {
		dh = StdDH{}
	}
	s.mu.Lock()
	n := len(s.dh)
	s.mu.Unlock()
	if n >= maxDHKeys {
		return nil, fail(abi.FnDHCreate, abi.StatusTooLarge, errors.New("too many open DH keys"))
	}
	k, err := dh.NewKey(req.Group)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.nextDH++
	h := s.nextDH
	s.dh[h] = k
	s.mu.Unlock()
	return abi.AppendDHCreateResult(nil, abi.DHCreateResult{Handle: h, Public: k.Public()}), nil
}

// dhFinish returns H('1' || initiator nonce || responder nonce || secret),
// the PTS secret assessment value; the key is used once.
func (s *Session) dhFinish(in []byte) ([]byte, error) {
	req, err := abi.ParseDHFinishRequest(in)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	k, ok := s.dh[req.Handle]
	delete(s.dh, req.Handle)
	s.mu.Unlock()
	if !ok {
		return nil, fail(abi.FnDHFinish, abi.StatusNotFound, fmt.Errorf("no DH key %d", req.Handle))
	}
	h, err := newHash(req.HashAlg)
	if err != nil {
		return nil, err
	}
	secret, err := k.Shared(req.PeerPublic)
	if err != nil {
		return nil, fail(abi.FnDHFinish, abi.StatusInvalid, err)
	}
	h.Write([]byte{'1'})
	h.Write(req.InitiatorNonce)
	h.Write(req.ResponderNonce)
	h.Write(secret)
	clear(secret)
	return h.Sum(nil), nil
}

func (s *Session) system(fn string, in []byte) ([]byte, error) {
	sys := s.c.Platform.System
	switch fn {
	case abi.FnOSRelease:
		return sys.OSRelease()
	case abi.FnSystemFacts:
		v, err := sys.SystemFacts()
		if err != nil {
			return nil, err
		}
		return abi.AppendSystemFacts(nil, v), nil
	case abi.FnPackages:
		// Read once per connection: however often an IMV asks, the
		// package database is parsed once.
		s.mu.Lock()
		out := s.packages
		s.mu.Unlock()
		if out != nil {
			return out, nil
		}
		v, err := sys.Packages()
		if err != nil {
			return nil, err
		}
		out = abi.AppendPackages(nil, v)
		s.mu.Lock()
		s.packages = out
		s.mu.Unlock()
		return out, nil
	default: // abi.FnSymlinks
		if len(in) > abi.MaxSymlinkDirLen || len(in) == 0 || in[0] != '/' {
			return nil, fail(fn, abi.StatusInvalid, errors.New("directory must be an absolute path"))
		}
		v, err := sys.Symlinks(string(in))
		if err != nil {
			return nil, err
		}
		return abi.AppendSymlinks(nil, v), nil
	}
}

// handleSetting parses a handle setting such as aik_handle = "0x81010003".
func (s *Session) handleSetting(key string) (uint32, error) {
	v, ok := s.c.Settings[key]
	if !ok || v == "" {
		return 0, fmt.Errorf("%w: no %s setting", ErrNotFound, key)
	}
	h, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: setting %s = %q is not a handle", ErrInvalid, key, v)
	}
	return uint32(h), nil
}

func (s *Session) tpm(ctx context.Context, fn string, in []byte) ([]byte, error) {
	t := s.c.Platform.TPM
	switch fn {
	case abi.FnTPMVersionInfo:
		v, err := t.VersionInfo(ctx)
		if err != nil {
			return nil, err
		}
		return abi.AppendTPMVersionInfo(nil, v), nil
	case abi.FnTPMBanks:
		v, err := t.Banks(ctx)
		if err != nil {
			return nil, err
		}
		return abi.AppendBanks(nil, v), nil
	case abi.FnTPMAIK:
		h, err := abi.ParseUint32(in)
		if err != nil {
			return nil, err
		}
		configured := h == 0
		if configured {
			if h, err = s.handleSetting("aik_handle"); err != nil {
				return nil, err
			}
		}
		v, err := t.AIK(ctx, h)
		if err != nil {
			return nil, err
		}
		if path := s.c.Settings["aik_cert"]; configured && path != "" {
			der, err := readCert(path)
			if err != nil {
				return nil, fail(fn, abi.StatusFailed, err)
			}
			v.CertDER = der
		}
		return abi.AppendAIK(nil, v), nil
	case abi.FnTPMQuote:
		req, err := abi.ParseQuoteRequest(in)
		if err != nil {
			return nil, err
		}
		if req.Handle == 0 {
			if req.Handle, err = s.handleSetting("aik_handle"); err != nil {
				return nil, err
			}
		}
		v, err := t.Quote(ctx, req)
		if err != nil {
			return nil, err
		}
		s.prepareModuleReport(ctx, req)
		return abi.AppendQuote(nil, v), nil
	default: // abi.FnEventLog
		bank, err := abi.ParseUint16(in)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		out, ok := s.eventLogs[bank]
		s.mu.Unlock()
		if ok {
			return out, nil
		}
		path := s.c.Settings["eventlog"]
		if path == "" {
			path = s.c.Platform.EventLogPath
		}
		if path == "" {
			path = DefaultEventLogPath
		}
		v, err := t.EventLog(ctx, path, bank)
		if err != nil {
			return nil, err
		}
		out = abi.AppendEventLog(nil, v)
		s.mu.Lock()
		s.eventLogs[bank] = out
		s.mu.Unlock()
		return out, nil
	}
}

// maxCertFile bounds the aik_cert file.
const maxCertFile = 1 << 20

// readCert reads an X.509 certificate, PEM or DER, from the host's config.
func readCert(path string) ([]byte, error) {
	f, err := tpmhost.OpenRegularFile(path) // a named pipe would block
	if err != nil {
		return nil, fmt.Errorf("host: aik_cert: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCertFile+1))
	if err == nil && len(b) > maxCertFile {
		err = fmt.Errorf("larger than %d bytes", maxCertFile)
	}
	if err != nil {
		return nil, fmt.Errorf("host: aik_cert %s: %w", path, err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("host: aik_cert %s: PEM block %q is not a CERTIFICATE", path, blk.Type)
		}
		return blk.Bytes, nil
	}
	return b, nil
}

// Close forgets the session's DH keys and cached results, and says how
// many log lines and sends were refused.
func (s *Session) Close() {
	s.mu.Lock()
	clear(s.dh)
	clear(s.eventLogs)
	s.ima.close()
	s.ima = nil
	s.stash, s.stashed, s.packages = nil, false, nil
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
