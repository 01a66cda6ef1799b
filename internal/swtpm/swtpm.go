// Package swtpm starts a throw-away swtpm (TPM 2.0 emulator) for tests: on
// loopback sockets the test process binds itself (no port races), with a
// fresh state directory, TPM2_Startup(CLEAR) sent at a chosen locality, and
// the process stopped by PID when the test ends.
//
//	inst := swtpm.Start(t, swtpm.WithLocality(3))
//	tpm, err := tpmhost.Open(inst.Spec, log) // "tcp:127.0.0.1:PORT"
//
// If the swtpm binary is missing the test is skipped with a message saying
// how to install it (`make test-deps`).
package swtpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Instance is a running swtpm.
type Instance struct {
	// Spec is the tpmhost.Open spec of the data channel, "tcp:127.0.0.1:PORT".
	Spec string
	// Addr and CtrlAddr are the data and control channel addresses.
	Addr, CtrlAddr string
	// PID is the swtpm process id.
	PID int
	// StateDir holds the TPM state and swtpm's log (swtpm.log).
	StateDir string
	// Locality is the locality TPM2_Startup was sent at.
	Locality uint8

	cmd      *exec.Cmd
	waitOnce sync.Once
	waitErr  error
	done     chan struct{}
}

type config struct {
	locality uint8
	noStart  bool
}

// Option configures Start.
type Option func(*config)

// WithLocality sends TPM2_Startup at locality loc (set over the control
// channel), so that PCR 0 starts at 00…0loc for loc 3. The spec's test bed
// ran swtpm this way with loc 3. Later commands run at locality 0.
func WithLocality(loc uint8) Option { return func(c *config) { c.locality = loc } }

// WithoutStartup leaves the TPM un-started (TPM2_Startup not sent), for tests
// of that error path.
func WithoutStartup() Option { return func(c *config) { c.noStart = true } }

// Binary returns the path of swtpm, or "" if it is not installed.
func Binary() string {
	p, err := exec.LookPath("swtpm")
	if err != nil {
		return ""
	}
	return p
}

// Start starts swtpm for the test and stops it in t.Cleanup.
func Start(t testing.TB, opts ...Option) *Instance {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	bin := Binary()
	if bin == "" {
		t.Skip("swtpm is not installed (apt-get install swtpm swtpm-tools, or `make test-deps`)")
	}
	dir := t.TempDir()
	var (
		inst   *Instance
		stderr *bytes.Buffer
		err    error
	)
	// The data port is picked by binding and releasing it (swtpm's --server
	// fd= wants a connected socket, not a listener). If another process
	// takes it in between, swtpm exits ("Address already in use") — possibly
	// only after our readiness dial reached that other listener, so the
	// startup is part of the attempt: a failure with swtpm gone means
	// "try another port".
	for attempt := 0; ; attempt++ {
		inst, stderr, err = launch(bin, dir, c.locality)
		if err == nil && !c.noStart {
			if err = inst.startup(c.locality); err != nil {
				select {
				case <-inst.done: // lost the port race
				case <-time.After(time.Second):
					inst.stop()
					t.Fatalf("swtpm: %v\n%s", err, stderr.String())
				}
			}
		}
		if err == nil {
			break
		}
		if attempt == 4 {
			t.Fatalf("swtpm: %v", err)
		}
	}
	t.Cleanup(func() {
		inst.stop()
		if t.Failed() {
			logb, _ := os.ReadFile(filepath.Join(dir, "swtpm.log"))
			t.Logf("swtpm (pid %d) output:\n%s%s", inst.PID, stderr.String(), logb)
		}
	})
	return inst
}

// launch starts swtpm once and waits until both channels accept connections.
func launch(bin, dir string, loc uint8) (*Instance, *bytes.Buffer, error) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	ctrl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	defer ctrl.Close()
	ctrlF, err := ctrl.(*net.TCPListener).File()
	if err != nil {
		return nil, nil, err
	}
	defer ctrlF.Close()
	inst := &Instance{
		Addr: fmt.Sprintf("127.0.0.1:%d", port), CtrlAddr: ctrl.Addr().String(),
		StateDir: dir, Locality: loc, done: make(chan struct{}),
	}
	inst.Spec = "tcp:" + inst.Addr
	// The child gets the listening control socket as fd 3.
	cmd := exec.Command(bin, "socket", "--tpm2",
		"--tpmstate", "dir="+dir,
		"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port),
		"--ctrl", "type=tcp,fd=3",
		"--flags", "not-need-init",
		"--log", "file="+filepath.Join(dir, "swtpm.log")+",level=1",
	)
	cmd.ExtraFiles = []*os.File{ctrlF}
	stderr := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start: %w", err)
	}
	inst.cmd, inst.PID = cmd, cmd.Process.Pid
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", inst.Addr, time.Second)
		if err == nil {
			c.Close()
			return inst, stderr, nil
		}
		select {
		case <-inst.done:
			return nil, nil, fmt.Errorf("swtpm exited (%v): %s", inst.waitErr, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			inst.stop()
			return nil, nil, fmt.Errorf("swtpm did not listen on %s: %s", inst.Addr, stderr.String())
		}
	}
}

