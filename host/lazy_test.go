package host

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/host/internal/wasmstop"
)

// TestLazyRecord: a lazy IMC's first start loads it in full and keeps its
// record; the next start leaves it uncompiled, its begin_handshake is
// replayed when its first message comes (its greeting goes with the answer
// to that message). A record that says more than the module subscribes to
// (sealed under the key: a module whose subscriptions depend on more than
// its settings) does not make the host deliver a type the started module
// did not subscribe to; the record is removed and said.
func TestLazyRecord(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	cfg := &Config{IMCs: []IMCConfig{{Name: "Hello", Path: modPath("hello"), Grants: helloGrants, Lazy: true}}}
	cfg.Wasm.CacheDir = dir
	h := loadedHost(t, cfg, Options{})
	if l := h.List(); len(l) != 1 || !l[0].Lazy || !l[0].Compiled {
		t.Fatalf("first start: %+v", l)
	}
	h.Close(context.Background())

	log, buf := testLogger(t)
	h = loadedHost(t, cfg, Options{Logger: log})
	if l := h.List(); len(l) != 1 || l[0].Compiled || len(l[0].Subscriptions) != 1 || l[0].Subscriptions[0] != helloType {
		t.Fatalf("warm start: %+v\n%s", l, buf.String())
	}
	first, second := exchange(t, h, 1)
	if len(first) != 0 {
		t.Fatalf("the lazy IMC sent before its first message: %+v", first)
	}
	if len(second) != 2 || !isGreeting(second[0], 1) || second[0].Exclusive || !isGreeting(second[1], 1) || !second[1].Exclusive {
		t.Fatalf("after its first message: %+v", second)
	}
	l := h.List()
	if !l[0].Compiled || h.Instances() != 0 {
		t.Fatalf("after the connection: %+v, %d instances", l, h.Instances())
	}
	imports := l[0].Imports
	h.Close(context.Background())

	// A record under the key claiming another type.
	sha := fileSHA(t, modPath("hello"))
	other := abi.MsgType{Vendor: helloType.Vendor, Subtype: helloType.Subtype + 1}
	key, _, err := loadCacheKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := moduleRecord{SHA256: sha, Settings: settingsDigest(nil), Rewrite: wasmstop.Version, ABI: abi.ExportMarker,
		Imports: imports, Subs: []abi.MsgType{other}}
	body, _ := json.Marshal(rec)
	path := (&Host{cacheDir: dir}).recordPath(sha, nil)
	if err := os.WriteFile(path, append(body, recordMAC(key, body)...), 0o600); err != nil {
		t.Fatal(err)
	}
	log, buf = testLogger(t)
	h = loadedHost(t, cfg, Options{Logger: log})
	if l := h.List(); l[0].Compiled || l[0].Subscriptions[0] != other {
		t.Fatalf("with the other record: %+v", l)
	}
	var s sink
	ctx := context.Background()
	c, err := h.Open(ctx, 1, s.send)
	if err != nil {
		t.Fatal(err)
	}
	c.ChangeState(ctx, abi.ConnCreate)
	c.BeginHandshake(ctx)
	m := helloMsg(7)
	m.Subtype = other.Subtype
	c.Receive(ctx, m)
	got := s.take()
	c.Close(ctx)
	for _, g := range got {
		if g.Exclusive {
			t.Errorf("the module answered a type it did not subscribe to: %+v", g)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("the record out of date was kept")
	}
	if strings.Contains(buf.String(), `IMC 1 "Hello" received message for Connection ID 1`) {
		t.Errorf("a type the started module did not subscribe to was delivered:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), `IMC 1 "Hello" subscribed to other message types than its record says`) {
		t.Errorf("not said:\n%s", buf.String())
	}
}
