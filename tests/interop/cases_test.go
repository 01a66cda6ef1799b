package interop

import (
	"strings"
	"testing"
)

// bootLog is the boot event log most cases use: a crypto-agile log of 136
// events with a StartupLocality event (locality 3), as in the reference run.
const bootLog = "testdata/ubuntu_2104_shielded_vm_no_secure_boot_eventlog"

// Directions: who is the client and who the PDP.
const (
	toStrongSwan = "imchost-run-to-strongswan-pdp"
	toImchost    = "strongswan-client-to-imchost-pdp"
)

// compliant is what each IMV says of a healthy endpoint: IMC 1 (OS) by IMV
// 1, IMC 2 (Attestation) by IMV 2.
var compliant = []imvVerdict{{1, 1, "compliant"}, {2, 2, "compliant"}}

// checkVerdicts fails unless got holds want (in any order, nothing else).
func checkVerdicts(t *testing.T, who string, got, want []imvVerdict) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: IMV verdicts %v, want %v", who, got, want)
		return
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("%s: IMV verdicts %v, want %v", who, got, want)
			return
		}
	}
}

// checkEvaluations fails unless the PDP's last attestation evaluated as
// want (IMV id → evaluation).
func checkEvaluations(t *testing.T, who, log string, n int, want map[int]string) {
	t.Helper()
	evs := pdpEvaluations(log)
	if len(evs) != n {
		t.Errorf("%s logged %d sets of IMV evaluations, want %d", who, len(evs), n)
		if len(evs) == 0 {
			return
		}
	}
	last := evs[len(evs)-1]
	for id, ev := range want {
		if last[id] != ev {
			t.Errorf("%s: IMV %d evaluation %q, want %q (all: %v)", who, id, last[id], ev, last)
		}
	}
}

// TestCompliant: a healthy endpoint, first contact (the PDP learns its
// product, device, AK and boot measurements) then again (checked against
// what it learned): compliant and allowed both times, each IMV compliant,
// in both directions.
func TestCompliant(t *testing.T) {
	p := needPeer(t)
	t.Run(toStrongSwan, func(t *testing.T) {
		e := newEndpoint(t, bootLog)
		pdp := startStrongSwanPDP(t, p, ssPDPOptions{})
		for i := 1; i <= 2; i++ {
			r := imchostRun(t, e, pdp.port, pdp.pki.ca.file, imRunOptions{})
			if r.code != 0 || r.overall() != "compliant, Access Allowed" {
				t.Fatalf("attestation %d: exit %d, overall %q\n%s\n%s", i, r.code, r.overall(), r.stdout, r.stderr)
			}
			checkVerdicts(t, "imchost run", r.verdicts(), compliant)
			checkEvaluations(t, "strongSwan's PDP", pdp.log(), i, map[int]string{1: "compliant", 2: "compliant"})
		}
	})
	t.Run(toImchost, func(t *testing.T) {
		e := newEndpoint(t, bootLog)
		pdp := startImchostPDP(t, imPDPOptions{})
		for i := 1; i <= 2; i++ {
			out := ssClient(t, p, e, pdp.port, pdp.pki.ca.file, ssClientOptions{})
			checkVerdicts(t, "pt-tls-client", ssClientVerdicts(out), compliant)
			checkEvaluations(t, "imchost pdp serve", pdp.log(), i, map[int]string{1: "compliant", 2: "compliant"})
			if t.Failed() {
				t.Fatalf("attestation %d:\n%s", i, out)
			}
		}
	})
}

var _ = strings.Contains

// TestForwarding: IP forwarding on. Every pair — strongSwan's client
// against strongSwan's PDP giving the reference — ends the same: the OS
// IMV non-compliant with the same remediation text, the Attestation IMV
// compliant, access not allowed (imchost run exits 3).
func TestForwarding(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	got := map[pair]outcome{}
	for _, pr := range allPairs {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{})
			o := attest(t, p, e, pr.client, pdp, clientOpts{forwarding: true})
			got[pr] = o
			if pr.client == imchostSide && o.code != 3 {
				t.Errorf("imchost run exit %d, want 3", o.code)
			}
			if o.recommendation == "" || strings.Contains(o.recommendation, "Allowed") || strings.Contains(o.recommendation, "allowed") {
				t.Errorf("recommendation %q, want access not allowed", o.recommendation)
			}
			if len(o.remediation) == 0 || !strings.Contains(strings.Join(o.remediation, "|"), "Please disable the forwarding of IP packets") {
				t.Errorf("remediation %q lacks the forwarding text", o.remediation)
			}
			if t.Failed() {
				t.Logf("client output:\n%s", o.log)
			}
		})
	}
	ref, ok := got[pair{strongSwanSide, strongSwanSide}]
	if !ok {
		t.Fatal("no reference outcome")
	}
	for pr, o := range got {
		checkVerdicts(t, pr.String(), o.verdicts, ref.verdicts)
		if o.result != ref.result {
			t.Errorf("%s: overall result %q, strongSwan with itself %q", pr, o.result, ref.result)
		}
		if strings.Join(o.remediation, "|") != strings.Join(ref.remediation, "|") {
			t.Errorf("%s: remediation %q, strongSwan with itself %q", pr, o.remediation, ref.remediation)
		}
	}
}
