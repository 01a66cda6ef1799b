//go:build !wasip1

package main

import (
	"context"
	"crypto/tls"
	"github.com/imchost/imchost/internal/testutil"
	"path/filepath"
	"testing"
	"time"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/hosttest"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tpmhost"
)

// osModule returns the OS IMC module: $IMCHOST_WASM_DIR/imc-os.wasm, else a
// fresh build of ../os into this test's directory.
func osModule(t *testing.T) string { return testutil.Module(t, "imc-os.wasm", "../os") }

// TestInteropPDP runs both built IMC modules in the real host against the
// project's PDP (strongSwan's OS and Attestation IMVs) over PT-TLS on
// loopback, twice: the first assessment registers the boot measurements,
// the second is checked against them. Both must end compliant / allowed.
func TestInteropPDP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both wasm modules")
	}
	for _, tc := range []struct {
		name     string
		pdpMax   int               // the PDP's maximum PA-TNC message size (0: PT-TLS default)
		settings map[string]string // extra Attestation IMC settings
	}{
		{name: "defaults"},
		// The PDP's contract (segment size 87) envelopes the AIK and the
		// Simple Evidence Final; the IMC's own limit spreads the evidence
		// over several PA-TNC messages.
		{name: "segmented", pdpMax: 111, settings: map[string]string{"max_message_size": "2000"}},
	} {
		t.Run(tc.name, func(t *testing.T) { interop(t, tc.pdpMax, tc.settings) })
	}
}

func interop(t *testing.T, pdpMax int, extra map[string]string) {
	env := newTPMEnv(t, useSwtpm, tpmhost.AKECCP256, recordedLog)
	attMod, osMod := builtModule(t), osModule(t)

	cert, pool, err := pdp.SelfSignedCertificate(time.Hour, "pdp.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := pdp.New(pdp.Config{Addr: "127.0.0.1:0", Certificates: []tls.Certificate{cert},
		DBPath: filepath.Join(t.TempDir(), "pdp.db"), Policy: pdp.DefaultPolicy(), Logger: testLogger(t).Named("pdp"),
		MaxMessageSize: pdpMax})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})

	settings := host.Settings{"aik_handle": "0x81010003", "eventlog": recordedLog, "hash_algorithm": "sha256"}
	for k, v := range extra {
		settings[k] = v
	}
	cfg := &host.Config{IMCs: []host.IMCConfig{
		{Name: "OS", Path: osMod, Grants: imctest.AllGrants(),
			Settings: host.Settings{"device_handle": "0x81010003"}},
		{Name: "Attestation", Path: attMod, Grants: readmeGrants, Settings: settings},
	}}
	h := hosttest.Start(t, cfg, host.Options{Logger: testLogger(t), Platform: env.platform(t)})
	for round := 1; round <= 2; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		ccfg := tnccs.ClientConfig{Addr: srv.Addr().String()}
		ccfg.PTTLS.RootCAs, ccfg.PTTLS.ServerName = pool, "pdp.test"
		res, err := tnccs.Dial(ctx, ccfg, h)
		cancel()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		outs, err := srv.WaitOutcomes(context.Background(), round)
		if err != nil {
			t.Fatal(err)
		}
		v := outs[round-1].Verdict
		t.Logf("round %d: client %+v; PDP verdict %+v", round, res, v)
		for _, iv := range v.IMVs {
			if iv.Result != pdp.Compliant {
				t.Errorf("round %d: %s IMV: %v %v %v", round, iv.IMV, iv.Result, iv.Recommendation, iv.Reasons)
			}
		}
		if v.Access != pdp.AccessAllowed || len(v.IMVs) != 2 {
			t.Fatalf("round %d: access %v, %d IMV verdicts", round, v.Access, len(v.IMVs))
		}
	}
}
