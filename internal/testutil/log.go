package testutil

import (
	"io"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// LogWriter is an io.Writer that hands what is written to t.Log, one call a
// write, trailing newlines dropped: for loggers whose lines belong to the
// test's output.
func LogWriter(t testing.TB) io.Writer { return logWriter{t} }

// Logger is an hclog.Logger named name at level, writing to t.Log without
// time stamps.
func Logger(t testing.TB, name string, level hclog.Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: level, Output: LogWriter(t), DisableTime: true})
}
