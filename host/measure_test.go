package host

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/internal/tpmtest"
	"github.com/imchost/imchost/tpmhost"
)

// TestModuleMeasurements: with [tpm] module_pcr every module version put
// in service, at load and at each reload, is extended into that PCR in
// every allocated bank and logged; replaying the log gives the TPM's PCR
// value; the log names each IMC with its digest, signer, ABI version and
// grants; an edited log no longer replays to the PCR; without a TPM the
// module is refused rather than run unmeasured.
func TestModuleMeasurements(t *testing.T) {
	tpm := tpmtest.Open(t, tpmtest.Simulator, hclog.NewNullLogger())
	const pcr = 13
	dir := t.TempDir()
	vendor, vendorPub := signingKey(t, dir, "vendor")
	path := filepath.Join(dir, "imc.wasm")
	testutil.CopyFile(t, modPath("hello"), path)
	sign(t, vendor, path)
	cfg := &Config{IMCs: []IMCConfig{
		{Name: "Vendor \"A\"", Path: path, Grants: helloGrants},
		{Name: "Minimal", Path: writeMinimalEcho(t), Grants: []string{"subscribe", "send"}},
	}}
	cfg.Wasm.TrustedKeys = []string{vendorPub}
	cfg.ModulePCR = pcr
	cfg.ModuleLog = filepath.Join(dir, "run", "module-measurements")
	log, logs := testLogger(t)
	h := loadedHost(t, cfg, Options{Logger: log, CompilationCache: testCache, Platform: capability.NewTPMPlatform(tpm, capability.TPMPlatformOptions{})})

	replays := func(want int) []ModuleMeasurement {
		t.Helper()
		ml, err := h.ModuleLog()
		if err != nil || len(ml) != want {
			t.Fatalf("module log: %d entries, want %d (%v)\n%s", len(ml), want, err, logs)
		}
		banks, _ := tpm.AllocatedBanks()
		for _, b := range banks {
			if b.Hash() == 0 || !b.Hash().Available() {
				continue
			}
			got, err := tpm.ReadPCRs(b, []int{pcr})
			if err != nil {
				t.Fatal(err)
			}
			if r := abi.ReplayModuleLog(ml, pcr, b.Hash()); string(r) != string(got[pcr]) {
				t.Fatalf("bank %s: the log replays to %x, PCR %d is %x", b, r, pcr, got[pcr])
			}
		}
		return ml
	}
	ml := replays(2)
	vendorKey, _ := ParseSigningKey(vendor)
	if m := ml[0]; m.IMCID != 1 || m.Name != `Vendor "A"` || m.SHA256 != fileSHA(t, path) || m.ABI != 1 ||
		m.Signer != KeyID(vendorKey.Public().(ed25519.PublicKey)) || strings.Join(m.Grants, ",") != "config_get,log,log_level,send,subscribe" {
		t.Fatalf("entry %+v", m)
	}
	if m := ml[1]; m.IMCID != 2 || m.Signer != "" || strings.Join(m.Grants, ",") != "send,subscribe" {
		t.Fatalf("entry %+v", m)
	}
	// A reload that swaps a version measures it; one that changes nothing
	// does not.
	testutil.CopyFile(t, modPath("oversize"), path)
	sign(t, vendor, path)
	if err := h.Reload(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if ml = replays(3); ml[2].IMCID != 1 || ml[2].SHA256 != fileSHA(t, path) {
		t.Fatalf("reload entry %+v", ml[2])
	}
	h.Reload(context.Background(), nil)
	replays(3)

	// An edited log does not replay to the PCR, or does not parse.
	b, _ := os.ReadFile(cfg.ModuleLog)
	forged := strings.Replace(string(b), "Minimal", "Minimum", 1)
	if _, err := abi.ParseModuleLog(strings.NewReader(forged)); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("an edited event parsed: %v", err)
	}
	ml[1].Name = "Minimum"
	got, _ := tpm.ReadPCRs(tpmhost.AlgSHA256, []int{pcr})
	if string(abi.ReplayModuleLog(ml, pcr, crypto.SHA256)) == string(got[pcr]) {
		t.Fatal("an edited list replays to the PCR")
	}

	// No TPM: refused.
	log2, logs2 := testLogger(t)
	h2, err := New(cfg, Options{Logger: log2, CompilationCache: testCache})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close(context.Background())
	if err := h2.LoadIMCs(context.Background()); err == nil || len(h2.List()) != 0 || !strings.Contains(logs2.String(), "no TPM to measure") {
		t.Fatalf("loaded without a TPM to measure into: %v\n%s", err, logs2)
	}
}

// TestModulePCRConfig: the PCRs a module measurement may not go to.
func TestModulePCRConfig(t *testing.T) {
	for pcr, ok := range map[int]bool{0: true, 7: false, 8: true, 10: false, 14: true, 16: false, 22: true, 23: false, 24: false} {
		c := &Config{}
		c.ModulePCR = pcr
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("module_pcr %d: %v", pcr, err)
		}
	}
}
