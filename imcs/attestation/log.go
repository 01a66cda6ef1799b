package main

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
)

// logger formats lines in strongSwan's wording and hands them to the host,
// which prints them under the IMC's name ([IMC]/[PTS] lines).
type logger struct {
	out interface {
		Log(level abi.LogLevel, msg string)
		LogLevel() abi.LogLevel
	}
}

func (l logger) logf(level abi.LogLevel, format string, args ...any) {
	if l.out == nil || level > l.out.LogLevel() {
		return
	}
	l.out.Log(level, fmtlite.Sprintf(format, args...))
}

// err logs at LogError.
func (l logger) err(format string, args ...any) { l.logf(abi.LogError, format, args...) }

// info logs at LogInfo (strongSwan DBG1).
func (l logger) info(format string, args ...any) { l.logf(abi.LogInfo, format, args...) }

// debug logs at LogDebug (DBG2).
func (l logger) debug(format string, args ...any) { l.logf(abi.LogDebug, format, args...) }

// trace logs at LogTrace (DBG3, hex dumps).
func (l logger) trace(format string, args ...any) { l.logf(abi.LogTrace, format, args...) }

// enabled reports whether level would be printed (to skip costly dumps).
func (l logger) enabled(level abi.LogLevel) bool {
	return l.out != nil && level <= l.out.LogLevel()
}
