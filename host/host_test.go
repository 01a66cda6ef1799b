package host

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/tnccs"
)

var helloGrants = []string{"send", "subscribe", "log", "log_level", "config_get"}

// logBuf is a concurrency-safe log sink for assertions on log lines.
type logBuf = testutil.SyncBuffer

func testLogger(t testing.TB) (hclog.Logger, *logBuf) {
	var buf logBuf
	return hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Debug, DisableTime: true}), &buf
}

// newTestHost builds a Host for imcs on the shared compilation cache.
func newTestHost(t testing.TB, imcs ...IMCConfig) (*Host, *logBuf) {
	t.Helper()
	log, buf := testLogger(t)
	cfg := &Config{IMCs: imcs}
	cfg.Wasm.CallTimeout = 5 * time.Second
	h, err := New(cfg, Options{Logger: log, CompilationCache: testCache, Platform: capability.Platform{System: capability.NewSystem(testutil.Data("root"))}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close(context.Background())
		if t.Failed() {
			t.Logf("host log:\n%s", buf.String())
		}
	})
	return h, buf
}

// loadedHost makes a host of cfg with o, closed when the test ends, and
// loads its IMCs; an error from either fails the test.
func loadedHost(tb testing.TB, cfg *Config, o Options) *Host {
	tb.Helper()
	h, err := New(cfg, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(context.Background()) })
	if err := h.LoadIMCs(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return h
}

// sink collects what the IMCs send on a connection.
type sink struct {
	mu   sync.Mutex
	msgs []tnccs.PAMessage
}

func (s *sink) send(m tnccs.PAMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return nil
}

func (s *sink) take() []tnccs.PAMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.msgs
	s.msgs = nil
	return out
}

var helloType = abi.MsgType{Vendor: 32473, Subtype: 1}

func helloMsg(validator uint16) tnccs.PAMessage {
	return tnccs.PAMessage{Vendor: helloType.Vendor, Subtype: helloType.Subtype, Collector: 0xffff,
		Validator: validator, Body: []byte{1, 0, 0, 0, 0, 0, 0, 7}}
}

// exchange runs one connection: create, handshake, begin, one server batch
// with a hello message, batch ending, close; it returns the two client batches.
func exchange(t *testing.T, h *Host, id tnccs.ConnID) (first, second []tnccs.PAMessage) {
	t.Helper()
	ctx := context.Background()
	var s sink
	c, err := h.Open(ctx, id, s.send)
	if err != nil {
		t.Fatal(err)
	}
	c.ChangeState(ctx, abi.ConnCreate)
	c.ChangeState(ctx, abi.ConnHandshake)
	c.BeginHandshake(ctx)
	first = s.take()
	c.Receive(ctx, helloMsg(7))
	c.BatchEnding(ctx)
	second = s.take()
	c.ChangeState(ctx, abi.ConnAllowed)
	c.Close(ctx)
	return first, second
}

func isGreeting(m tnccs.PAMessage, collector uint16) bool {
	return m.Vendor == helloType.Vendor && m.Subtype == helloType.Subtype && m.Collector == collector &&
		bytes.Contains(m.Body, []byte("hello from a wasm IMC"))
}

func TestHelloExchange(t *testing.T) {
	h, logs := newTestHost(t, IMCConfig{Name: "Hello", Path: modPath("hello"), Grants: helloGrants})
	if err := h.LoadIMCs(context.Background()); err != nil {
		t.Fatal(err)
	}
	first, second := exchange(t, h, 1)
	if len(first) != 1 || !isGreeting(first[0], 1) || first[0].Exclusive || first[0].Validator != 0xffff {
		t.Fatalf("first batch: %+v", first)
	}
	if len(second) != 1 || !isGreeting(second[0], 1) || !second[0].Exclusive || second[0].Validator != 7 {
		t.Fatalf("second batch: %+v", second)
	}
	for _, want := range []string{
		`IMC 1 supports 1 message type: '32473/1' 0x007ed9/0x00000001`,
		`IMC 1 "Hello" loaded from '` + modPath("hello") + `'`,
		`IMC 1 "Hello" created a state for IF-TNCCS 2.0 Connection ID 1`,
		`IMC 1 "Hello" changed state of Connection ID 1 to 'Handshake'`,
		`IMC 1 "Hello" received message for Connection ID 1 from IMV 7`,
		`IMC 1 "Hello" initialized`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if n := h.Instances(); n != 0 {
		t.Errorf("%d instances alive after Close", n)
	}
}

// TestReuseProbe: with Options.ReuseProbe the instance a load starts to
// check each module serves the first connection (no second instance
// starts), and it serves it fully: the greeting is sent on that connection
// and the exchange is the same as on a fresh instance. The next connection
// starts a fresh instance; nothing is left alive at the end. Without the
// option no instance outlives the load.
func TestReuseProbe(t *testing.T) {
	ctx := context.Background()
	imcs := []IMCConfig{
		{Name: "One", Path: modPath("hello"), Grants: helloGrants},
		{Name: "Two", Path: modPath("hello"), Grants: helloGrants},
	}
	for _, reuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reuse=%v", reuse), func(t *testing.T) {
			log, logs := testLogger(t)
			cfg := &Config{IMCs: imcs}
			cfg.Wasm.CallTimeout = 5 * time.Second
			h := loadedHost(t, cfg, Options{Logger: log, CompilationCache: testCache, ReuseProbe: reuse,
				Platform: capability.Platform{System: capability.NewSystem(testutil.Data("root"))}})
			want := 0
			if reuse {
				want = 2 // the two probes, kept
			}
			if n := h.Instances(); n != want {
				t.Fatalf("after the load: %d instances alive, want %d", n, want)
			}
			for id := tnccs.ConnID(1); id <= 2; id++ {
				var s sink
				c, err := h.Open(ctx, id, s.send)
				if err != nil {
					t.Fatal(err)
				}
				if n := h.Instances(); n != 2 {
					t.Errorf("connection %d: %d instances alive, want 2 (one per module)", id, n)
				}
				c.ChangeState(ctx, abi.ConnCreate)
				c.ChangeState(ctx, abi.ConnHandshake)
				c.BeginHandshake(ctx)
				first := s.take()
				if len(first) != 2 || !isGreeting(first[0], 1) || !isGreeting(first[1], 2) {
					t.Errorf("connection %d: first batch %+v, want the greetings of IMCs 1 and 2", id, first)
				}
				c.Receive(ctx, helloMsg(7))
				c.BatchEnding(ctx)
				if second := s.take(); len(second) != 2 || second[0].Validator != 7 || second[1].Validator != 7 {
					t.Errorf("connection %d: second batch %+v", id, second)
				}
				c.Close(ctx)
				if n := h.Instances(); n != 0 {
					t.Errorf("after connection %d: %d instances alive, want 0", id, n)
				}
			}
			if t.Failed() {
				t.Log(logs.String())
			}
		})
	}
}
