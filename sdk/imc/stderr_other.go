//go:build !wasip1

package imc

import (
	"os"
	"time"
)

func writeStderr(s string) { os.Stderr.WriteString(s) }

// UnixNow returns the wall clock in Unix seconds (in a module: WASI's
// realtime clock, without linking package time).
func UnixNow() int64 { return time.Now().Unix() }
