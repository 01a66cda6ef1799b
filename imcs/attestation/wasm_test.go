//go:build !wasip1

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/sdk/wasmtest"
	"github.com/imchost/imchost/tpmhost"
)

// readmeGrants is the grant list README.md documents; the wasm tests load
// the module with exactly these, so a missing grant fails them.
var readmeGrants = []string{"send", "subscribe", "log", "log_level", "config_get", "report",
	"tpm_version_info", "tpm_banks", "tpm_aik", "tpm_quote",
	"eventlog_events", "symlinks", "dh_create", "dh_finish", "hash", "random", "ima_events", "file_measure", "file_metadata"}

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBuilt()
	os.Exit(code)
}

// builtModule returns imc-attestation.wasm: the one `make test` built, else
// a build of this package (once per test binary).
func builtModule(t *testing.T) string { return testutil.Module(t, "imc-attestation.wasm", ".") }

// wasmHarness runs the built module through the real host with README's
// grants.
func wasmHarness(t *testing.T, env *tpmEnv, settings map[string]string) *imctest.Harness {
	return wasmtest.New(t, builtModule(t), imctest.Options{
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
