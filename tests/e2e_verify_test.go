package tests

// What the PDP must refuse: evidence changed after learning, an AK it does
// not know, a quote replayed from an earlier run.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tpmhost"
)

// tampered is a copy of a boot log with one event's SHA-256 digest changed.
type tampered struct {
	path   string
	pcr    int
	digest []byte // the changed digest
}

// tamperLog copies the log at src with the SHA-256 digest of its first
// EV_EFI_BOOT_SERVICES_APPLICATION event in PCR 4 (the boot loader) changed
// in its last byte: what a replaced boot loader looks like.
func tamperLog(t testing.TB, src string) tampered {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tpmhost.ParseEventLog(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range l.Events {
		d, ok := ev.Digest(tpmhost.AlgSHA256)
		if ev.PCR != 4 || ev.Type != tpmhost.EvEFIBootServicesApplication || !ok {
			continue
		}
		i := bytes.Index(raw[ev.Offset:], d)
		if i < 0 {
			t.Fatalf("event %d: digest not found in its record", ev.Seq)
		}
		out := bytes.Clone(raw)
		out[ev.Offset+i+len(d)-1] ^= 0xff
		path := filepath.Join(t.TempDir(), "tampered_eventlog")
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		// The copy must parse, and differ in exactly that digest.
		l2, err := tpmhost.ReadEventLog(path)
		if err != nil {
			t.Fatal(err)
		}
		nd, _ := l2.Events[ev.Seq].Digest(tpmhost.AlgSHA256)
		if bytes.Equal(nd, d) || len(l2.Events) != len(l.Events) {
			t.Fatal("tampering did not change the digest")
		}
		return tampered{path: path, pcr: int(ev.PCR), digest: nd}
	}
	t.Fatal("no boot loader event in PCR 4")
	return tampered{}
}

// measurementOf finds the Simple Component Evidence the client sent with
// digest d and returns its position (1-based, the PDP's numbering) and PCR.
func measurementOf(t testing.TB, rec *recorder, d []byte) (seq, pcr int) {
	t.Helper()
	n := 0
	for _, a := range rec.attrs(true) {
		e, ok := a.(*patnc.SimpleCompEvid)
		if !ok {
			continue
		}
		n++
		if bytes.Equal(e.Measurement, d) {
			return n, int(e.PCR)
		}
	}
	t.Fatalf("no evidence with digest %x sent", d)
	return 0, 0
}

// testTamperedLog: after learning, the host reports a log with one digest
// changed while the TPM's PCRs still hold the real boot: the replay no
// longer gives the quoted PCRs, and the changed measurement is named.
func testTamperedLog(t *testing.T, env *tpmEnv) {
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
	root := fixtureRoot(t, false)
	h := newHost(t, env.platform(t, root), imcConfigs(t, env.logPath))
	if res, out := attestOK(t, p, h, nil, 1); res.Recommendation != pb.RecommendationAllowed {
		t.Fatalf("learning run: %+v %+v", res, out.Verdict)
	}

	bad := tamperLog(t, env.logPath)
	h2 := newHost(t, env.platform(t, root), imcConfigs(t, bad.path))
	rec := &recorder{}
	res, out := attestOK(t, p, h2, rec, 2)
	seq, pcr := measurementOf(t, rec, bad.digest)
	if pcr != bad.pcr {
		t.Fatalf("evidence %d was sent for PCR %d, the event is in PCR %d", seq, pcr, bad.pcr)
	}
	want := []string{"received PCR Composite digest does not match constructed one",
		fmt.Sprintf("PCR %d measurement %d differs", pcr, seq)}
	checkRefused(t, res, out, pdp.NonCompliantMinor, want)
}

// testRemeasured: after learning, the machine reboots with a changed boot
// loader; the PCRs hold the new boot and the log describes it, so the quote
// verifies, but the measurement differs from the learned one and is named.
func testRemeasured(t *testing.T, env *tpmEnv) {
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
	root := fixtureRoot(t, false)
	h := newHost(t, env.platform(t, root), imcConfigs(t, env.logPath))
	if res, out := attestOK(t, p, h, nil, 1); res.Recommendation != pb.RecommendationAllowed {
		t.Fatalf("learning run: %+v %+v", res, out.Verdict)
	}
	h.Close(context.Background())

	bad := tamperLog(t, env.logPath)
	env.reboot(t)
	env.extend(t, bad.path)
	h2 := newHost(t, env.platform(t, root), imcConfigs(t, bad.path))
	rec := &recorder{}
	res, out := attestOK(t, p, h2, rec, 2)
	seq, pcr := measurementOf(t, rec, bad.digest)
	checkRefused(t, res, out, pdp.NonCompliantMinor, []string{fmt.Sprintf("PCR %d measurement %d differs", pcr, seq)})
}

// checkRefused checks a verdict of the Attestation IMV alone: the result,
// quarantine, and exactly the reasons, on both sides.
func checkRefused(t testing.TB, res *tnccs.Result, out pdp.Outcome, result pdp.Result, reasons []string) {
	t.Helper()
	v := out.Verdict
	if res.AssessmentResult != pb.AssessmentResult(result) || res.Recommendation != pb.RecommendationQuarantined ||
		v.Result != result || v.Access != pdp.Quarantined {
		t.Errorf("client %+v; PDP verdict %+v", res, v)
	}
	if !slices.Equal(reasonTexts(res), reasons) || !slices.Equal(v.Reasons, reasons) {
		t.Errorf("reasons: client %q, PDP %q; want %q", reasonTexts(res), v.Reasons, reasons)
	}
	if len(v.IMVs) != 2 || v.IMVs[0].Result != pdp.Compliant || v.IMVs[1].Result != result {
		t.Errorf("IMV verdicts %+v", v.IMVs)
	}
}

// testUnknownAK: a PDP that does not learn AKs refuses an AK it was not
// given, right after the AIK, without asking for evidence.
func testUnknownAK(t *testing.T, env *tpmEnv) {
	pol := pdp.DefaultPolicy()
	pol.LearnAKs = false
	p := startPDP(t, pdp.Config{Policy: pol, Referral: &pdp.Referral{Host: pdpName, Port: 271}})
	h := newHost(t, env.platform(t, fixtureRoot(t, false)), imcConfigs(t, env.logPath))
	rec := &recorder{}
	res, out := attestOK(t, p, h, rec, 1)
	why := "unknown AK " + env.ak.KeyID
	checkRefused(t, res, out, pdp.NonCompliantMinor, []string{why})
	want := append(transcriptTable(false)[:7],
		fmt.Sprintf(` 8 S→C RESULT | PB-PA, PB-Assessment-Result (non-compliant minor), PB-Access-Recommendation (Quarantined), `+
			`PB-Reason-String (%q) | TCG/PTS: IETF Assessment Result (non-compliant minor)`, why),
		" 9 C→S CLOSE | – | –")
	checkTable(t, rec, want)
}

// replayTPM is the production TPM of the platform, except that once armed
// its tpm_quote returns the first quote it made: a quote replayed from an
// earlier run, signed by the right AK over the right PCRs, with that run's
// nonce.
type replayTPM struct {
	capability.TPM
	mu    sync.Mutex
	armed bool
	first *abi.Quote
}

// Quote implements capability.TPM.
func (r *replayTPM) Quote(ctx context.Context, req abi.QuoteRequest) (abi.Quote, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.armed && r.first != nil {
		return *r.first, nil
	}
	q, err := r.TPM.Quote(ctx, req)
	if err == nil && r.first == nil {
		r.first = &q
	}
	return q, err
}

// testStaleNonce: the first run is compliant; the second one's quote is
// the first's (stale qualifying data), which the PDP rejects although the
// AK, the PCRs and the evidence are those it learned.
func testStaleNonce(t *testing.T, env *tpmEnv) {
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
	plat := env.platform(t, fixtureRoot(t, false))
	rt := &replayTPM{TPM: plat.TPM}
	plat.TPM = rt
	h := newHost(t, plat, imcConfigs(t, env.logPath))
	if res, out := attestOK(t, p, h, nil, 1); res.Recommendation != pb.RecommendationAllowed {
		t.Fatalf("first run: %+v %+v", res, out.Verdict)
	}
	rt.mu.Lock()
	rt.armed = true
	rt.mu.Unlock()
	res, out := attestOK(t, p, h, nil, 2)
	checkRefused(t, res, out, pdp.NonCompliantMinor, []string{"quote signature invalid"})
}
