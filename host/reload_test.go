package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/tnccs"
)

// TestReload replaces a module while an exchange runs: the exchange ends on
// the old version, the next connection gets the new one; a broken file is
// refused and the previous version keeps serving.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "imc.wasm")
	testutil.CopyFile(t, modPath("hello"), path)
	h, logs := newTestHost(t, IMCConfig{Name: "Vendor", Path: path, Grants: helloGrants})
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		t.Fatal(err)
	}

	var s1 sink
	c1, _ := h.OpenConn(ctx, 1, s1.send)
	c1.BeginHandshake(ctx)
	if m := s1.take(); len(m) != 1 || !isGreeting(m[0], 1) {
		t.Fatalf("connection 1 first batch: %+v", m)
	}

	// Replace hello with another IMC (oversize: it answers the handshake
	// with an error text) in the middle of connection 1.
	testutil.CopyFile(t, modPath("oversize"), path)
	if err := h.Reload(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if l := h.List(); len(l) != 1 || l[0].Version != 2 || l[0].ID != 1 {
		t.Fatalf("after reload: %+v", l)
	}
	c1.Receive(ctx, helloMsg(3))
	c1.BatchEnding(ctx)
	if m := s1.take(); len(m) != 1 || !isGreeting(m[0], 1) {
		t.Fatalf("connection 1 after reload still on hello: %+v", m)
	}

	var s2 sink
	c2, _ := h.OpenConn(ctx, 2, s2.send)
	c2.BeginHandshake(ctx)
	if m := s2.take(); len(m) != 1 || !strings.Contains(string(m[0].Body), "too large") {
		t.Fatalf("connection 2 on the new version: %+v", m)
	}
	if strings.Contains(logs.String(), `"Vendor" version 1 closed`) {
		t.Fatal("version 1 closed while connection 1 uses it")
	}
	c1.Close(ctx)
	if !strings.Contains(logs.String(), `"Vendor" version 1 closed`) {
		t.Error("version 1 not closed after its last instance")
	}

	// A broken file is refused; version 2 keeps serving.
	os.WriteFile(path, []byte("\x00asm\x01\x00\x00\x00garbage"), 0o644)
	if err := h.Reload(ctx, nil); err == nil {
		t.Fatal("reload accepted a broken module")
	}
	if !strings.Contains(logs.String(), `IMC 1 "Vendor": refusing the new version from '`+path+`', version 2 keeps serving`) {
		t.Error("no refusal log line")
	}
	var s3 sink
	c3, _ := h.OpenConn(ctx, 3, s3.send)
	c3.BeginHandshake(ctx)
	if m := s3.take(); len(m) != 1 || !strings.Contains(string(m[0].Body), "too large") {
		t.Fatalf("connection 3: %+v", m)
	}
	c2.Close(ctx)
	c3.Close(ctx)
	if l := h.List(); len(l) != 1 || l[0].Version != 2 || l[0].Instances != 0 {
		t.Fatalf("list: %+v", l)
	}
}

// TestReloadConfig: a new configuration adds, changes and removes IMCs;
// an invalid one is refused whole and the running one stays.
func TestReloadConfig(t *testing.T) {
	grants := []string{"send", "subscribe", "log", "log_level", "config_get"}
	cfg := &Config{IMCs: []IMCConfig{{Name: "A", Path: modPath("hello"), Grants: grants}}}
	log, _ := testLogger(t)
	h := loadedHost(t, cfg, Options{Logger: log, CompilationCache: testCache})
	ctx := context.Background()
	if err := h.Reload(ctx, &Config{IMCs: []IMCConfig{
		{Name: "B", Path: modPath("oversize"), Grants: grants},
		{Name: "A", Path: modPath("hello"), Grants: grants, Settings: Settings{"greeting": "changed"}},
	}}); err != nil {
		t.Fatal(err)
	}
	l := h.List()
	if len(l) != 2 || l[0].Name != "A" || l[0].ID != 1 || l[0].Version != 2 || l[1].Name != "B" || l[1].ID != 2 {
		t.Fatalf("list: %+v", l)
	}
	var s sink
	c, _ := h.OpenConn(ctx, 1, s.send)
	c.BeginHandshake(ctx)
	if m := s.take(); len(m) != 2 || !strings.HasSuffix(string(m[0].Body), "changed") {
		t.Fatalf("messages: %+v", m)
	}
	c.Close(ctx)
	if err := h.Reload(ctx, &Config{IMCs: []IMCConfig{{Name: "B", Path: modPath("oversize"), Grants: grants}}}); err != nil {
		t.Fatal(err)
	}
	if l := h.List(); len(l) != 1 || l[0].Name != "B" {
		t.Fatalf("list: %+v", l)
	}
	if err := h.Reload(ctx, &Config{IMCs: []IMCConfig{{Name: "C", Path: modPath("hello"), Grants: []string{"everything"}}}}); err == nil {
		t.Fatal("invalid config accepted")
	}
	if l := h.List(); len(l) != 1 || l[0].Name != "B" {
		t.Fatalf("list after invalid config: %+v", l)
	}
}

// TestWatch: replacing the module file is picked up without a Reload call.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "imc.wasm")
	testutil.CopyFile(t, modPath("hello"), path)
	h, _ := newTestHost(t, IMCConfig{Name: "Vendor", Path: path, Grants: helloGrants})
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Watch(); err != nil {
		t.Fatal(err)
	}
	testutil.CopyFile(t, modPath("oversize"), path)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if l := h.List(); len(l) == 1 && l[0].Version == 2 {
			var s sink
			c, _ := h.Open(ctx, tnccs.ConnID(1), s.send)
			c.BeginHandshake(ctx)
			c.Close(ctx)
			if m := s.take(); len(m) != 1 || !strings.Contains(string(m[0].Body), "too large") {
				t.Fatalf("after watch reload: %+v", m)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the watcher did not reload the module")
}
