package tests

// The host's side: IMCs hot-reloaded between attestations, and a vendor IMC
// that crashes next to the two real ones.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/internal/hosttest"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs/pb"
)

// writeConfig writes a config.toml with the IMCs (relative paths are
// relative to the file's directory), no file watching and, when cacheDir is
// set, that compilation cache directory.
func writeConfig(t testing.TB, path string, imcs []host.IMCConfig, cacheDir string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(configTOML(imcs, cacheDir)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// configTOML is writeConfig's file.
func configTOML(imcs []host.IMCConfig, cacheDir string) string {
	var b strings.Builder
	b.WriteString("[wasm]\nwatch = false\n")
	if cacheDir != "" {
		fmt.Fprintf(&b, "cache_dir = %q\n", cacheDir)
	}
	for _, c := range imcs {
		fmt.Fprintf(&b, "\n[[imc]]\nname = %q\npath = %q\ngrants = [", c.Name, c.Path)
		for i, g := range c.Grants {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", g)
		}
		b.WriteString("]\n[imc.settings]\n")
		for k, v := range c.Settings {
			fmt.Fprintf(&b, "%s = %q\n", k, v)
		}
	}
	return b.String()
}

// versions maps IMC names to their loaded version.
func versions(h *host.Host) map[string]int {
	out := map[string]int{}
	for _, m := range h.List() {
		out[m.Name] = m.Version
	}
	return out
}

// testHotReload: a host built from a config.toml attests; the Attestation
// IMC's settings change in the file and Reload makes version 2 (its new
// nonce length is on the wire); then a broken module file is refused and
// version 2 keeps serving. Every attestation is compliant against the
// measurements learned by the first. (A changed module file takes the same
// path in the host, with a compilation: host/reload_test.go covers it on
// small modules.)
func testHotReload(t *testing.T, env *tpmEnv) {
	dir := t.TempDir()
	imcs := imcConfigs(t, env.logPath)
	for i := range imcs {
		local := filepath.Base(imcs[i].Path)
		testutil.CopyFile(t, imcs[i].Path, filepath.Join(dir, local))
		imcs[i].Path = local
	}
	cfgPath := filepath.Join(dir, "config.toml")
	writeConfig(t, cfgPath, imcs, "")
	load := func() *host.Config {
		t.Helper()
		cfg, err := config.Load(cfgPath, config.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Host()
	}
	h := newHostConfig(t, env.platform(t, fixtureRoot(t, false)), load())
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
	n := 0
	run := func(step string, wantVersions map[string]int, nonce int) {
		t.Helper()
		if got := versions(h); fmt.Sprint(got) != fmt.Sprint(wantVersions) {
			t.Fatalf("%s: versions %v, want %v", step, got, wantVersions)
		}
		n++
		rec := &recorder{}
		res, out := attestOK(t, p, h, rec, n)
		if res.Recommendation != pb.RecommendationAllowed || out.Verdict.Access != pdp.AccessAllowed {
			t.Fatalf("%s: %+v %+v", step, res, out.Verdict)
		}
		want := fmt.Sprintf(" 5 C→S CDATA | PB-PA | TCG/PTS: DH Nonce Parameters Response (ECP_256, nonce %d bytes)", nonce)
		if rows := rec.table(); len(rows) < 5 || rows[4] != want {
			t.Fatalf("%s: batch 5 %q, want %q", step, rows[min(4, len(rows)-1)], want)
		}
	}
	run("first load", map[string]int{"OS": 1, "Attestation": 1}, 20)

	imcs[1].Settings["nonce_len"] = "32"
	writeConfig(t, cfgPath, imcs, "")
	if err := h.Reload(context.Background(), load()); err != nil {
		t.Fatalf("reload of changed settings: %v", err)
	}
	run("changed settings", map[string]int{"OS": 1, "Attestation": 2}, 32)

	attPath := filepath.Join(dir, attWasm)
	if err := os.WriteFile(attPath, []byte("\x00asm\x01\x00\x00\x00broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(context.Background(), nil); err == nil {
		t.Fatal("a broken module was accepted")
	}
	run("broken module refused", map[string]int{"OS": 1, "Attestation": 2}, 32)
}

// syncBuffer is the shared testutil.SyncBuffer.
type syncBuffer = testutil.SyncBuffer

// testTrapIMC: a vendor IMC that crashes (in begin_handshake, receive or
// batch_ending) is loaded as IMC 3 next to the OS and Attestation IMCs.
// The host closes it for the connection; the exchange on the wire is still
// the transcript's, the verdict compliant / Access Allowed, on the learning
// run and on the enforcing one, and no instance is left.
func testTrapIMC(t *testing.T, env *tpmEnv, where string) {
	logs := &syncBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: io.MultiWriter(testutil.LogWriter(t), logs), DisableTime: true})
	imcs := append(imcConfigs(t, env.logPath), trapIMC(where))
	h := hosttest.Start(t, &host.Config{IMCs: imcs}, host.Options{Logger: log,
		Platform: env.platform(t, fixtureRoot(t, false)), CompilationCache: compCache})
	if l := h.List(); len(l) != 3 || l[2].Name != "Trap" || l[2].ID != 3 {
		t.Fatalf("loaded %+v", l)
	}
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(), Referral: &pdp.Referral{Host: pdpName, Port: 271}})
	for round := 1; round <= 2; round++ {
		rec := &recorder{}
		res, out := attestOK(t, p, h, rec, round)
		checkTable(t, rec, transcriptTable(false))
		if res.AssessmentResult != pb.ResultCompliant || res.Recommendation != pb.RecommendationAllowed ||
			out.Verdict.Access != pdp.AccessAllowed {
			t.Fatalf("round %d: %+v %+v", round, res, out.Verdict)
		}
		if k := h.Instances(); k != 0 {
			t.Errorf("round %d: %d instances left", round, k)
		}
	}
	failed := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `IMC 3 "Trap"`) && strings.Contains(line, "closed for this connection") {
			failed++
			t.Logf("host: %s", line)
		}
	}
	if failed != 2 {
		t.Fatalf("the trap IMC failed %d times, want once per connection", failed)
	}
}
