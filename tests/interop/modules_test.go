package interop

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleReportToStrongSwan: with [tpm] module_pcr the host measures its
// modules and appends the module report (a PA-TNC attribute without NOSKIP
// under our vendor ID, abi/README.md §7) to the Attestation IMC's quote
// message; strongSwan's PDP skips the attribute and still finds the
// endpoint compliant, both IMVs, first contact and again.
func TestModuleReportToStrongSwan(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	pdp := startStrongSwanPDP(t, p, ssPDPOptions{users: defaultUser})
	tpm := map[string]any{"module_pcr": 13, "module_log": filepath.Join(t.TempDir(), "module-measurements")}
	for i := 1; i <= 2; i++ {
		r := imchostRun(t, e, pdp.port, pdp.pki.ca.file, imRunOptions{tpm: tpm, args: saslArgs})
		if r.code != 0 || r.overall() != "compliant, Access Allowed" {
			t.Fatalf("attestation %d: exit %d, overall %q\n%s\n%s", i, r.code, r.overall(), r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "measured into PCR 13") || !strings.Contains(r.stderr, "module report") {
			t.Fatalf("attestation %d: no module measured or reported:\n%s", i, r.stderr)
		}
		checkVerdicts(t, "imchost run", r.verdicts(), compliant)
		checkEvaluations(t, "strongSwan's PDP", pdp.log(), i, map[int]string{1: "compliant", 2: "compliant"})
	}
}
