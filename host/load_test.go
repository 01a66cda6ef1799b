package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/imchost/imchost/tnccs"
)

// TestModuleFile: a module file is hashed in one streaming read; its bytes
// are read later only if they still hash the same, and a file beyond the
// size bound is refused before it is read whole.
func TestModuleFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.wasm")
	mod := minimalEcho()
	if err := os.WriteFile(p, mod, 0o600); err != nil {
		t.Fatal(err)
	}
	mf, err := statModule(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(mod)
	if mf.sha != hex.EncodeToString(sum[:]) || mf.size != len(mod) || !bytes.Equal(mf.head, mod[:8]) {
		t.Fatalf("stat: %+v", mf)
	}
	if b, err := mf.bytes(); err != nil || !bytes.Equal(b, mod) {
		t.Fatalf("bytes: %v", err)
	}
	if err := os.WriteFile(p, append(mod, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mf.bytes(); err == nil || !errors.Is(err, errFileChanged) {
		t.Fatalf("a changed file was read: %v", err)
	}
	big := filepath.Join(dir, "big.wasm")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxModuleSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := statModule(big); err == nil || !strings.Contains(err.Error(), "is larger than") {
		t.Fatalf("oversized file: %v", err)
	}
	short := filepath.Join(dir, "short.wasm")
	os.WriteFile(short, []byte("\x00as"), 0o600)
	if mf, err := statModule(short); err != nil || len(mf.head) != 3 {
		t.Fatalf("3-byte file: %+v, %v", mf, err)
	}
}

// TestCloseWhileOpening: Close while a connection is being opened waits
// for it, then closes its instance before the runtimes (whose memories are
// unmapped) and leaves nothing behind. The module's start function counts
// down from 50 million, so the Open is surely inside the instantiation
// when Close comes (its memory is mapped, the start function runs).
func TestCloseWhileOpening(t *testing.T) {
	// 1 local i32; i32.const 50000000; local.set 0;
	// loop; local.get 0; i32.const 1; i32.sub; local.tee 0; br_if 0; end
	spin := []byte{1, 1, 0x7f, 0x41, 0x80, 0xe1, 0xeb, 0x17, 0x21, 0,
		0x03, 0x40, 0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x0b}
	p := filepath.Join(t.TempDir(), "slowstart.wasm")
	if err := os.WriteFile(p, minimalModule([]byte{0x41, 0}, spin, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{IMCs: []IMCConfig{{Name: "SlowStart", Path: p, Grants: []string{"send", "subscribe"}}}}
	h := loadedHost(t, cfg, Options{CompilationCache: testCache})
	ctx := context.Background()
	base := h.memMaps.Load() // the probe's is gone
	type opened struct {
		c   *Conn
		err error
	}
	done := make(chan opened, 1)
	go func() {
		c, err := h.OpenConn(ctx, 1, func(tnccs.PAMessage) error { return nil })
		done <- opened{c, err}
	}()
	for h.memMaps.Load() == base { // the instance's memory is mapped: its start function runs
		runtime.Gosched()
	}
	h.Close(ctx)
	o := <-done
	if o.err != nil || len(o.c.insts) != 1 {
		t.Fatalf("Open during Close: %v, %d instances", o.err, len(o.c.insts))
	}
	if n := h.Instances(); n != 0 {
		t.Errorf("%d instances alive after Close", n)
	}
	if n := h.memMaps.Load() - base; n != 0 {
		t.Errorf("%d memories mapped after Close", n)
	}
}

// TestCompileGuarded: a module that makes wazero v1.12's validator panic
// (a call to a function of type 48 of 3; wasmstop refuses it, see
// checkTypeIndices) is an error from compileGuarded, not a crash.
func TestCompileGuarded(t *testing.T) {
	bad := []byte("\x00asm\x01\x00\x00\x00\x01\r\x03`\x00\x00`\x01\x7f\x01\x7f`\x00\x01\x7f\x03\x06\x05\x00\x01000\nI\x05\a\x00\x03@\f\x00\v\v\x1c\x00A0A0\x10\x04000000XA0000A0000000\v\x10\x00A0000000000000\v\t\x00000000A\v\a\x0000000\v")
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := compileGuarded(ctx, rt, bad)
	if err == nil || cm != nil {
		t.Fatalf("compiled: %v", err)
	}
	t.Log(err)
	// And the host refuses the file before wazero sees it.
	p := filepath.Join(t.TempDir(), "bad.wasm")
	if err := os.WriteFile(p, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	h, _ := newTestHost(t, IMCConfig{Name: "bad", Path: p, Grants: helloGrants})
	err = h.LoadIMCs(ctx)
	if !errors.Is(err, ErrNotWasm) || !strings.Contains(err.Error(), "has type 48 of 3") {
		t.Fatalf("load: %v", err)
	}
}
