package tpmhost

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
)

// serveMSSim puts the in-process simulator behind the reference simulator's
// socket protocol on two adjacent loopback ports (the tpm_server binary is
// not available here; the TPM behind the framing is real). It returns the
// command port address. While freeze is set, commands get no answer (a
// hung simulator).
func serveMSSim(t *testing.T, tpm transport.TPM, freeze *atomic.Bool) string {
	t.Helper()
	var cmdL, platL net.Listener
	for try := 0; try < 20 && platL == nil; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		p, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+1))
		if err != nil {
			l.Close()
			continue
		}
		cmdL, platL = l, p
	}
	if platL == nil {
		t.Skip("no two adjacent free loopback ports")
	}
	t.Cleanup(func() { cmdL.Close(); platL.Close() })
	u32 := func(r io.Reader) (uint32, error) {
		var b [4]byte
		_, err := io.ReadFull(r, b[:])
		return binary.BigEndian.Uint32(b[:]), err
	}
	go func() { // platform port: acknowledge every signal
		for {
			c, err := platL.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					v, err := u32(c)
					if err != nil || v == msSessionEnd {
						return
					}
					c.Write([]byte{0, 0, 0, 0})
				}
			}()
		}
	}()
	go func() { // command port
		for {
			c, err := cmdL.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					v, err := u32(c)
					if err != nil || v != msSendCommand {
						return
					}
					var loc [1]byte
					if _, err := io.ReadFull(c, loc[:]); err != nil {
						return
					}
					n, err := u32(c)
					if err != nil || n > 4096 {
						return
					}
					cmd := make([]byte, n)
					if _, err := io.ReadFull(c, cmd); err != nil {
						return
					}
					if freeze != nil && freeze.Load() {
						io.Copy(io.Discard, c) // until the client hangs up
						return
					}
					rsp, err := tpm.Send(cmd)
					if err != nil {
						return
					}
					// Length, response and acknowledgement in separate writes,
					// so a client that reads once would come up short.
					c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(rsp))))
					c.Write(rsp[:len(rsp)/2])
					c.Write(rsp[len(rsp)/2:])
					c.Write([]byte{0, 0, 0, 0})
				}
			}()
		}
	}()
	return cmdL.Addr().String()
}

func TestMSSimTransport(t *testing.T) {
	sim := simTPM(t)
	addr := serveMSSim(t, sim.tr, nil)
	tpm, err := Open("mssim:"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	v, err := tpm.VersionInfo()
	if err != nil || v.Manufacturer == "" {
		t.Fatalf("%+v %v", v, err)
	}
	ak, err := tpm.ProvisionAK(0x81010003, AKRSA2048, true)
	if err != nil {
		t.Fatal(err)
	}
	q, err := tpm.Quote(ak, AlgSHA256, []int{0, 1}, []byte("nonce"))
	if err != nil || len(q.Signature) != 256 {
		t.Fatalf("quote over mssim: %v", err)
	}
	if _, err := Open("mssim:127.0.0.1:1", nil); !errors.Is(err, ErrNoDevice) {
		t.Errorf("closed port: %v", err)
	}
}

// TestMSSimFrozen: a simulator that stops answering ends a command at its
// context's deadline with ErrTransport, never a hang. (One of the reasons
// the transport is ours: go-tpm v0.9.8's transport/tcp has no deadline, and
// it reads a response with a single Read, so a response that arrives in two
// segments, as serveMSSim sends them, fails with "could not read full TPM
// response". tcp.TPM's connections are unexported, so neither can be
// fixed from outside.)
func TestMSSimFrozen(t *testing.T) {
	sim := simTPM(t)
	var freeze atomic.Bool
	tpm, err := Open("mssim:"+serveMSSim(t, sim.tr, &freeze), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	if _, err := tpm.VersionInfo(); err != nil {
		t.Fatal(err)
	}
	freeze.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = tpm.WithContext(ctx).VersionInfo()
	if !errors.Is(err, ErrTransport) || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("frozen simulator: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("returned after %s", d)
	}
}
