package pttls

import (
	"context"
	"sync"
	"time"
)

// Throttle slows SASL password guessing: after failures from a source
// address or for a user name, the next attempt from that address or for
// that name is answered only after a delay that doubles with each further
// failure (the first Free failures cost nothing), up to Max. Failures are
// forgotten after Window without one. A success clears the user's count,
// not the source's. The delay is taken before the password is checked, so
// that parallel guesses wait as well. One Throttle serves every
// connection of a server; it is safe for concurrent use.
type Throttle struct {
	// Free is how many failures are answered without delay (default 3).
	Free int
	// Base is the first delay (default 250 ms), Max the largest (default
	// 16 s).
	Base, Max time.Duration
	// Window is how long failures are remembered (default 10 minutes).
	Window time.Duration
	// MaxEntries bounds the remembered sources and users together
	// (default 65536); the oldest are forgotten first.
	MaxEntries int

	mu      sync.Mutex
	entries map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func (t *Throttle) free() int {
	if t.Free <= 0 {
		return 3
	}
	return t.Free
}

func (t *Throttle) window() time.Duration {
	if t.Window <= 0 {
		return 10 * time.Minute
	}
	return t.Window
}

// Delay is what the next attempt from source for user waits.
func (t *Throttle) Delay(source, user string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := max(t.count("s:"+source), t.count("u:"+user)) - t.free()
	if n < 0 {
		return 0
	}
	base, top := t.Base, t.Max
	if base <= 0 {
		base = 250 * time.Millisecond
	}
	if top <= 0 {
		top = 16 * time.Second
	}
	d := base
	for i := 0; i < n && d < top; i++ {
		d *= 2
	}
	return min(d, top)
}

func (t *Throttle) count(key string) int {
	f := t.entries[key]
	if f == nil {
		return 0
	}
	if time.Since(f.last) > t.window() {
		delete(t.entries, key)
		return 0
	}
	return f.n
}

// Wait sleeps Delay(source, user), or until ctx ends (its error).
func (t *Throttle) Wait(ctx context.Context, source, user string) error {
	d := t.Delay(source, user)
	if d == 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Failed records a failed attempt.
func (t *Throttle) Failed(source, user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries == nil {
		t.entries = map[string]*failures{}
	}
	limit := t.MaxEntries
	if limit <= 0 {
		limit = 65536
	}
	for len(t.entries) >= limit {
		t.forgetOldest()
	}
	now := time.Now()
	for _, k := range []string{"s:" + source, "u:" + user} {
		f := t.entries[k]
		if f == nil || now.Sub(f.last) > t.window() {
			f = &failures{}
			t.entries[k] = f
		}
		f.n++
		f.last = now
	}
}

func (t *Throttle) forgetOldest() {
	var oldest string
	var at time.Time
	for k, f := range t.entries {
		if oldest == "" || f.last.Before(at) {
			oldest, at = k, f.last
		}
	}
	delete(t.entries, oldest)
}

// Succeeded clears the user's failures.
func (t *Throttle) Succeeded(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, "u:"+user)
}
