package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/imagen"
	"github.com/imchost/imchost/tpmhost"
)

// tamperedIMA writes a copy of the IMA list at src in which the file
// digest of entry i (1-based, after boot_aggregate) has its first byte
// flipped and its SHA-1 template digest made to fit: what an attacker who
// rewrites binary_runtime_measurements to hide a changed file produces. The
// TPM's PCR 10 keeps the true entries.
func tamperedIMA(t *testing.T, o imagen.Options, i int) string {
	t.Helper()
	var b []byte
	for j := 0; j <= o.Entries; j++ {
		ent := o.Entry(j)
		if j == i {
			d := ent.Fields[0]
			d[len(d)-32] ^= 0xff // the first byte of the sha256 digest after "sha256:\0"
			ent.Data = tpmhost.IMATemplateData(ent.Template, ent.Fields)
			h := tpmhost.AlgSHA1.Hash().New()
			h.Write(ent.Data)
			ent.Digest = h.Sum(nil)
		}
		b = tpmhost.AppendIMAEntry(b, ent)
	}
	out := filepath.Join(t.TempDir(), "tampered_runtime_measurements")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTamperedIMA: the IMA list says one thing, the TPM's PCR 10 (quoted)
// another — entry 137's file digest rewritten, its SHA-1 template digest
// recomputed to fit. Every PDP asking for IMA evidence refuses it: the
// Attestation IMV is not compliant and access is not allowed, whichever
// client sends it. (A PDP that does not ask for IMA, as before issue 23,
// allows the endpoint: the test fails there.)
func TestTamperedIMA(t *testing.T) {
	p := needPeer(t)
	e, o := newIMAEndpoint(t, bootLog, imaEntries)
	bad := tamperedIMA(t, o, 137)
	for _, pr := range allPairs {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{ima: true})
			// first contact with the true list: the PDP learns the device
			good := attest(t, p, e, pr.client, pdp, clientOpts{})
			checkVerdicts(t, "the true list", good.verdicts, compliant)
			out := attest(t, p, e, pr.client, pdp, clientOpts{imaPath: bad})
			checkRefused(t, "a tampered IMA list", out, pdp, pr.client == imchostSide)
		})
	}
}

// TestIMASignedToStrongSwan: an IMA list with ima-sig entries (every fourth
// file signed). imchost run sends their file digests and signatures in its
// vendor attribute besides strongSwan's evidence; strongSwan's PDP skips
// the attribute (no NOSKIP) and finds the endpoint compliant, as does ours.
// (strongSwan's own IMC cannot read such a list: it knows the ima and
// ima-ng templates only.)
func TestIMASignedToStrongSwan(t *testing.T) {
	p := needPeer(t)
	e, _ := newIMAEndpointWith(t, bootLog, imagen.Options{Entries: imaEntries, Seed: 29, SigEvery: 4, Prefix: "/usr/lib/imchost-interop/s"})
	for _, pr := range []pair{{imchostSide, strongSwanSide}, {imchostSide, imchostSide}} {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{ima: true})
			for i := 1; i <= 2; i++ {
				o := attest(t, p, e, pr.client, pdp, clientOpts{})
				checkVerdicts(t, "client", o.verdicts, compliant)
				if o.recommendation != "Access Allowed" || o.code != 0 {
					t.Errorf("attestation %d: overall %q, %q (exit %d)", i, o.result, o.recommendation, o.code)
				}
				if !strings.Contains(o.log, "signatures of 75 signed ima measurements") || !imaChecked(pdp) {
					t.Errorf("attestation %d: no signatures sent, or no IMA evidence checked", i)
				}
				if t.Failed() {
					t.Fatalf("attestation %d:\n%s\nPDP:\n%s", i, o.log, pdp.log())
				}
			}
		})
	}
}
