package tnccs

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// Admission's queue, tested on real loopback TCP connections (the waiting
// ones are watched for their peer closing). No assertion is about time:
// the tests control when slots free and check who gets them.

// loopback is a listener handing out connected pairs.
type loopback struct {
	t  *testing.T
	ln net.Listener
}

func newLoopback(t *testing.T) *loopback {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &loopback{t: t, ln: ln}
}

// pair is a server-side connection and its peer, closed at the test's end.
func (l *loopback) pair() (srv, peer net.Conn) {
	peer, err := net.Dial("tcp", l.ln.Addr().String())
	if err != nil {
		l.t.Fatal(err)
	}
	srv, err = l.ln.Accept()
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { srv.Close(); peer.Close() })
	return srv, peer
}

// queued is the number of connections waiting for a slot.
func (a *admission) queued() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.queue.Len()
}

// waitUntil polls cond (the goroutines under test block inside admission,
// where the test cannot wait on them directly); it fails the test after a
// minute, a bound for a hang, not a measure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

// recv is the next value of ch, failing the test if none comes within a
// minute (a hang, not a measure).
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("never: %s", what)
		panic("unreachable")
	}
}

// checkDrained: nothing running, waiting or registered, and no timer left.
func checkDrained(t *testing.T, a *admission) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.running) != 0 || a.queue.Len() != 0 || len(a.sources) != 0 || a.active.Load() != 0 || a.evicting != 0 {
		t.Errorf("admission not drained: %d running, %d queued, sources %v, active %d, evicting %d",
			len(a.running), a.queue.Len(), a.sources, a.active.Load(), a.evicting)
	}
	if a.recheck != nil {
		t.Error("admission's timer still armed with nobody waiting")
	}
}

// TestAdmissionFirstComeFirstServed: with every slot taken, connections
// that arrive one after another get the slots in arrival order, one per
// release. (Before the queue, a release woke every waiting connection and
// whichever ran first took the slot.)
func TestAdmissionFirstComeFirstServed(t *testing.T) {
	const slots, waiting = 3, 24
	a := newAdmission(slots, -1, nil)
	lb := newLoopback(t)
	ctx := context.Background()
	admit := func() *tracked {
		nc, _ := lb.pair()
		tr, ok := a.source(nc)
		if !ok {
			t.Fatal("refused by source")
		}
		return tr
	}
	var holders []*tracked
	for range slots {
		tr := admit()
		if ok, _ := a.admit(ctx, tr, func() {}); !ok {
			t.Fatal("a free slot was not taken")
		}
		holders = append(holders, tr)
	}
	admitted := make(chan int, waiting)
	leave := make([]chan struct{}, waiting)
	var wg sync.WaitGroup
	for i := range waiting {
		tr := admit()
		leave[i] = make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, reason := a.admit(ctx, tr, func() {}); !ok {
				t.Errorf("waiter %d refused: %s", i, reason)
				admitted <- -1
				return
			}
			admitted <- i
			<-leave[i]
			a.release(tr, true)
		}()
		waitUntil(t, fmt.Sprintf("waiter %d queued", i), func() bool { return a.queued() == i+1 })
	}
	var order []int
	for _, h := range holders {
		a.release(h, true)
		order = append(order, recv(t, admitted, "a waiter admitted after a release"))
	}
	for range waiting - slots {
		close(leave[order[len(order)-slots]])
		order = append(order, recv(t, admitted, "a waiter admitted after a release"))
	}
	for _, i := range order[len(order)-slots:] {
		close(leave[i])
	}
	wg.Wait()
	want := make([]int, waiting)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(order, want) {
		t.Errorf("admission order %v, want arrival order %v", order, want)
	}
	checkDrained(t, a)
}

