package tnccs

import (
	"container/list"
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
	// maxPending bounds what a waiting connection's peer may send before
	// its turn (a TLS ClientHello fits): kept for the connection, unread
	// by the server beyond that.
	maxPending = 4096
)

// Refusal reasons passed to ServerConfig.OnRefused.
const (
	RefusedPerSource = "per_source" // the source address has MaxConnsPerSource connections
	RefusedEvicted   = "evicted"    // an idle connection closed to admit a new one
	RefusedShutdown  = "shutdown"   // the server stopped before admitting it
	RefusedGone      = "gone"       // the peer closed the connection while it waited for a slot
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
	// pending is what the peer sent while the connection waited for a
	// slot (watch), returned by Read before anything else.
	pending []byte
}

// Read returns the bytes kept while the connection waited, then reads
// the connection, recording the time the server waits for the peer.
func (t *tracked) Read(p []byte) (int, error) {
	if len(t.pending) > 0 {
		n := copy(p, t.pending)
		if t.pending = t.pending[n:]; len(t.pending) == 0 {
			t.pending = nil
		}
		return n, nil
	}
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

// watch reads what the peer sends while t waits for a slot, keeping it
// in t.pending, and sends on done: the read error when the peer closes or
// fails (or when stop ends the read), nil once maxPending bytes are kept.
// Only the goroutine of the waiting connection starts and stops it.
func (t *tracked) watch(done chan<- error) {
	t.pending = make([]byte, 0, maxPending)
	for len(t.pending) < maxPending {
		n, err := t.Conn.Read(t.pending[len(t.pending):maxPending])
		t.pending = t.pending[:len(t.pending)+n]
		if err != nil {
			done <- err
			return
		}
	}
	done <- nil
}

// waiter is a connection in the admission queue.
type waiter struct {
	t      *tracked
	cancel context.CancelFunc
	ready  chan struct{} // closed when the waiter is handed a running slot
	elem   *list.Element // its place in admission.queue; nil once out of it
}

// admission decides which connections run: at most max at once and
// perSource from one IP address. A new connection beyond max waits in a
// first-come, first-served queue: a slot that frees is handed to the
// connection at the head, never taken by a newer one. While connections
// wait, running connections that have waited at least evictIdle for their
// peer (unauthenticated ones first, then the longest waiting) are closed
// to make room, one per waiting connection, so that silent sockets,
// stalled handshakes and idle sessions cannot keep out clients that are
// making progress. A waiting connection leaves the queue when its context
// ends or its peer closes.
type admission struct {
	max, perSource int
	evictIdle      time.Duration
	onRefused      func(remote, reason string)

	mu       sync.Mutex
	running  map[*tracked]struct{}
	sources  map[string]int // running and waiting, per IP
	queue    list.List      // of *waiter, in arrival order
	evicting int            // running connections closed for waiters, not yet released
	recheck  *time.Timer    // next look for an idle connection to close; nil when no waiter needs one
	active   atomic.Int64
}

func newAdmission(max, perSource int, onRefused func(remote, reason string)) *admission {
	return &admission{max: max, perSource: perSource, evictIdle: evictIdle, onRefused: onRefused,
		running: map[*tracked]struct{}{}, sources: map[string]int{}}
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

// admit runs t at once if a slot is free and nobody waits; otherwise t
// joins the end of the queue until release hands it a slot. cancel ends
// t's connection if it is later closed for a waiting one. It returns
// false with the refusal reason when ctx ended (RefusedShutdown) or the
// peer closed the connection (RefusedGone) first; t is then out of the
// queue and still registered under its source (release(t, false)).
func (a *admission) admit(ctx context.Context, t *tracked, cancel context.CancelFunc) (bool, string) {
	a.mu.Lock()
	if len(a.running) < a.max && a.queue.Len() == 0 {
		a.run(t, cancel)
		a.mu.Unlock()
		return true, ""
	}
	w := &waiter{t: t, cancel: cancel, ready: make(chan struct{})}
	w.elem = a.queue.PushBack(w)
	victims := a.evict(time.Now())
	a.mu.Unlock()
	a.closed(victims)

	done := make(chan error, 1)
	go t.watch(done)
	watching, reason := true, RefusedShutdown
wait:
	for {
		select {
		case <-w.ready:
			break wait
		case err := <-done:
			watching = false
			if err != nil {
				reason = RefusedGone
				break wait
			}
			done = nil // maxPending kept: the peer is there; wait without watching
		case <-ctx.Done():
			break wait
		}
	}
	if watching {
		// End the watch (a deadline in the past stops its Read), then
		// give the connection back to the server without a deadline.
		t.Conn.SetReadDeadline(time.Unix(1, 0))
		<-done
		t.Conn.SetReadDeadline(time.Time{})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if w.elem == nil {
		return true, "" // handed a slot, even if ctx or the peer ended meanwhile: the server's run ends it
	}
	a.queue.Remove(w.elem)
	w.elem = nil
	a.schedule(time.Now())
	return false, reason
}

// run counts t as running. Called with mu held.
func (a *admission) run(t *tracked, cancel context.CancelFunc) {
	t.cancel = cancel
	a.running[t] = struct{}{}
	a.active.Add(1)
}

// evict closes running idle connections for the waiting ones not yet
// covered by an earlier closing, and schedules the next look; it returns
// the connections closed, to be reported (closed) once mu is released.
// Called with mu held.
func (a *admission) evict(now time.Time) []*tracked {
	var victims []*tracked
	for a.queue.Len() > a.evicting {
		v := a.victim(now)
		if v == nil {
			break
		}
		v.evicted = true
		a.evicting++
		v.cancel()
		victims = append(victims, v)
	}
	a.schedule(now)
	return victims
}

// closed reports connections closed for waiting ones. Called without mu.
func (a *admission) closed(victims []*tracked) {
	for _, v := range victims {
		a.refused(v.Conn, RefusedEvicted)
	}
}

// schedule arms the timer for the next look for an idle connection while
// waiting connections outnumber those being closed for them, at the
// earliest time a running connection can have waited evictIdle for its
// peer; it stops the timer when no waiter needs one. Called with mu held.
func (a *admission) schedule(now time.Time) {
	if a.queue.Len() <= a.evicting {
		if a.recheck != nil {
			a.recheck.Stop()
			a.recheck = nil
		}
		return
	}
	next := a.evictIdle // a connection not waiting for its peer now
	for t := range a.running {
		if t.evicted {
			continue
		}
		if w := t.waiting.Load(); w != 0 {
			next = min(next, time.Unix(0, w).Add(a.evictIdle).Sub(now))
		}
	}
	next = max(next, time.Millisecond)
	if a.recheck == nil {
		a.recheck = time.AfterFunc(next, a.look)
	} else {
		a.recheck.Reset(next)
	}
}

// look is the timer's: closes idle connections for waiting ones.
func (a *admission) look() {
	a.mu.Lock()
	victims := a.evict(time.Now())
	a.mu.Unlock()
	a.closed(victims)
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
		if idle < a.evictIdle {
			continue
		}
		if best == nil || (best.authed.Load() && !t.authed.Load()) ||
			(best.authed.Load() == t.authed.Load() && idle > bestIdle) {
			best, bestIdle = t, idle
		}
	}
	return best
}

// release ends t's registration (running or waiting). A running slot
// that frees goes to the connection at the head of the queue.
func (a *admission) release(t *tracked, wasRunning bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if wasRunning {
		delete(a.running, t)
		a.active.Add(-1)
		if t.evicted {
			a.evicting--
		}
		for len(a.running) < a.max && a.queue.Len() > 0 {
			w := a.queue.Remove(a.queue.Front()).(*waiter)
			w.elem = nil
			a.run(w.t, w.cancel)
			close(w.ready)
		}
		a.schedule(time.Now())
	}
	if a.sources[t.src]--; a.sources[t.src] <= 0 {
		delete(a.sources, t.src)
	}
}
