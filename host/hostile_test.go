package host

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/tnccs"
)

// TestHostile loads a well-behaved IMC next to every hostile module: the
// refused ones are refused with a clear reason, the ones that misbehave at
// run time fail for the connection only, and hello completes its exchange.
func TestHostile(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	notWasm := filepath.Join(t.TempDir(), "notwasm.wasm")
	os.WriteFile(notWasm, []byte("#!/bin/sh\necho this is not wasm\n"), 0o644)
	// A 14-byte module promising 268 million imports: wazero would size a
	// slice from the count (gigabytes) before reading one entry.
	bomb := filepath.Join(t.TempDir(), "bomb.wasm")
	os.WriteFile(bomb, []byte("\x00asm\x01\x00\x00\x00\x02\x05\xff\xff\xff\x7f\x00"), 0o644)
	// A 16-byte element section whose typed reference (0x63, heap type 0)
	// hides a vector of 268 million expressions: 6 GiB in wazero's decoder.
	// 2000 functions of 50,000 locals each in 14 KB: 6 GB in wazero's
	// decoder (each function within MaxLocals, all of them far beyond).
	localsBomb := filepath.Join(t.TempDir(), "localsbomb.wasm")
	os.WriteFile(localsBomb, localsBombModule(2000), 0o644)
	refBomb := filepath.Join(t.TempDir(), "refbomb.wasm")
	os.WriteFile(refBomb, []byte("\x00asm\x01\x00\x00\x00\x09\x08\x01\x07\x63\x00\xff\xff\xff\x7f"), 0o644)
	imcs := []IMCConfig{
		{Name: "Hello", Path: modPath("hello"), Grants: helloGrants},                             // 1
		{Name: "loop", Path: modPath("loop"), Grants: helloGrants, CallTimeout: time.Second},     // 2
		{Name: "alloc", Path: modPath("alloc"), Grants: helloGrants, MemoryPages: 320},           // 3
		{Name: "trap", Path: modPath("trap"), Grants: helloGrants},                               // 4
		{Name: "oversize", Path: modPath("oversize"), Grants: helloGrants},                       // 5
		{Name: "ungranted", Path: modPath("ungranted"), Grants: []string{"send", "subscribe"}},   // 6
		{Name: "noabi", Path: modPath("noabi"), Grants: helloGrants},                             // 7
		{Name: "wrongabi", Path: modPath("wrongabi"), Grants: helloGrants},                       // 8
		{Name: "notwasm", Path: notWasm, Grants: helloGrants},                                    // 9
		{Name: "nosubscribe", Path: modPath("nosubscribe"), Grants: helloGrants},                 // 10
		{Name: "missing", Path: filepath.Join(t.TempDir(), "missing.wasm"), Grants: helloGrants}, // 11
		{Name: "bomb", Path: bomb, Grants: helloGrants},                                          // 12
		{Name: "refbomb", Path: refBomb, Grants: helloGrants},                                    // 13
		{Name: "localsbomb", Path: localsBomb, Grants: helloGrants},                              // 14
	}
	h, logs := newTestHost(t, imcs...)
	err := h.LoadIMCs(context.Background())
	for _, want := range []struct {
		is   error
		text string
	}{
		{ErrGrant, `IMC 6 "ungranted": import not granted: the module imports imchost.tpm_quote, which the configuration does not grant`},
		{ErrABI, `IMC 7 "noabi": ABI mismatch: the module does not export imc_abi_v1`},
		{ErrABI, `IMC 8 "wrongabi": ABI mismatch: the module is built for ABI imc_abi_v2, this host speaks imc_abi_v1`},
		{ErrNotWasm, `IMC 9 "notwasm": not a WebAssembly module`},
		{ErrInit, `IMC 10 "nosubscribe": initialization failed: the module subscribed to no message type`},
		{os.ErrNotExist, `IMC 11 "missing"`},
		{ErrNotWasm, `cannot be prepared for running: wasmstop: at byte 10: a vector of 268435455 entries in 1 bytes`},
		{ErrNotWasm, `IMC 13 "refbomb": not a WebAssembly module: '` + refBomb + `' cannot be prepared for running: wasmstop: at byte 12: reference type 0x63 is not a WebAssembly 2.0 type`},
		{ErrNotWasm, `IMC 14 "localsbomb": not a WebAssembly module: '` + localsBomb + `' cannot be prepared for running: wasmstop: at byte 2032: the functions up to 1 declare 100000 locals, more than the 57001 a code section of 14002 bytes may`},
	} {
		if !errors.Is(err, want.is) || !strings.Contains(err.Error(), want.text) {
			t.Errorf("load error lacks %v / %q:\n%v", want.is, want.text, err)
		}
	}
	var loaded []string
	for _, m := range h.List() {
		loaded = append(loaded, m.Name)
	}
	if got := strings.Join(loaded, ","); got != "Hello,loop,alloc,trap,oversize" {
		t.Fatalf("loaded %s", got)
	}

	first, second := exchange(t, h, 1)
	if len(first) != 2 || !isGreeting(first[0], 1) || first[1].Collector != 5 ||
		!strings.Contains(string(first[1].Body), "host function send failed: too large") {
		t.Errorf("first batch: %+v", first)
	}
	if len(second) != 1 || !isGreeting(second[0], 1) {
		t.Errorf("second batch: %+v", second)
	}
	for _, want := range []string{
		`IMC 2 "loop" timed out after 1s of CPU time in imc_receive for Connection ID 1; it is closed for this connection`,
		`IMC 3 "alloc" ran out of memory (limit 320 pages) in imc_receive for Connection ID 1`,
		`IMC 4 "trap" trapped (wasm error: unreachable) in imc_receive for Connection ID 1`,
		`fatal error: out of memory`,
		`panic: hostile: boom`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// Each failure is logged once.
	if n := strings.Count(logs.String(), `"loop" timed out`); n != 1 {
		t.Errorf("loop failure logged %d times", n)
	}
	// The next connection gets fresh instances: hello still works and the
	// hostile ones fail again, contained.
	if first, second := exchange(t, h, 2); len(first) != 2 || len(second) != 1 {
		t.Errorf("second connection: %d/%d messages", len(first), len(second))
	}
	if n := h.Instances(); n != 0 {
		t.Errorf("%d instances alive after the connections closed", n)
	}
	h.Close(context.Background())
	checkGoroutines(t, goroutines)
}

// checkGoroutines waits for the goroutine count to settle back to base.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines leaked:\n%s", n-base, buf[:runtime.Stack(buf, true)])
	}
}

