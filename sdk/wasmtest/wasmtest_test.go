package wasmtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/imctest"
)

var echoType = abi.MsgType{Vendor: 32473, Subtype: 1}

// TestWasmHello runs examples/hello, built, through the real host behind an
// imctest.Harness.
func TestWasmHello(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	path := filepath.Join(os.Getenv("IMCHOST_WASM_DIR"), "imc-hello.wasm")
	if _, err := os.Stat(path); os.Getenv("IMCHOST_WASM_DIR") == "" || err != nil {
		path = filepath.Join(t.TempDir(), "hello.wasm")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-o", path, "../../examples/hello")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	h := New(t, path, imctest.Options{Settings: map[string]string{"greeting": "hey"}})
	first := h.Start()
	if len(first) != 1 || !bytes.HasSuffix(first[0].Body, []byte("hey")) || first[0].Collector != 1 {
		t.Fatalf("first: %+v", first)
	}
	reply := h.Batch(imc.Message{Type: echoType, Collector: abi.IDAny, Validator: 5, Body: []byte{1, 0, 0, 0, 0, 0, 0, 1}})
	if len(reply) != 1 || !reply[0].Exclusive || reply[0].Validator != 5 {
		t.Fatalf("reply: %+v", reply)
	}
	if !h.Alive() {
		t.Fatal("IMC not alive")
	}
}
