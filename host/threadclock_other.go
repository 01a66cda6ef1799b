//go:build !linux

package host

import "time"

// threadClock is a thread's CPU clock where Linux's is not available: none,
// so calls are bounded by wall-clock time.
type threadClock struct{}

func currentThreadClock() threadClock { return threadClock{} }

func (threadClock) now() (time.Duration, bool) { return 0, false }

func (threadClock) since(time.Duration) (time.Duration, bool) { return 0, false }