// TestAdmissionNoBarging: a connection that finishes and comes straight
// back (as a load generator's endpoints do) queues behind the ones already
// waiting: a latecomer is admitted after exactly one turn of the others,
// and every connection waits one turn of the others between two of its
// admissions, counted in releases. (Before the queue, the releasing
// connection took the slot back at once and the others starved.)
func TestAdmissionNoBarging(t *testing.T) {
	const workers, rounds = 8, 10
	a := newAdmission(1, -1, nil)
	lb := newLoopback(t)
	ctx := context.Background()
	admitted := make(chan int)
	next := make([]chan struct{}, workers+1) // the test lets the running connection go
	var wg sync.WaitGroup
	start := func(id, rounds int) {
		nc, _ := lb.pair()
		tr, _ := a.source(nc)
		next[id] = make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if ok, reason := a.admit(ctx, tr, func() {}); !ok {
					t.Errorf("connection %d refused: %s", id, reason)
					admitted <- -1
					return
				}
				admitted <- id
				<-next[id]
				a.release(tr, true) // and straight back into admission
			}
		}()
		waitUntil(t, fmt.Sprintf("connection %d queued", id), func() bool { return a.queued() == id+1 })
	}
	hnc, _ := lb.pair()
	holder, _ := a.source(hnc)
	if ok, _ := a.admit(ctx, holder, func() {}); !ok {
		t.Fatal("a free slot was not taken")
	}
	for id := range workers {
		start(id, rounds)
	}
	const late = workers
	start(late, 1)
	left := map[int]int{late: 1}
	for id := range workers {
		left[id] = rounds
	}
	alive := workers + 1
	a.release(holder, true)
	var log []int // admissions in order
	for alive > 0 {
		id := recv(t, admitted, "a connection admitted after a release")
		if id < 0 {
			break
		}
		log = append(log, id)
		// Everyone else is back in the queue before the slot frees again.
		waitUntil(t, "the others queued", func() bool { return a.queued() == alive-1 })
		if left[id]--; left[id] == 0 {
			alive--
		}
		next[id] <- struct{}{}
	}
	wg.Wait()

	if pos := slices.Index(log, late); pos != workers {
		t.Errorf("the latecomer was admitted %d-th, want %d-th (after one turn of the %d others); order %v", pos, workers, workers, log)
	}
	last := map[int]int{}
	for pos, id := range log {
		if prev, ok := last[id]; ok && pos-prev-1 > workers {
			t.Errorf("connection %d waited %d releases between admissions %d and %d, want at most %d; order %v",
				id, pos-prev-1, prev, pos, workers, log)
			break
		}
		last[id] = pos
	}
	checkDrained(t, a)
}

// TestAdmissionWaiterLeaves: a waiting connection whose context ends or
// whose peer closes leaves the queue at once (RefusedShutdown,
// RefusedGone) and is never handed a slot; what a waiting peer sent
// before its turn reaches the server intact.
func TestAdmissionWaiterLeaves(t *testing.T) {
	a := newAdmission(1, -1, nil)
	lb := newLoopback(t)
	hnc, _ := lb.pair()
	holder, _ := a.source(hnc)
	if ok, _ := a.admit(context.Background(), holder, func() {}); !ok {
		t.Fatal("a free slot was not taken")
	}
	type outcome struct {
		ok     bool
		reason string
	}
	type entry struct {
		tr     *tracked
		peer   net.Conn
		cancel context.CancelFunc
		out    chan outcome
	}
	var es []*entry
	for i := range 4 {
		nc, peer := lb.pair()
		tr, _ := a.source(nc)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		e := &entry{tr: tr, peer: peer, cancel: cancel, out: make(chan outcome, 1)}
		es = append(es, e)
		go func() {
			ok, reason := a.admit(ctx, tr, func() {})
			e.out <- outcome{ok, reason}
		}()
		waitUntil(t, fmt.Sprintf("waiter %d queued", i), func() bool { return a.queued() == i+1 })
	}
	first, timedOut, gone, last := es[0], es[1], es[2], es[3]
	hello := []byte("\x16\x03\x01\x00\x05hello") // what a ClientHello's first record might look like
	if _, err := first.peer.Write(hello); err != nil {
		t.Fatal(err)
	}

	timedOut.cancel()
	if o := recv(t, timedOut.out, "the cancelled waiter's answer"); o.ok || o.reason != RefusedShutdown {
		t.Errorf("cancelled waiter: admitted %v, reason %q; want refused %q", o.ok, o.reason, RefusedShutdown)
	}
	a.release(timedOut.tr, false)
	gone.peer.Close()
	if o := recv(t, gone.out, "the answer to the waiter whose peer closed"); o.ok || o.reason != RefusedGone {
		t.Errorf("waiter whose peer closed: admitted %v, reason %q; want refused %q", o.ok, o.reason, RefusedGone)
	}
	a.release(gone.tr, false)
	if n := a.queued(); n != 2 {
		t.Errorf("%d connections queued after two left, want 2", n)
	}

	a.release(holder, true)
	if o := recv(t, first.out, "the first waiter admitted"); !o.ok {
		t.Fatalf("first waiter refused: %s", o.reason)
	}
	if _, err := first.peer.Write([]byte(" world")); err != nil {
		t.Fatal(err)
	}
	want := string(hello) + " world"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(first.tr, got); err != nil || string(got) != want {
		t.Errorf("the admitted connection read %q (%v), want %q", got, err, want)
	}
	a.release(first.tr, true)
	if o := recv(t, last.out, "the last waiter admitted"); !o.ok {
		t.Fatalf("last waiter refused: %s", o.reason)
	}
	a.release(last.tr, true)
	checkDrained(t, a)
}

