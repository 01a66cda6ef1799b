//go:build !wasip1

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
)

// readmeGrants is the grant list README.md documents; the wasm tests load
// the module with exactly these, so a missing grant fails them.
var readmeGrants = []string{"send", "subscribe", "log", "log_level", "config_get", "report",
	"tpm_version_info", "tpm_banks", "tpm_aik", "tpm_quote",
	"eventlog_events", "symlinks", "dh_create", "dh_finish", "hash", "random", "ima_events", "file_measure", "file_metadata"}

var (
	wasmOnce sync.Once
	wasmDir  string // our build directory, removed by TestMain
	wasmPath string
	wasmErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if wasmDir != "" {
		os.RemoveAll(wasmDir)
	}
	os.Exit(code)
}

// builtModule returns the module: $IMCHOST_WASM_DIR/imc-attestation.wasm
// when `make test` built it, else a fresh build of this package (once per
// test binary, the module is too big to check in).
func builtModule(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("IMCHOST_WASM_DIR"); dir != "" {
		p := filepath.Join(dir, "imc-attestation.wasm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	wasmOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imc-attestation-")
		if err != nil {
			wasmErr = err
			return
		}
		wasmDir, wasmPath = dir, filepath.Join(dir, "imc-attestation.wasm")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-o", wasmPath, ".")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			wasmErr = err
			wasmPath = string(out)
		}
	})
	if wasmErr != nil {
		t.Fatalf("building the module: %v\n%s", wasmErr, wasmPath)
	}
	return wasmPath
}

// wasmHarness runs the built module through the real host with README's
// grants.
func wasmHarness(t *testing.T, env *tpmEnv, settings map[string]string) *imctest.Harness {
	return imctest.NewWasm(t, builtModule(t), imctest.Options{
		ID: imcID, Name: "Attestation", Settings: settings, Grants: readmeGrants,
		Platform: env.platform(t),
		Logger:   testLogger(t),
	})
}

// TestWasmExchange runs the recorded exchange through the real host with
// the built module.
func TestWasmExchange(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	for _, tc := range []attestCase{
		{name: "ecc-p256/sha256", ak: tpmhost.AKECCP256, bank: tpmhost.AlgSHA256, wantSCE: 105,
			settings: map[string]string{"hash_algorithm": "sha256", "max_message_size": "32722"}},
		{name: "rsa-2048/sha1", ak: tpmhost.AKRSA2048, bank: tpmhost.AlgSHA1, wantSCE: 105,
			settings: map[string]string{"hash_algorithm": "sha1"}},
		{name: "segment 60", ak: tpmhost.AKECCP256, bank: tpmhost.AlgSHA256, wantSCE: 105, segmented: true,
			contract: &patnc.SegContractRequest{MaxMsgSize: patnc.NoLimit, MaxSegSize: 60}, settings: map[string]string{"max_message_size": "1000", "hash_algorithm": "sha256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runExchange(t, tc, wasmHarness)
		})
	}
}

// TestWasmMalformed: malformed and out-of-order messages get PA-TNC errors
// from the module and never trap it.
func TestWasmMalformed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm module")
	}
	env := newTPMEnv(t, useSwtpm, tpmhost.AKECCP256, recordedLog)
	h := wasmHarness(t, env, map[string]string{"aik_handle": "0x81010003", "eventlog": recordedLog})
	h.Start()
	for _, in := range []string{
		"",
		"01",
		"02000000 a1b2c3d4",
		"01000000 a1b2c3d4 80005597 7f000000 0000000c",
		"01000000 a1b2c3d4 80005597 05000000 00000064 00144000" + strings.Repeat("00", 84),
		"01000000 a1b2c3d4 80005597 00200000 00000010 00000000",
		"01000000 a1b2c3d4 00005597 00000023 00000014 40000001 ffffffff",
		"01000000 a1b2c3d4 80005597 06000000 ffffffff 0000e000",
	} {
		for _, s := range h.Batch(rawMessage(t, in)) {
			if _, err := patnc.ParseMessage(s.Body); err != nil {
				t.Fatalf("%q: reply does not parse: %v", in, err)
			}
		}
		if !h.Alive() {
			t.Fatalf("%q: the module died", in)
		}
	}
}
