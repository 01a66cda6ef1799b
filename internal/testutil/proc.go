package testutil

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"
)

// Proc is a process a test started: its output and its end. Stop it by its
// PID (Stop), never by name.
type Proc struct {
	// Cmd is the started command.
	Cmd *exec.Cmd
	// Stdout and Stderr hold everything the process wrote (besides any
	// writer the caller had set on Cmd, which gets it too).
	Stdout, Stderr SyncBuffer

	done chan struct{}
	err  error
}

// StartProc starts cmd, keeping its output in Stdout and Stderr, and waits
// for its end in the background.
func StartProc(cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = tee(&p.Stdout, cmd.Stdout)
	cmd.Stderr = tee(&p.Stderr, cmd.Stderr)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func tee(b *SyncBuffer, w io.Writer) io.Writer {
	if w == nil {
		return b
	}
	return io.MultiWriter(b, w)
}

// Done is closed when the process has ended.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process ended (exec.Cmd.Wait's error); valid after Done.
func (p *Proc) Err() error { return p.err }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends sig to the process (by its PID), SIGKILL when it has not ended
// after grace, and waits for its end. A process that has ended is left
// alone.
func (p *Proc) Stop(sig os.Signal, grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.Cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// WaitOutput waits until re matches what the process wrote to stdout or
// stderr and returns the match's submatches. It fails when the process ends
// first or ctx is done.
func (p *Proc) WaitOutput(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(p.Stderr.String()); m != nil {
			return m, nil
		}
		if m := re.FindStringSubmatch(p.Stdout.String()); m != nil {
			return m, nil
		}
		select {
		case <-p.done:
			if m := re.FindStringSubmatch(p.Stderr.String() + p.Stdout.String()); m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("%s exited (%v) before writing %q", p.Cmd.Path, p.err, re)
		case <-ctx.Done():
			return nil, fmt.Errorf("%s did not write %q: %w", p.Cmd.Path, re, ctx.Err())
		case <-tick.C:
		}
	}
}
