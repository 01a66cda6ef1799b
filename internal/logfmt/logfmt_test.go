package logfmt

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestTextLines(t *testing.T) {
	var buf bytes.Buffer
	root := New(Options{Output: &buf, Level: hclog.Info})
	root.Named("tnc").Info("sending PB-TNC CDATA batch (269 bytes) for Connection ID 1")
	root.Named("imc").Named("os").Info("device ID is 732c", "imc_id", 1)
	root.Named("pts").Debug("hidden at info level")
	root.Named("tls").Warn("server certificate not verified", "addr", "pdp:271")
	root.Named("pts").Info("dump:\n   0: 00 01\n  16: 02")
	want := strings.Join([]string{
		"[TNC] sending PB-TNC CDATA batch (269 bytes) for Connection ID 1",
		"[IMC] device ID is 732c", // level 1: no key=value tail
		"[TLS] warning: server certificate not verified addr=pdp:271",
		"[PTS] dump:",
		"[PTS]    0: 00 01",
		"[PTS]   16: 02",
		"",
	}, "\n")
	if got := buf.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if root.Named("pts").IsDebug() {
		t.Fatal("IsDebug true at info level")
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	New(Options{Output: &buf, Level: hclog.Debug, JSON: true}).Named("tnc").Debug("x", "conn_id", 1)
	if !strings.Contains(buf.String(), `"@module":"tnc"`) || !strings.Contains(buf.String(), `"conn_id":1`) {
		t.Fatalf("json line: %s", buf.String())
	}
}

func TestDebugLevel(t *testing.T) {
	for n, want := range map[int]hclog.Level{0: hclog.Warn, 1: hclog.Info, 2: hclog.Debug, 3: hclog.Trace, 4: hclog.Trace} {
		if got := DebugLevel(n); got != want {
			t.Errorf("DebugLevel(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestInfoKeepsError: a level-1 line leaves its fields to JSON, but not the
// error that says why (it would read "ended with an error" and stop).
func TestInfoKeepsError(t *testing.T) {
	var buf bytes.Buffer
	root := New(Options{Output: &buf, Level: hclog.Info})
	root.Named("tnc").Info("PB-TNC connection ended with an error", "remote", "127.0.0.1:1",
		"error", errors.New("pttls: reading\nVersion Request: EOF"))
	want := "[TNC] PB-TNC connection ended with an error: pttls: reading\\nVersion Request: EOF\n"
	if got := buf.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
