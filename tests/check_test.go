package tests

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/host"
)

// TestCLICheck: `imchost check` against swtpm and a PDP passes on the
// shipped configuration, and each broken fixture — a missing module, a
// pin mismatch, a bad aik_handle, no AK at the handle, a missing event
// log, a bad nonce_len, an event log of another machine, an unreachable
// TPM, a PDP with another CA — is one FAIL line with its fix. `imchost
// run` on the local faults exits 1 before it dials: the PDP sees no
// attestation (the old code went to the PDP and exited 3, "not allowed").
func TestCLICheck(t *testing.T) {
	e := newCLIEnv(t)
	dir := t.TempDir()
	_, port, _ := net.SplitHostPort(e.pdp.addr)
	check := func(code int, cfg, tpm, ca string, extra ...string) string {
		t.Helper()
		return runCLI(t, code, append([]string{"check", "--config", cfg, "--tpm", tpm, "--eventlog", e.logs,
			"-c", "127.0.0.1", "-p", port, "--ca", ca}, extra...)...)
	}

	out := check(0, e.cfg, e.tpm.inst.Spec, e.pdp.caPEM)
	for _, want := range []string{
		"OK   config " + e.cfg,
		"OK   TPM " + e.tpm.inst.Spec,
		`OK   IMC "OS" `, `OK   IMC "Attestation" `,
		"OK   AK 0x81010003 (IMC \"OS\" device_handle): ECC P-256",
		"OK   event log " + e.logs + ": ",
		"OK   event log replay against the TPM's PCRs: sha256",
		"OK   PDP 127.0.0.1:" + port + ": TLS verified, PT-TLS version 1 negotiated",
		"all checks passed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("a passing check lacks %q:\n%s", want, out)
		}
	}

	otherLog, err := filepath.Abs(testutil.Data("eventlogs", "event-arch-linux.bin"))
	if err != nil {
		t.Fatal(err)
	}
	type fixture struct {
		name  string
		edit  func(imcs []host.IMCConfig) // imcs[0] OS, imcs[1] Attestation
		fail  string                      // the FAIL line's start
		why   string                      // in the output
		local bool                        // imchost run must exit 1 without dialing
	}
	for _, fx := range []fixture{
		{"missing module", func(m []host.IMCConfig) { m[0].Path = filepath.Join(dir, "nowhere.wasm") },
			`FAIL IMC "OS" `, "install the module there", true},
		{"pin mismatch", func(m []host.IMCConfig) { m[1].SHA256 = strings.Repeat("ab", 32) },
			`FAIL IMC "Attestation" `, "not the one pinned", true},
		{"bad aik_handle", func(m []host.IMCConfig) { m[1].Settings["aik_handle"] = "banana" },
			`FAIL AK banana (IMC "Attestation" aik_handle)`, "persistent handle", true},
		{"no AK at the handle", func(m []host.IMCConfig) { m[1].Settings["aik_handle"] = "0x81010077" },
			`FAIL AK 0x81010077 (IMC "Attestation" aik_handle)`, "imchost tpm provision-ak --handle 0x81010077", true},
		{"missing event log", func(m []host.IMCConfig) { m[1].Settings["eventlog"] = filepath.Join(dir, "no-log") },
			"FAIL event log " + filepath.Join(dir, "no-log"), "no such file", true},
		{"bad nonce_len", func(m []host.IMCConfig) { m[1].Settings["nonce_len"] = "5" },
			`FAIL IMC "Attestation" `, `nonce_len "5" must be a number from`, true},
		{"another machine's event log", func(m []host.IMCConfig) { m[1].Settings["eventlog"] = otherLog },
			"FAIL event log replay against the TPM's PCRs", "the log does not describe this TPM's boot", false},
	} {
		t.Run(fx.name, func(t *testing.T) {
			imcs := imcConfigs(t, e.logs)
			fx.edit(imcs)
			cfg := filepath.Join(t.TempDir(), "config.toml")
			text := configTOML(imcs, cacheDir)
			for _, m := range imcs { // configTOML writes no pins
				if m.SHA256 != "" {
					text = strings.Replace(text, fmt.Sprintf("name = %q\n", m.Name), fmt.Sprintf("name = %q\nsha256 = %q\n", m.Name, m.SHA256), 1)
				}
			}
			if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			// --no-pdp: the fixtures break this endpoint; a check connection the
			// PDP records late would blur the count of run's attestations below.
			out := check(1, cfg, e.tpm.inst.Spec, e.pdp.caPEM, "--no-pdp")
			if !strings.Contains(out, fx.fail) || !strings.Contains(out, fx.why) || !strings.Contains(out, "     fix: ") {
				t.Errorf("check: want %q and %q with a fix in\n%s", fx.fail, fx.why, out)
			}
			if n := strings.Count(out, "FAIL "); n != 1 {
				t.Errorf("%d FAIL lines, want 1:\n%s", n, out)
			}
			if !fx.local {
				return
			}
			before := len(e.pdp.srv.Outcomes())
			r := runCLI(t, exitError, "run", "--config", cfg, "-c", "127.0.0.1", "-p", port, "--ca", e.pdp.caPEM,
				"--tpm", e.tpm.inst.Spec, "--root", fixtureRoot(t, false), "--eventlog", e.logs)
			if strings.Contains(r, "overall:") {
				t.Errorf("run reached a verdict on a local fault:\n%s", r)
			}
			if n := len(e.pdp.srv.Outcomes()); n != before {
				t.Errorf("run dialed the PDP on a local fault (%d attestations, want %d)", n, before)
			}
		})
	}

	// The TPM and the PDP.
	out = check(1, e.cfg, "tcp:127.0.0.1:1", e.pdp.caPEM)
	if !strings.Contains(out, "FAIL TPM tcp:127.0.0.1:1") || !strings.Contains(out, "is the TPM emulator running") {
		t.Errorf("an unreachable TPM:\n%s", out)
	}
	other := pdpCert(t, "other")
	out = check(1, e.cfg, e.tpm.inst.Spec, other.caPEM)
	if !strings.Contains(out, "FAIL PDP 127.0.0.1:"+port) || !strings.Contains(out, "[pdp] ca must be the CA") {
		t.Errorf("a PDP with another CA:\n%s", out)
	}
	if out := check(0, e.cfg, e.tpm.inst.Spec, other.caPEM, "--no-pdp"); strings.Contains(out, "PDP 127.0.0.1:"+port+":") {
		t.Errorf("--no-pdp still checked the PDP:\n%s", out)
	}
	if _, err := os.Stat(e.cfg); err != nil {
		t.Fatal(err)
	}
}
