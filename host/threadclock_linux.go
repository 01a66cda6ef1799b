package host

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// threadClock is the CPU-time clock of one thread of this process, which
// any thread may read: Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)
// (include/linux/posix-timers.h), the clock pthread_getcpuclockid gives.
type threadClock int32

// currentThreadClock returns the calling thread's CPU clock (without
// reading it: a reading is a system call of its own).
func currentThreadClock() threadClock {
	tid := syscall.Gettid()
	return threadClock((^int32(tid))<<3 | 6) // CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED
}

func (c threadClock) now() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(c), &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// since returns the CPU time the thread used since it read start; false if
// the clock cannot be read.
func (c threadClock) since(start time.Duration) (time.Duration, bool) {
	now, ok := c.now()
	return now - start, ok
}