// TestAdmissionEvictsIdleForWaiters: each waiting connection has one
// running connection closed for it, the unauthenticated idle one before
// the authenticated idle one; a connection the server is working on
// (not waiting for its peer) is never closed; the freed slots go to the
// waiters in arrival order.
func TestAdmissionEvictsIdleForWaiters(t *testing.T) {
	var mu sync.Mutex
	var refusals []string
	a := newAdmission(3, -1, func(remote, reason string) {
		mu.Lock()
		refusals = append(refusals, reason)
		mu.Unlock()
	})
	a.evictIdle = time.Nanosecond // any connection in a Read on its peer qualifies
	lb := newLoopback(t)
	ctx := context.Background()
	type running struct {
		tr     *tracked
		closed chan string
	}
	start := func(name string, authed, reading bool) *running {
		nc, _ := lb.pair()
		tr, _ := a.source(nc)
		tr.authed.Store(authed)
		r := &running{tr: tr, closed: make(chan string, 1)}
		cctx, cancel := context.WithCancel(ctx)
		if ok, _ := a.admit(ctx, tr, cancel); !ok {
			t.Fatal("a free slot was not taken")
		}
		if reading {
			// The server waits for the silent peer until the
			// connection is closed for a waiter.
			stop := context.AfterFunc(cctx, func() { nc.SetReadDeadline(time.Unix(1, 0)) })
			go func() {
				tr.Read(make([]byte, 1))
				stop()
				r.closed <- name
				a.release(tr, true)
			}()
			waitUntil(t, name+" reading", func() bool { return tr.waiting.Load() != 0 })
		}
		return r
	}
	idleAuthed := start("authenticated idle", true, true)
	idleUnauthed := start("unauthenticated idle", false, true)
	busy := start("busy", true, false)

	// Each waiter holds its slot until the end.
	admitted := make(chan int, 3)
	hold := make(chan struct{})
	var held sync.WaitGroup
	wait := func(i int, ctx context.Context) {
		nc, _ := lb.pair()
		tr, _ := a.source(nc)
		held.Add(1)
		go func() {
			defer held.Done()
			if ok, _ := a.admit(ctx, tr, func() {}); !ok {
				a.release(tr, false)
				admitted <- -1 - i
				return
			}
			admitted <- i
			<-hold
			a.release(tr, true)
		}()
	}
	wait(0, ctx)
	if c := recv(t, idleUnauthed.closed, "a connection closed for waiter 0"); c != "unauthenticated idle" {
		t.Errorf("closed %s first", c)
	}
	if got := recv(t, admitted, "waiter 0's answer"); got != 0 {
		t.Errorf("waiter 0: %d", got)
	}
	wait(1, ctx)
	if c := recv(t, idleAuthed.closed, "a connection closed for waiter 1"); c != "authenticated idle" {
		t.Errorf("closed %s second", c)
	}
	if got := recv(t, admitted, "waiter 1's answer"); got != 1 {
		t.Errorf("waiter 1: %d", got)
	}
	// Nothing idle is left: waiter 2 waits, the busy connection is left
	// alone, and a look for idle connections is scheduled.
	wctx, cancel := context.WithCancel(ctx)
	wait(2, wctx)
	waitUntil(t, "waiter 2 queued", func() bool { return a.queued() == 1 })
	a.mu.Lock()
	armed := a.recheck != nil
	a.mu.Unlock()
	if !armed {
		t.Error("no look for idle connections scheduled while a connection waits")
	}
	cancel()
	if got := recv(t, admitted, "waiter 2's answer"); got != -3 {
		t.Errorf("waiter 2: %d, want refused", got)
	}
	close(hold)
	held.Wait()
	a.release(busy.tr, true)
	mu.Lock()
	if !slices.Equal(refusals, []string{RefusedEvicted, RefusedEvicted}) {
		t.Errorf("refusals %v, want two evictions", refusals)
	}
	mu.Unlock()
	checkDrained(t, a)
}
