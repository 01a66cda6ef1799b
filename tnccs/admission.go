package tnccs

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Admission defaults (ServerConfig).
const (
	// DefaultHandshakeTimeout bounds the TLS handshake and the PT-TLS
	// negotiation (version, SASL) of one connection together.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultMaxConnsPerSource bounds the connections of one IP address.
	DefaultMaxConnsPerSource = 16
	// evictIdle is how long a connection must have waited for its peer
	// before a new connection may take its place.
	evictIdle = 2 * time.Second
)

// Refusal reasons passed to ServerConfig.OnRefused.
const (
	RefusedPerSource = "per_source" // the source address has MaxConnsPerSource connections
	RefusedEvicted   = "evicted"    // an idle connection closed to admit a new one
	RefusedShutdown  = "shutdown"   // the server stopped before admitting it
)

// tracked is one accepted connection as admission sees it: whether the
// server is waiting for its peer, and since when.
type tracked struct {
	net.Conn
	src     string
	authed  atomic.Bool
	waiting atomic.Int64 // UnixNano when a Read began that has not returned; 0 otherwise
	cancel  context.CancelFunc
	evicted bool // under admission.mu
}

// Read records the time the server waits for the peer.
func (t *tracked) Read(p []byte) (int, error) {
	t.waiting.Store(time.Now().UnixNano())
	n, err := t.Conn.Read(p)
	t.waiting.Store(0)
	return n, err
}

// idle is how long the server has been waiting for the peer (0 when it
// is not waiting: the server is working on the connection or writing).
func (t *tracked) idle(now time.Time) time.Duration {
	w := t.waiting.Load()
	if w == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, w))
}

// admission decides which connections run: at most max at once and
// perSource from one IP address. A new connection beyond max waits for a
// slot; meanwhile the connection that has waited longest for its peer
// (at least evictIdle, unauthenticated ones first) is closed to make room,
// so that silent sockets, stalled handshakes and idle sessions cannot keep
// out clients that are making progress.
type admission struct {
	max, perSource int
	onRefused      func(remote, reason string)

	mu       sync.Mutex
	running  map[*tracked]struct{}
	sources  map[string]int // running and waiting, per IP
	released chan struct{}  // closed and replaced when a slot frees
	active   atomic.Int64
}

func newAdmission(max, perSource int, onRefused func(remote, reason string)) *admission {
	return &admission{max: max, perSource: perSource, onRefused: onRefused,
		running: map[*tracked]struct{}{}, sources: map[string]int{}, released: make(chan struct{})}
}

func (a *admission) refused(nc net.Conn, reason string) {
	if a.onRefused != nil {
		a.onRefused(nc.RemoteAddr().String(), reason)
	}
}

// source registers a newly accepted connection under its source address;
// false means the source is at its limit and the connection was refused.
func (a *admission) source(nc net.Conn) (*tracked, bool) {
	src := nc.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(src); err == nil {
		src = h
	}
	a.mu.Lock()
	if a.perSource > 0 && a.sources[src] >= a.perSource {
		a.mu.Unlock()
		a.refused(nc, RefusedPerSource)
		return nil, false
	}
	a.sources[src]++
	a.mu.Unlock()
	return &tracked{Conn: nc, src: src}, true
}

// admit waits for a running slot for t, evicting an idle connection if
// one qualifies; false when ctx ended first.
func (a *admission) admit(ctx context.Context, t *tracked, cancel context.CancelFunc) bool {
	for {
		a.mu.Lock()
		if len(a.running) < a.max {
			t.cancel = cancel
			a.running[t] = struct{}{}
			a.active.Add(1)
			a.mu.Unlock()
			return true
		}
		if v := a.victim(time.Now()); v != nil {
			v.evicted = true
			v.cancel()
			a.mu.Unlock()
			a.refused(v.Conn, RefusedEvicted)
			a.mu.Lock()
		}
		ch := a.released
		a.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return false
		}
	}
}

// victim is the running connection to close for a new one, or nil: the
// one waiting longest for its peer (at least evictIdle), unauthenticated
// connections before authenticated ones. Called with mu held.
func (a *admission) victim(now time.Time) *tracked {
	var best *tracked
	var bestIdle time.Duration
	for t := range a.running {
		if t.evicted {
			continue
		}
		idle := t.idle(now)
		if idle < evictIdle {
			continue
		}
		if best == nil || (best.authed.Load() && !t.authed.Load()) ||
			(best.authed.Load() == t.authed.Load() && idle > bestIdle) {
			best, bestIdle = t, idle
		}
	}
	return best
}

// release ends t's registration (running or waiting).
func (a *admission) release(t *tracked, wasRunning bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if wasRunning {
		delete(a.running, t)
		a.active.Add(-1)
		close(a.released)
		a.released = make(chan struct{})
	}
	if a.sources[t.src]--; a.sources[t.src] <= 0 {
		delete(a.sources, t.src)
	}
}
