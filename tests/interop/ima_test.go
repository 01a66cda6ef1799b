package interop

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/internal/imagen"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/tpmhost"
)

// imaPolicy makes strongSwan's Attestation IMV ask for the Linux IMA
// runtime evidence besides the BIOS evidence: a TPM attestation policy
// (type 16) whose argument holds 'B' and 'I' (imv_attestation_agent:
// ITA-HSR Linux IMA with qualifier K+trusted, then K+operating system),
// enforced instead of data.sql's BIOS-only one. Both letters go in one
// policy because the IMV's IMA component checks boot_aggregate against the
// PCRs the BIOS evidence of the same workitem replayed.
const imaPolicy = `
INSERT INTO policies (type, name, argument, rec_fail, rec_noresult)
	VALUES (16, 'TPM BIOS and IMA Measurements', 'BI', 2, 2);
DELETE FROM enforcements
	WHERE policy = (SELECT id FROM policies WHERE name = 'TPM BIOS Measurements');
INSERT INTO enforcements (policy, group_id, max_age)
	SELECT id, 1, 0 FROM policies WHERE name = 'TPM BIOS and IMA Measurements';
`

// imaEntries is the length (after boot_aggregate) of the endpoints' IMA
// lists.
const imaEntries = 300

// newIMAEndpoint is newEndpoint with an IMA measurement list: a
// boot_aggregate over the TPM's PCR 0..9 (SHA-256 bank, as a kernel ≥ 5.8
// computes it) and n ima-ng entries of made-up files (imagen), written as
// binary_runtime_measurements and extended into PCR 10 of the SHA-1 and
// SHA-256 banks the way the kernel does (the SHA-1 template digest, the
// SHA-256 hash of the template data). The list has no ima-sig entries:
// strongSwan 5.9.8's IMC reads the ima and ima-ng templates only
// (pts_ima_event_list_create refuses any other with "unknown IMA type").
func newIMAEndpoint(t *testing.T, logPath string, n int) (*endpoint, imagen.Options) {
	t.Helper()
	return newIMAEndpointWith(t, logPath, imagen.Options{Entries: n, Seed: 23, Prefix: "/usr/lib/imchost-interop/f"})
}

// newIMAEndpointWith is newIMAEndpoint with the list shaped by o (its
// BootPCRs are the TPM's).
func newIMAEndpointWith(t *testing.T, logPath string, o imagen.Options) (*endpoint, imagen.Options) {
	t.Helper()
	e := newEndpoint(t, logPath)
	logger := hclog.New(&hclog.LoggerOptions{Name: "tpm", Level: hclog.Warn, Output: testutil.LogWriter(t)})
	tpm, err := tpmhost.Open(e.tpm.Spec, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	boot, err := tpm.ReadPCRs(tpmhost.AlgSHA256, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	if err != nil {
		t.Fatal(err)
	}
	n := o.Entries
	for i := 0; i <= 9; i++ {
		o.BootPCRs = append(o.BootPCRs, boot[i])
	}
	e.imaPath = filepath.Join(e.dir, "binary_runtime_measurements")
	if err := imagen.WriteFile(e.imaPath, o); err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= n; i++ {
		ent := o.Entry(i)
		for _, b := range []tpmhost.Alg{tpmhost.AlgSHA1, tpmhost.AlgSHA256} {
			d, err := tpmhost.IMADigest(ent, tpmhost.AlgSHA1, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := tpm.ExtendPCR(b, tpmhost.IMAPCR, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e, o
}

// imaChecked reports whether the PDP's log says it checked IMA entries:
// strongSwan's "processed N IMA file evidence measurements", ours "IMA: N
// entries" (boot_aggregate included).
func imaChecked(pdp anyPDP) bool {
	l := pdp.log()
	if pdp.ss != nil {
		return strings.Contains(l, "IMA file evidence measurements: ")
	}
	return strings.Contains(l, "IMA: ")
}

// TestIMA: an endpoint whose IMA list (300 files after boot_aggregate)
// replays to its PCR 10. A PDP that asks for the Linux IMA runtime
// evidence besides the boot evidence gets it, checks boot_aggregate against
// the boot PCRs and the list against the quoted PCR 10, and finds the
// endpoint compliant — first contact (learning) and again — in all four
// pairs, every IMV's verdict the same as strongSwan's with itself.
func TestIMA(t *testing.T) {
	p := needPeer(t)
	e, _ := newIMAEndpoint(t, bootLog, imaEntries)
	for _, pr := range allPairs {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{ima: true})
			for i := 1; i <= 2; i++ {
				o := attest(t, p, e, pr.client, pdp, clientOpts{})
				checkVerdicts(t, "client", o.verdicts, compliant)
				if o.recommendation != "Access Allowed" || (pr.client == imchostSide && o.code != 0) {
					t.Errorf("attestation %d: overall %q, %q (exit %d)", i, o.result, o.recommendation, o.code)
				}
				checkEvaluations(t, string(pr.pdp)+"'s PDP", pdp.log(), i, map[int]string{1: "compliant", 2: "compliant"})
				if !imaChecked(pdp) {
					t.Errorf("attestation %d: the PDP checked no IMA evidence", i)
				}
				if t.Failed() {
					t.Fatalf("attestation %d:\n%s\nPDP:\n%s", i, o.log, pdp.log())
				}
			}
		})
	}
}