// stop ends the process by PID: SIGTERM, then SIGKILL after 5 s.
func (i *Instance) stop() {
	select {
	case <-i.done:
		return
	default:
	}
	_ = syscall.Kill(i.PID, syscall.SIGTERM)
	select {
	case <-i.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(i.PID, syscall.SIGKILL)
		<-i.done
	}
}

// Control channel commands (swtpm's tpm_ioctl.h); each is a big-endian u32
// code and a payload, answered by a big-endian u32 TPM result and a payload.
const (
	cmdSetLocality = 5
)

// Ctrl sends one control-channel command and returns the result code and
// the response payload (respLen bytes after the result).
func (i *Instance) Ctrl(code uint32, payload []byte, respLen int) (uint32, []byte, error) {
	conn, err := net.DialTimeout("tcp", i.CtrlAddr, 5*time.Second)
	if err != nil {
		return 0, nil, fmt.Errorf("control channel: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	msg := binary.BigEndian.AppendUint32(nil, code)
	msg = append(msg, payload...)
	if _, err := conn.Write(msg); err != nil {
		return 0, nil, fmt.Errorf("control channel: %w", err)
	}
	rsp := make([]byte, 4+respLen)
	if _, err := io.ReadFull(conn, rsp); err != nil {
		return 0, nil, fmt.Errorf("control channel: reading result of command %d: %w", code, err)
	}
	return binary.BigEndian.Uint32(rsp), rsp[4:], nil
}

// SetLocality sets the locality of the following TPM commands.
func (i *Instance) SetLocality(loc uint8) error {
	rc, _, err := i.Ctrl(cmdSetLocality, []byte{loc}, 0)
	if err != nil {
		return err
	}
	if rc != 0 {
		return fmt.Errorf("CMD_SET_LOCALITY(%d): TPM result 0x%x", loc, rc)
	}
	return nil
}

// startup sends TPM2_Startup(TPM_SU_CLEAR) at locality loc, then returns to
// locality 0.
func (i *Instance) startup(loc uint8) error {
	var err error
	for try := 0; try < 50; try++ { // the sockets are bound already; this only waits for swtpm to run
		if err = i.SetLocality(loc); err == nil {
			break
		}
		select {
		case <-i.done:
			return fmt.Errorf("swtpm exited: %v", i.waitErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		return err
	}
	// TPM2_Startup: tag TPM_ST_NO_SESSIONS, size 12, TPM_CC_Startup, TPM_SU_CLEAR.
	rsp, err := i.Raw([]byte{0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0})
	if err != nil {
		return fmt.Errorf("TPM2_Startup: %w", err)
	}
	if rc := binary.BigEndian.Uint32(rsp[6:10]); rc != 0 {
		return fmt.Errorf("TPM2_Startup at locality %d: TPM_RC 0x%x", loc, rc)
	}
	return i.SetLocality(0)
}

// Raw sends one TPM command on a fresh data-channel connection and returns
// the complete response. Do not call it while a tpmhost.TPM is connected:
// swtpm serves one data connection at a time.
func (i *Instance) Raw(cmd []byte) ([]byte, error) {
	conn, err := net.DialTimeout("tcp", i.Addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := conn.Write(cmd); err != nil {
		return nil, err
	}
	hdr := make([]byte, 10)
	if _, err := io.ReadFull(conn, hdr); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[2:6])
	if n < 10 || n > 1<<16 {
		return nil, errors.New("bad response size")
	}
	rsp := make([]byte, n)
	copy(rsp, hdr)
	if _, err := io.ReadFull(conn, rsp[10:]); err != nil {
		return nil, err
	}
	return rsp, nil
}

// Stop stops swtpm now (it is also stopped when the test ends).
func (i *Instance) Stop() { i.stop() }
