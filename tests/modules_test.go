package tests

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/hosttest"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tpmhost"
)

// TestModuleReport: with [tpm] module_pcr the host measures the shipped
// IMCs into that PCR of swtpm, the log replays to the PCR, and the report
// the host appends to the Attestation IMC's quote message lets the PDP
// replay it against a second quote: a PDP whose module allowlist holds
// both modules' digests allows the client, one that lacks the Attestation
// IMC's denies it naming the module, one that requires a report denies a
// host that measures nothing.
func TestModuleReport(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	plat := env.platform(t, fixtureRoot(t, false))
	const pcr = 13
	newHost := func(t *testing.T, measure bool) *host.Host {
		cfg := &host.Config{IMCs: imcConfigs(t, env.logPath)}
		if measure {
			cfg.ModulePCR = pcr
			cfg.ModuleLog = filepath.Join(t.TempDir(), "module-measurements")
		}
		return hosttest.Start(t, cfg, host.Options{Logger: testLogger(t, ""), Platform: plat, CompilationCache: compCache})
	}
	digest := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	imcs := imcConfigs(t, env.logPath)
	osDigest, attDigest := digest(imcs[0].Path), digest(imcs[1].Path)

	h := newHost(t, true)
	ml, err := h.ModuleLog()
	if err != nil || len(ml) != 2 || ml[0].SHA256 != osDigest || ml[1].SHA256 != attDigest {
		t.Fatalf("module log %+v %v", ml, err)
	}
	got, err := env.tpm.ReadPCRs(tpmhost.AlgSHA256, []int{pcr})
	if err != nil {
		t.Fatal(err)
	}
	if r := abi.ReplayModuleLog(ml, pcr, crypto.SHA256); string(r) != string(got[pcr]) {
		t.Fatalf("the module log replays to %x, swtpm's PCR %d is %x", r, pcr, got[pcr])
	}

	run := func(t *testing.T, h *host.Host, pol pdp.Policy) pdp.Outcome {
		t.Helper()
		p := startPDP(t, pdp.Config{Policy: pol})
		_, out := attestOK(t, p, h, nil, 1)
		return out
	}
	t.Run("allowlisted", func(t *testing.T) {
		pol := pdp.DefaultPolicy()
		pol.ModuleDigests = []string{osDigest, attDigest}
		if out := run(t, h, pol); out.Verdict.Access != pdp.AccessAllowed {
			t.Fatalf("verdict %+v", out.Verdict)
		}
	})
	t.Run("not allowlisted", func(t *testing.T) {
		pol := pdp.DefaultPolicy()
		pol.ModuleDigests = []string{osDigest}
		out := run(t, h, pol)
		if out.Verdict.Access == pdp.AccessAllowed ||
			!strings.Contains(strings.Join(out.Verdict.Reasons, "\n"), `module IMC 2 "Attestation" (sha256 `+attDigest) {
			t.Fatalf("verdict %+v", out.Verdict)
		}
	})
	t.Run("required, none sent", func(t *testing.T) {
		pol := pdp.DefaultPolicy()
		pol.RequireModuleReport = true
		out := run(t, newHost(t, false), pol)
		if out.Verdict.Access == pdp.AccessAllowed || !strings.Contains(strings.Join(out.Verdict.Reasons, "\n"), "no module report") {
			t.Fatalf("verdict %+v", out.Verdict)
		}
	})
}
