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
// The timer first fires after call_timeout of wall-clock time, which is
// at least the CPU time used; each time it fires it compares the thread's
// CPU time with the budget and is armed again for what is left.
type callWatch struct {
	mu     sync.Mutex
	timer  *time.Timer
	stop   func() // interrupts the call
	active bool
	fired  string // why the call was stopped: "cpu" or "wall"; "" while not
	clock  threadClock
	cpu0   time.Duration
	start  time.Time
	budget time.Duration
}

func newCallWatch(stop func()) *callWatch {
	w := &callWatch{stop: stop}
	w.timer = time.AfterFunc(time.Hour, w.check)
	w.timer.Stop()
	return w
}

// begin starts watching a call on the current thread, which the caller
// has locked (runtime.LockOSThread) for the call's length.
func (w *callWatch) begin(budget time.Duration) {
	clk, cpu0 := currentThreadClock()
	w.mu.Lock()
	w.active, w.fired = true, ""
	w.clock, w.cpu0, w.start, w.budget = clk, cpu0, time.Now(), budget
	w.timer.Reset(budget)
	w.mu.Unlock()
}

// used returns the CPU time the call has used so far (false without a
// thread clock); call it from the call's thread before end.
func (w *callWatch) used() (time.Duration, bool) {
	w.mu.Lock()
	clk, cpu0 := w.clock, w.cpu0
	w.mu.Unlock()
	return clk.since(cpu0)
}

// end stops watching; it returns why the call was stopped, "" if it was not.
func (w *callWatch) end() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.active = false
	w.timer.Stop()
	return w.fired
}

func (w *callWatch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.active || w.fired != "" {
		return
	}
	wall := time.Since(w.start)
	used, ok := w.clock.since(w.cpu0)
	if !ok {
		used = wall // no thread clock here: wall-clock time
	}
	switch {
	case used >= w.budget:
		w.fired = "cpu"
	case wall >= wallLimit(w.budget):
		w.fired = "wall"
	default:
		w.timer.Reset(max(min(w.budget-used, wallLimit(w.budget)-wall), time.Millisecond))
		return
	}
	w.stop()
}
