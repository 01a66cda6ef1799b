package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BuildWasm builds the Go package pkg (a directory, relative to the test's
// own, or an import path) as an IMC module at out, the way build/wasm.mk
// does: GOOS=wasip1 GOARCH=wasm, a reactor (-buildmode=c-shared).
func BuildWasm(out, pkg string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-buildmode=c-shared", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s as a wasm module: %v\n%s", pkg, err, b)
	}
	return nil
}

var built struct {
	mu    sync.Mutex
	dir   string
	paths map[string]string
	errs  map[string]error
}

// Module returns the path of the shipped module file name (e.g.
// "imc-os.wasm"): the one `make` built into $IMCHOST_WASM_DIR, else pkg
// built once per test binary (under -short the test is skipped instead).
// A test binary that may build calls RemoveBuilt from its TestMain.
func Module(t testing.TB, name, pkg string) string {
	t.Helper()
	if dir := os.Getenv("IMCHOST_WASM_DIR"); dir != "" {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	if testing.Short() {
		t.Skipf("-short: not building %s", name)
	}
	built.mu.Lock()
	defer built.mu.Unlock()
	if p, ok := built.paths[name]; ok {
		return p
	}
	if err, ok := built.errs[name]; ok {
		t.Fatal(err)
	}
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "imchost-test-wasm-")
		if err != nil {
			t.Fatal(err)
		}
		built.dir, built.paths, built.errs = dir, map[string]string{}, map[string]error{}
	}
	p := filepath.Join(built.dir, name)
	if err := BuildWasm(p, pkg); err != nil {
		built.errs[name] = err
		t.Fatal(err)
	}
	built.paths[name] = p
	return p
}

// RemoveBuilt removes the modules Module built.
func RemoveBuilt() {
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir != "" {
		os.RemoveAll(built.dir)
		built.dir, built.paths, built.errs = "", nil, nil
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
