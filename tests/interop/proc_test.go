package interop

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"
)

// proc is a process a test started: its output (stdout and stderr
// together, or apart when the test asks), its end.
type proc struct {
	*testutil.Proc
	t     *testing.T
	name  string
	clock writeClock // when each piece of output arrived
}

// writeClock records when each write of a process's output arrived, so
// that a test can tell when a line was printed (TestSideBySide: when the
// PDP received a client's first batch).
type writeClock struct {
	mu     sync.Mutex
	pieces []stampedWrite
}

type stampedWrite struct {
	at   time.Time
	text string
}

func (c *writeClock) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.pieces = append(c.pieces, stampedWrite{time.Now(), string(p)})
	c.mu.Unlock()
	return len(p), nil
}

// first returns when output matching re was first written at or after
// since (lines are written whole: the processes flush every line).
func (c *writeClock) first(re *regexp.Regexp, since time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.pieces {
		if !w.at.Before(since) && re.MatchString(w.text) {
			return w.at, true
		}
	}
	return time.Time{}, false
}

// nsWrap runs argv in a mount namespace of its own, with each binds[i][0]
// bind-mounted onto binds[i][1] first. unshare and sh exec: the PID is the
// program's.
func nsWrap(binds [][2]string, argv ...string) []string {
	const script = `while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 111; shift 2; done; shift; exec "$@"`
	out := []string{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"}
	for _, b := range binds {
		out = append(out, b[0], b[1])
	}
	return append(append(out, "--"), argv...)
}

// start starts argv with env added to ours. When the test ends a process
// still running gets SIGTERM, then SIGKILL after 5 s, by its PID; its
// output is logged if the test failed.
func start(t *testing.T, name string, env []string, argv ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &p.clock, &p.clock
	var err error
	if p.Proc, err = testutil.StartProc(cmd); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s (pid %d): %s\nstdout:\n%s\nstderr:\n%s", name, cmd.Process.Pid, strings.Join(argv, " "), p.Stdout.String(), p.Stderr.String())
		}
	})
	return p
}

// stop ends the process by its PID: SIGTERM, SIGKILL after 5 s.
func (p *proc) stop() { p.Stop(syscall.SIGTERM, 5*time.Second) }

// wait waits for the process to end within d (else kills it and fails the
// test) and returns its exit code.
func (p *proc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.Done():
	case <-time.After(d):
		p.stop()
		p.t.Fatalf("%s did not end within %v", p.name, d)
	}
	return p.Cmd.ProcessState.ExitCode()
}

// output is stdout then stderr.
func (p *proc) output() string { return p.Stdout.String() + p.Stderr.String() }

// await waits until re matches the output, within d.
func (p *proc) await(ctx context.Context, re *regexp.Regexp) bool {
	for !re.MatchString(p.output()) {
		select {
		case <-ctx.Done():
			return false
		case <-p.Done():
			return re.MatchString(p.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}
