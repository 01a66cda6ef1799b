// Package logfmt builds imchost's root hclog.Logger: strongSwan-style text
// lines ("[TNC] sending PB-TNC CDATA batch (269 bytes) for Connection ID 1"),
// one event per line, the subsystem tag taken from the logger's name, or
// hclog's JSON objects on request.
package logfmt

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Options configure New.
type Options struct {
	Output io.Writer   // where lines go
	Level  hclog.Level // most detailed level printed
	JSON   bool        // hclog JSON objects instead of text lines
	Time   bool        // prefix text lines with a time stamp
}

// DebugLevel maps strongSwan's --debug numbers (0..4) to hclog levels:
// 0 errors and warnings, 1 operator facts (Info), 2 flow (Debug), 3 and more
// hex dumps (Trace).
func DebugLevel(n int) hclog.Level {
	switch {
	case n <= 0:
		return hclog.Warn
	case n == 1:
		return hclog.Info
	case n == 2:
		return hclog.Debug
	default:
		return hclog.Trace
	}
}

// New returns the root logger. Sub-loggers are made with Named("tnc"),
// Named("imc").Named("os") and so on; the first name component becomes the
// tag.
func New(o Options) hclog.Logger {
	if o.JSON {
		return hclog.New(&hclog.LoggerOptions{Output: o.Output, Level: o.Level, JSONFormat: true})
	}
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{Output: io.Discard, Level: o.Level})
	l.RegisterSink(&sink{w: o.Output, level: l.GetLevel, time: o.Time}) // the root's level: SetLevel changes what is printed
	return l
}

// tags maps a logger name's first component to strongSwan's subsystem tag.
var tags = map[string]string{
	"tnc": "TNC", "tls": "TLS", "imc": "IMC", "imv": "IMV", "pts": "PTS", "tpm": "TPM",
	"wasm": "WASM", "pdp": "PDP", "cfg": "CFG", "dmn": "DMN", "enc": "ENC", "lib": "LIB",
}

// Tag returns the subsystem tag for an hclog logger name.
func Tag(name string) string {
	first, _, _ := strings.Cut(name, ".")
	if t, ok := tags[first]; ok {
		return t
	}
	if first == "" {
		return "DMN"
	}
	return strings.ToUpper(first)
}

type sink struct {
	mu    sync.Mutex
	w     io.Writer
	level func() hclog.Level
	time  bool
}

// Accept formats one event; it implements hclog.SinkAdapter.
func (s *sink) Accept(name string, level hclog.Level, msg string, args ...interface{}) {
	if level < s.level() || level == hclog.Off {
		return
	}
	var prefix strings.Builder
	if s.time {
		prefix.WriteString(nowStamp())
		prefix.WriteByte(' ')
	}
	prefix.WriteByte('[')
	prefix.WriteString(Tag(name))
	prefix.WriteString("] ")
	var b strings.Builder
	// A multi-line message (a hex dump) becomes several tagged lines, as
	// strongSwan prints them; key/value pairs follow the first line. Text
	// from outside is escaped where it is put into a message (Escape), so
	// that its newlines cannot make lines of their own; any other control
	// character left in a line or a value is escaped here.
	for i, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		b.WriteString(prefix.String())
		if i == 0 {
			switch level {
			case hclog.Warn:
				b.WriteString("warning: ")
			case hclog.Error:
				b.WriteString("error: ")
			}
		}
		b.WriteString(Escape(line))
		// A line of strongSwan's levels 1 and 2 (Info, Debug) says what it
		// has to say in words, as strongSwan's do; its fields stay in JSON.
		// Warnings, errors and level 3 and up (Trace) keep them as
		// key=value.
		if i == 0 && (level == hclog.Info || level == hclog.Debug) {
			// The one field words cannot leave out: what went wrong.
			for i := 0; i+1 < len(args); i += 2 {
				if _, isErr := args[i+1].(error); isErr || args[i] == "error" {
					b.WriteString(": ")
					b.WriteString(Escape(fmt.Sprint(args[i+1])))
				}
			}
		}
		if i == 0 && level != hclog.Info && level != hclog.Debug {
			for i := 0; i+1 < len(args); i += 2 {
				fmt.Fprintf(&b, " %s=%s", Escape(fmt.Sprint(args[i])), value(args[i+1]))
			}
			if len(args)%2 == 1 {
				fmt.Fprintf(&b, " EXTRA_VALUE=%s", value(args[len(args)-1]))
			}
		}
		b.WriteByte('\n')
	}
	s.mu.Lock()
	io.WriteString(s.w, b.String())
	s.mu.Unlock()
}

func value(v interface{}) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case error:
		s = x.Error()
	case []byte:
		s = fmt.Sprintf("%x", x)
	default:
		s = fmt.Sprint(x)
	}
	if strings.ContainsAny(s, " \t\"=") || s == "" {
		return fmt.Sprintf("%q", s)
	}
	return Escape(s)
}