// TestConnectionIsolation: a trap on one connection leaves the same IMC on
// another connection running.
func TestConnectionIsolation(t *testing.T) {
	h, _ := newTestHost(t,
		IMCConfig{Name: "Hello", Path: modPath("hello"), Grants: helloGrants},
		IMCConfig{Name: "trap", Path: modPath("trap"), Grants: helloGrants})
	if err := h.LoadIMCs(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var s1, s2 sink
	c1, _ := h.OpenConn(ctx, 1, s1.send)
	c2, _ := h.OpenConn(ctx, 2, s2.send)
	c1.Receive(ctx, helloMsg(1))
	if got := c1.IMCs(); len(got) != 1 || got[0] != 1 {
		t.Errorf("connection 1 IMCs %v", got)
	}
	if got := c2.IMCs(); len(got) != 2 {
		t.Errorf("connection 2 IMCs %v", got)
	}
	c1.Close(ctx)
	c2.Close(ctx)
	_ = tnccs.ConnID(0)
	if n := h.Instances(); n != 0 {
		t.Errorf("%d instances alive", n)
	}
}

// localsBombModule is n functions of type () -> () declaring 50,000 i32
// locals each, in 7 bytes of code each.
func localsBombModule(n int) []byte {
	leb := func(v uint32) []byte {
		var b []byte
		for {
			c := byte(v & 0x7f)
			if v >>= 7; v == 0 {
				return append(b, c)
			}
			b = append(b, c|0x80)
		}
	}
	sec := func(id byte, b []byte) []byte { return append(append([]byte{id}, leb(uint32(len(b)))...), b...) }
	body := append(append([]byte{1}, leb(50000)...), 0x7f, 0x0b)
	funcs, codes := leb(uint32(n)), leb(uint32(n))
	for range n {
		funcs = append(funcs, 0)
		codes = append(append(codes, leb(uint32(len(body)))...), body...)
	}
	return bytes.Join([][]byte{[]byte("\x00asm\x01\x00\x00\x00"), sec(1, []byte{1, 0x60, 0, 0}), sec(3, funcs), sec(10, codes)}, nil)
}
