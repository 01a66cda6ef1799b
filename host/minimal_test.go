package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/host/internal/wasmstop"
	"github.com/imchost/imchost/tnccs"
)

// minimalEcho is a complete ABI v1 module written in wasm bytes: it
// subscribes to the hello type (vendor 32473, subtype 1) and hands every
// received header+message straight back to send. No language runtime runs
// inside it, so a round trip through it measures the host's own dispatch
// (memory copy in, the call, the send host function, the copy out); the Go
// echo module adds the Go guest runtime's export entry and exit.
func minimalEcho() []byte { return minimalEchoData([]byte{0x41, 0}) }

// minimalEchoData is minimalEcho with its data segment's offset expression
// (i32.const ...) given.
func minimalEchoData(offset []byte) []byte { return minimalModule(offset, nil, nil) }

// minimalModule is minimalEcho with the data segment's offset expression
// given (nil: no data segment), when start is not nil a start function of
// that body (locals vector included) after the exports, and when receive
// is not nil that body for imc_receive (function 8).
func minimalModule(offset, start, receive []byte) []byte {
	leb := func(v uint32) []byte {
		var b []byte
		for {
			c := byte(v & 0x7f)
			v >>= 7
			if v != 0 {
				b = append(b, c|0x80)
				continue
			}
			return append(b, c)
		}
	}
	vec := func(items ...[]byte) []byte {
		out := leb(uint32(len(items)))
		for _, it := range items {
			out = append(out, it...)
		}
		return out
	}
	name := func(s string) []byte { return append(leb(uint32(len(s))), s...) }
	section := func(id byte, content []byte) []byte {
		return append(append([]byte{id}, leb(uint32(len(content)))...), content...)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	const i32 = 0x7f
	types := vec(
		[]byte{0x60, 0, 0},                          // 0: () -> ()
		[]byte{0x60, 1, i32, 1, i32},                // 1: (i32) -> i32
		[]byte{0x60, 2, i32, i32, 1, i32},           // 2: (i32, i32) -> i32
		[]byte{0x60, 3, i32, i32, i32, 1, i32},      // 3: (i32, i32, i32) -> i32
		[]byte{0x60, 4, i32, i32, i32, i32, 1, i32}, // 4: the data functions
		[]byte{0x60, 0, 1, i32},                     // 5: () -> i32
	)
	imports := vec(
		cat(name("imchost"), name("subscribe"), []byte{0, 4}), // func 0
		cat(name("imchost"), name("send"), []byte{0, 4}),      // func 1
	)
	// Functions 2..10 and their types.
	exports := []struct {
		name string
		typ  byte
		body []byte // locals vector included
	}{
		{"imc_abi_v1", 0, []byte{0, 0x0b}},
		{"_initialize", 0, []byte{0, 0x0b}},
		{"imc_alloc", 1, []byte{0, 0x41, 0x80, 0x08, 0x0b}}, // i32.const 1024
		// subscribe(0, 12, 0, 0); drop; i32.const 0
		{"imc_initialize", 1, []byte{0, 0x41, 0, 0x41, 12, 0x41, 0, 0x41, 0, 0x10, 0, 0x1a, 0x41, 0, 0x0b}},
		{"imc_connection_change", 2, []byte{0, 0x41, 0, 0x0b}},
		{"imc_begin_handshake", 1, []byte{0, 0x41, 0, 0x0b}},
		// send(ptr, len, 0, 0); drop; i32.const 0
		{"imc_receive", 3, []byte{0, 0x20, 1, 0x20, 2, 0x41, 0, 0x41, 0, 0x10, 1, 0x1a, 0x41, 0, 0x0b}},
		{"imc_batch_ending", 1, []byte{0, 0x41, 0, 0x0b}},
		{"imc_terminate", 5, []byte{0, 0x41, 0, 0x0b}},
	}
	if receive != nil {
		exports[6].body = receive
	}
	var funcs, exps, codes [][]byte
	exps = append(exps, cat(name("memory"), []byte{2, 0}))
	for i, e := range exports {
		funcs = append(funcs, []byte{e.typ})
		exps = append(exps, cat(name(e.name), []byte{0}, leb(uint32(i+2))))
		codes = append(codes, append(leb(uint32(len(e.body))), e.body...))
	}
	var startSec, dataSec []byte
	if start != nil {
		funcs = append(funcs, []byte{0})
		codes = append(codes, append(leb(uint32(len(start))), start...))
		startSec = section(8, leb(uint32(len(exports)+2)))
	}
	if offset != nil {
		// The subscription list at address 0: one MsgType {32473, 1}.
		subs := []byte{1, 0, 0, 0, 0xd9, 0x7e, 0, 0, 1, 0, 0, 0}
		dataSec = section(11, vec(cat([]byte{0}, offset, []byte{0x0b}, leb(uint32(len(subs))), subs)))
	}
	return cat(
		[]byte{0, 'a', 's', 'm', 1, 0, 0, 0},
		section(1, types),
		section(2, imports),
		section(3, vec(funcs...)),
		section(5, vec([]byte{0, 1})), // one memory, min 1 page
		section(7, vec(exps...)),
		startSec,
		section(10, vec(codes...)),
		dataSec,
	)
}

func writeMinimalEcho(tb testing.TB) string {
	p := filepath.Join(tb.TempDir(), "minimal.wasm")
	if err := os.WriteFile(p, minimalEcho(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestMinimalModule: the hand-written module loads under exactly the two
// grants it imports and echoes a message through the real host.
func TestMinimalModule(t *testing.T) {
	path := writeMinimalEcho(t)
	cfg := &Config{IMCs: []IMCConfig{{Name: "Minimal", Path: path, Grants: []string{"send", "subscribe"}}}}
	h := loadedHost(t, cfg, Options{CompilationCache: testCache})
	ctx := context.Background()
	m, got := echoOnce(t, h)
	if len(got) != 1 || !bytes.Equal(got[0].Body, m.Body) || got[0].Validator != 7 || got[0].Collector != 1 ||
		got[0].Vendor != m.Vendor || got[0].Subtype != m.Subtype {
		t.Fatalf("echo: %+v", got)
	}
	// Without the send grant the module is refused.
	cfg2 := &Config{IMCs: []IMCConfig{{Name: "Minimal", Path: path, Grants: []string{"subscribe"}}}}
	h2, err := New(cfg2, Options{CompilationCache: testCache})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close(ctx)
	if err := h2.LoadIMCs(ctx); err == nil {
		t.Fatal("a module importing send without the grant was loaded")
	}
}

// BenchmarkRoundTripMinimal is BenchmarkRoundTrip on the hand-written
// module: the host's share of a round trip.
func BenchmarkRoundTripMinimal(b *testing.B) {
	benchRoundTrip(b, writeMinimalEcho(b), []string{"send", "subscribe"})
}

// TestStartSection: a module's start function runs before _initialize,
// once per instance, under the call deadline. The module has no data
// segment: its start function writes the subscription list that
// imc_initialize hands to subscribe, so it loads and echoes only if the
// start function ran first. One that never returns is refused in time.
func TestStartSection(t *testing.T) {
	store := func(addr byte, v ...byte) []byte { // i32.const addr; i32.const v; i32.store
		return append(append([]byte{0x41, addr, 0x41}, v...), 0x36, 2, 0)
	}
	body := bytes.Join([][]byte{{0}, store(0, 1), store(4, 0xd9, 0xfd, 0x01), store(8, 1), {0x0b}}, nil)
	dir := t.TempDir()
	writes := filepath.Join(dir, "start.wasm")
	loops := filepath.Join(dir, "startloop.wasm")
	if err := os.WriteFile(writes, minimalModule(nil, body, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	// loop br 0 end
	if err := os.WriteFile(loops, minimalModule(nil, []byte{0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b}, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	grants := []string{"send", "subscribe"}
	h, logs := newTestHost(t,
		IMCConfig{Name: "Start", Path: writes, Grants: grants},
		IMCConfig{Name: "StartLoop", Path: loops, Grants: grants, CallTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	err := h.LoadIMCs(ctx)
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), `IMC 2 "StartLoop"`) {
		t.Fatalf("load: %v\n%s", err, logs)
	}
	if !strings.Contains(logs.String(), "timed out after 200ms of CPU time in the start function") {
		t.Errorf("log lacks the start function's timeout:\n%s", logs)
	}
	if l := h.List(); len(l) != 1 || l[0].Name != "Start" {
		t.Fatalf("loaded %+v", l)
	}
	if m, got := echoOnce(t, h); len(got) != 1 || !bytes.Equal(got[0].Body, m.Body) {
		t.Fatalf("echo: %+v", got)
	}
}

// echoOnce opens connection 1, hands its IMCs one hello message from IMV
// 7, closes it, and returns the message and what the IMCs sent.
func echoOnce(t *testing.T, h *Host) (tnccs.PAMessage, []tnccs.PAMessage) {
	t.Helper()
	ctx := context.Background()
	var got []tnccs.PAMessage
	c, err := h.Open(ctx, 1, func(m tnccs.PAMessage) error { got = append(got, m); return nil })
	if err != nil {
		t.Fatal(err)
	}
	m := helloMsg(7)
	c.Receive(ctx, m)
	c.Close(ctx)
	return m, got
}

// TestCallDepthReported: an IMC whose imc_receive recurses without end is
// stopped by the call depth bound, closed for the connection and reported
// as such; the next connection gets a fresh instance.
func TestCallDepthReported(t *testing.T) {
	p := filepath.Join(t.TempDir(), "recurse.wasm")
	// imc_receive(conn, ptr, len) calls itself with the same arguments.
	recv := []byte{0, 0x20, 0, 0x20, 1, 0x20, 2, 0x10, 8, 0x0b}
	if err := os.WriteFile(p, minimalModule([]byte{0x41, 0}, nil, recv), 0o600); err != nil {
		t.Fatal(err)
	}
	h, logs := newTestHost(t, IMCConfig{Name: "Recurse", Path: p, Grants: []string{"send", "subscribe"}})
	if err := h.LoadIMCs(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, got := echoOnce(t, h); len(got) != 0 {
			t.Fatalf("sent %+v", got)
		}
	}
	want := fmt.Sprintf(`IMC 1 "Recurse" nested calls deeper than %d in imc_receive for Connection ID 1`, wasmstop.MaxCallDepth)
	if n := strings.Count(logs.String(), want); n != 2 {
		t.Fatalf("log has %q %d times, want 2:\n%s", want, n, logs)
	}
	if n := h.Instances(); n != 0 {
		t.Errorf("%d instances alive", n)
	}
}
