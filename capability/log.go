package capability

// The log family: log, log_level and config_get, the functions every IMC
// is granted to talk about itself.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/logfmt"
)

// SettingMaxMessageSize is the IMC setting config_get answers with the
// connection's [tnccs] max_message_size when the IMC's settings do not set
// it.
const SettingMaxMessageSize = "max_message_size"

// maxLogLine bounds one line of the log host function.
const maxLogLine = 16 << 10

// Log implements the log host function: levels 0 to 3; of the lines printed, at most a burst of
// logBurst lines refilled at logRate a second, MaxLogLines and logMaxBytes in all (the
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
				s.c.IMCID, logfmt.Escape(s.c.Name), logBurst, logRate, MaxLogLines, logMaxBytes>>20))
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

func (s *Session) configGet(_ context.Context, in []byte) ([]byte, error) {
	if len(in) > abi.MaxConfigKeyLen {
		return nil, fail(abi.FnConfigGet, abi.StatusTooLarge, errors.New("key too long"))
	}
	v, ok := s.c.Settings[string(in)]
	if !ok && string(in) == SettingMaxMessageSize && s.c.MaxMessageSize != 0 {
		// Unset for the IMC: the connection's own limit, so that an
		// IMC sizes its messages to what send accepts.
		v, ok = strconv.FormatUint(uint64(s.c.MaxMessageSize), 10), true
	}
	if !ok {
		return nil, fail(abi.FnConfigGet, abi.StatusNotFound, fmt.Errorf("no setting %q", in))
	}
	return []byte(v), nil
}

// Log limits of one module on one connection, counting the lines the
// host prints (a line below the log level costs nothing): a burst of
// logBurst lines, refilled at logRate lines a second, MaxLogLines and
// logMaxBytes in all. The shipped IMCs log a few hundred lines at the
// most detailed level.
const (
	logBurst    = 2000
	logRate     = 500
	logMaxBytes = 16 << 20
)

// MaxLogLines is the most lines one module may log on one connection.
const MaxLogLines = 50000

// logLimiter is a token bucket with a total cap.
type logLimiter struct {
	tokens     float64
	last       time.Time
	lines      int
	bytes      int
	suppressed int
}

// allow reports whether one more line of n bytes may be logged now.
func (l *logLimiter) allow(now time.Time, n int) bool {
	if l.last.IsZero() {
		l.tokens, l.last = logBurst, now
	}
	l.tokens = min(logBurst, l.tokens+now.Sub(l.last).Seconds()*logRate)
	l.last = now
	if l.lines >= MaxLogLines || l.bytes+n > logMaxBytes || l.tokens < 1 {
		l.suppressed++
		return false
	}
	l.tokens--
	l.lines++
	l.bytes += n
	return true
}
