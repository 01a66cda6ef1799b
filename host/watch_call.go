package host

import (
	"sync"
	"time"
)

// A module call is also bounded in wall-clock time, however little CPU it
// used, so that a call waiting on the host (a full stderr pipe, say) stays
// bounded: wallFactor times its call_timeout, at least minWallLimit — far
// beyond what a healthy call takes on a machine with 8 busy processes per
// CPU, whose waits for a CPU are what the CPU-time deadline leaves out.
const (
	wallFactor   = 10
	minWallLimit = time.Minute
)

// wallLimit is the wall-clock bound of a call with CPU budget budget.
func wallLimit(budget time.Duration) time.Duration {
	return max(wallFactor*budget, minWallLimit)
}

// callWatch enforces a module call's deadline. The deadline is CPU time:
// the call_timeout bounds the time the thread running the call spends on a
// CPU (the guest's code, and host functions while they compute), not the
// time it waits for one. A runaway module burns its budget at the same
// pace on a busy machine as on an idle one; a healthy module on a machine
// with 16 clients on 2 cores waits for a CPU most of the time, and that
// wait no longer counts against it. The call runs on one goroutine locked
// to its thread (callLocked), whose CPU clock another goroutine can read
// (threadClock). A host function's wait for the TPM or a file is bounded
// by its own deadline (callBounded); the call as a whole by wallLimit.
//
// Reading a thread's CPU clock is a system call that costs more than a
// whole short call (a PA message through a Go guest, issue 22), so a call
// does not read it when it begins: the timer first fires sampleAfter into
// the call (or at its budget, if that is sooner), reads the thread's CPU
// clock then, and counts the wall-clock time before that reading as CPU
// time (an over-count of at most that time: a call never gets more than
// its budget). A call that ends before then never reads the clock. Each
// later firing compares the thread's CPU time with the budget and arms the
// timer again for what is left, which is at least the wall-clock time the
// call may still take before its CPU time reaches the budget.
//
// The timer is not stopped when a call ends: a call that begins while it
// is still armed to fire soon enough keeps it (a firing between calls does
// nothing), so that back-to-back calls do not arm and stop a timer each.
type callWatch struct {
	mu       sync.Mutex
	timer    *time.Timer
	stop     func() // interrupts the call
	active   bool
	fired    string // why the call was stopped: "cpu" or "wall"; "" while not
	clock    threadClock
	sampled  bool          // cpu0 has been read (at sampleAt into the call)
	cpu0     time.Duration // the thread's CPU clock at sampleAt
	sampleAt time.Duration // wall-clock time into the call when cpu0 was read
	start    time.Time
	budget   time.Duration
	due      time.Time // when the armed timer fires; zero while it is not armed
}

// sampleAfter is how far into a call the watch first reads the thread's
// CPU clock (see callWatch).
const sampleAfter = time.Millisecond

func newCallWatch(stop func()) *callWatch {
	w := &callWatch{stop: stop}
	w.timer = time.AfterFunc(time.Hour, w.check)
	w.timer.Stop()
	return w
}

// begin starts watching a call on the current thread, which the caller
// has locked (runtime.LockOSThread) for the call's length. exact reads
// the thread's CPU clock now, so that used is exact (for a trace line);
// otherwise the first firing of the timer reads it.
func (w *callWatch) begin(budget time.Duration, exact bool) {
	clk := currentThreadClock()
	var cpu0 time.Duration
	if exact {
		cpu0, exact = clk.now()
	}
	first := min(sampleAfter, budget)
	if exact {
		first = budget
	}
	now := time.Now()
	w.mu.Lock()
	w.active, w.fired = true, ""
	w.clock, w.sampled, w.cpu0, w.sampleAt = clk, exact, cpu0, 0
	w.start, w.budget = now, budget
	if w.due.IsZero() || w.due.After(now.Add(first)) {
		w.arm(first)
	}
	w.mu.Unlock()
}

// used returns the CPU time the call has used so far (false without a
// thread clock or before the clock was read: see begin); call it from the
// call's thread before end.
func (w *callWatch) used() (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.sampled {
		return 0, false
	}
	d, ok := w.clock.since(w.cpu0)
	return w.sampleAt + d, ok
}

// end stops watching; it returns why the call was stopped, "" if it was not.
func (w *callWatch) end() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.active = false
	return w.fired
}

// arm sets the timer to fire in d; w.mu is held.
func (w *callWatch) arm(d time.Duration) {
	w.due = time.Now().Add(d)
	w.timer.Reset(d)
}

// close stops the timer for good (the instance is closed).
func (w *callWatch) close() {
	w.mu.Lock()
	w.active = false
	w.due = time.Time{}
	w.timer.Stop()
	w.mu.Unlock()
}

func (w *callWatch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.due = time.Time{}
	if !w.active || w.fired != "" {
		return
	}
	wall := time.Since(w.start)
	if !w.sampled {
		// The first firing: the CPU time so far is at most the wall-clock
		// time so far, and counts as that.
		if cpu0, ok := w.clock.now(); ok {
			w.sampled, w.cpu0, w.sampleAt = true, cpu0, wall
		}
	}
	used, ok := w.clock.since(w.cpu0)
	used += w.sampleAt
	if !ok || !w.sampled {
		used = wall // no thread clock here: wall-clock time
	}
	switch {
	case used >= w.budget:
		w.fired = "cpu"
	case wall >= wallLimit(w.budget):
		w.fired = "wall"
	default:
		w.arm(max(min(w.budget-used, wallLimit(w.budget)-wall), time.Millisecond))
		return
	}
	w.stop()
}
