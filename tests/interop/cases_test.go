package interop

import (
	"crypto/x509"
	"github.com/imchost/imchost/internal/testutil"
	"path/filepath"
	"strings"
	"testing"
)

// bootLog is the boot event log most cases use: a crypto-agile log of 136
// events with a StartupLocality event (locality 3), as in the reference run.
var bootLog = testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog")

// sha1Log is a legacy (TCG 1.2 format) log: SHA-1 digests only.
var sha1Log = testutil.Data("eventlogs", "event-uefi-sha1-log.bin")

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
	for _, pr := range crossPairs {
		t.Run(pr.String(), func(t *testing.T) {
			e := newEndpoint(t, bootLog)
			pdp := startPDP(t, p, pr.pdp, pdpOpts{})
			for i := 1; i <= 2; i++ {
				o := attest(t, p, e, pr.client, pdp, clientOpts{})
				checkVerdicts(t, "client", o.verdicts, compliant)
				if o.result != "compliant" || o.recommendation != "Access Allowed" || (pr.client == imchostSide && o.code != 0) {
					t.Errorf("overall %q, %q (exit %d)", o.result, o.recommendation, o.code)
				}
				checkEvaluations(t, string(pr.pdp)+"'s PDP", pdp.log(), i, map[int]string{1: "compliant", 2: "compliant"})
				if t.Failed() {
					t.Fatalf("attestation %d:\n%s\nPDP:\n%s", i, o.log, pdp.log())
				}
			}
		})
	}
}

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

// checkRefused checks that the Attestation IMV (IMV 2) did not find what
// (a tampered log, list or file) compliant and that access was not
// allowed; with imchostExit, that imchost run exited 3 (the PDP refused).
// On failure it logs the client's and the PDP's output.
func checkRefused(t *testing.T, what string, o outcome, pdp anyPDP, imchostExit bool) {
	t.Helper()
	for _, v := range o.verdicts {
		if v.imv == 2 && v.result == "compliant" {
			t.Errorf("the Attestation IMV found %s compliant", what)
		}
	}
	if !notAllowed(o.recommendation) {
		t.Errorf("recommendation %q for %s", o.recommendation, what)
	}
	if imchostExit && o.code != 3 {
		t.Errorf("imchost run exit %d, want 3 (the PDP refused)", o.code)
	}
	if t.Failed() {
		t.Logf("client:\n%s\nPDP:\n%s", o.log, pdp.log())
	}
}

// notAllowed reports whether a recommendation denies or restricts access
// (the names differ: strongSwan's client logs "Access Denied", imchost
// prints "Access Denied" or "Quarantined").
func notAllowed(rec string) bool {
	return rec != "" && !strings.Contains(strings.ToLower(rec), "allow")
}

// TestTamperedBootLog: the event log says one thing, the TPM's PCRs
// (quoted) another — an event of PCR 4 rewritten. Both PDPs refuse: the
// Attestation IMV's verdict is not compliant and access is not allowed,
// whichever client sends it.
func TestTamperedBootLog(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	bad := tamperedLog(t, bootLog, 4)
	for _, pr := range allPairs {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{})
			o := attest(t, p, e, pr.client, pdp, clientOpts{logPath: bad})
			checkRefused(t, "a tampered boot log", o, pdp, pr.client == imchostSide)
		})
	}
}

// TestSASLPlain: a PDP that asks for a user name and password (SASL PLAIN,
// RFC 6876 §3.8.4; strongSwan's PDP takes them from its EAP secrets):
// each client authenticates and is assessed compliant; a wrong password
// is refused before any assessment.
func TestSASLPlain(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	for _, pr := range crossPairs {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{users: defaultUser})
			o := attest(t, p, e, pr.client, pdp, clientOpts{})
			checkVerdicts(t, "client", o.verdicts, compliant)
			if o.recommendation != "Access Allowed" {
				t.Errorf("recommendation %q\n%s", o.recommendation, o.log)
			}
			wrong := []string{"--client", "alice", "--secret", "wrong"}
			o = attest(t, p, e, pr.client, pdp, clientOpts{noSASL: true, imArgs: wrong, ssArgs: wrong})
			if len(o.verdicts) != 0 || o.recommendation != "" {
				t.Errorf("a wrong password was assessed: %+v", o)
			}
			if pr.client == imchostSide && (o.code != 1 || !strings.Contains(o.log, "refused")) {
				t.Errorf("imchost run with a wrong password: exit %d\n%s", o.code, o.log)
			}
		})
	}
}

// TestClientCertificate: a PDP that asks for credentials gets a TLS client
// certificate instead (issued by an RSA CA the PDP trusts) and skips SASL;
// the client is assessed compliant.
func TestClientCertificate(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	dir := t.TempDir()
	cca := newCA(t, dir, "endpoint-ca", rsaKeys)
	cert := cca.issue(t, dir, "endpoint.test", rsaKeys, []string{"endpoint.test"}, x509.ExtKeyUsageClientAuth)
	for _, pr := range crossPairs {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{clientCA: cca.file})
			o := attest(t, p, e, pr.client, pdp, clientOpts{noSASL: true,
				imArgs: []string{"--cert", cert.certFile, "--key", cert.keyFile},
				ssArgs: []string{"--cert", cert.certFile, "--key", cert.keyFile}})
			checkVerdicts(t, "client", o.verdicts, compliant)
			if o.recommendation != "Access Allowed" {
				t.Errorf("recommendation %q\n%s\nPDP:\n%s", o.recommendation, o.log, pdp.log())
			}
			if pr.pdp == strongSwanSide && !strings.Contains(pdp.log(), "authenticated by certificate") {
				t.Errorf("strongSwan's PDP did not authenticate the client by its certificate:\n%s", pdp.log())
			}
		})
	}
}

// TestAKCertificate: the Attestation IMC sends the AK as an X.509
// certificate (aik_cert) issued by a CA the PDP trusts for AKs; the PDP
// trusts it by its chain and the client is compliant. strongSwan's IMV also
// wants the device marked trusted in its database (done after a first
// contact with the bare public key).
func TestAKCertificate(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	dir := t.TempDir()
	akca := newCA(t, dir, "ak-ca", ecdsaKeys)
	akCert := testutil.WritePEM(t, filepath.Join(dir, "ak.pem"), "CERTIFICATE", akca.Sign(t, "ak", e.ak.Public, nil))
	for _, pr := range crossPairs {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{akCA: akca.file, imPolicy: "learn_aks = false\n"})
			if pr.pdp == strongSwanSide {
				o := attest(t, p, e, pr.client, pdp, clientOpts{})
				checkVerdicts(t, "first contact with the public key", o.verdicts, compliant)
				pdp.ss.exec(t, "UPDATE devices SET trusted = 1 WHERE value = ?", e.ak.KeyID)
			}
			o := attest(t, p, e, pr.client, pdp, clientOpts{aikCert: akCert})
			checkVerdicts(t, "client", o.verdicts, compliant)
			if !strings.Contains(pdp.log(), "AIK certificate is trusted") {
				t.Errorf("the PDP did not trust the AK certificate:\n%s", pdp.log())
			}
			if t.Failed() {
				t.Logf("client:\n%s", o.log)
			}
		})
	}
}

// cdataBatches counts the CDATA batches a client's --debug 2 log shows.
func cdataBatches(log string) int { return strings.Count(log, "sending PB-TNC CDATA batch") }

// TestLongBootLog: a boot log of 1,106 events (the bundled one plus GRUB
// command lines in PCR 8), whose evidence (~95 KB) is larger than IF-T for
// EAP's PA-TNC message limit (65,490 bytes). Compliant in both directions,
// first contact and again. Over PT-TLS strongSwan's client takes PT-TLS's
// limits (2,097,104 bytes) and sends the whole evidence in one message:
// imchost run, against the same strongSwan PDP, must need no more batches
// than it (the PDP, having seen the device, asks both the same). With the
// PA-TNC message limit lowered to strongSwan's IF-T/EAP value (32,722
// bytes) the evidence goes in TCG segments (PA-TNC segmentation contract)
// and is still compliant, each side's IMV reassembling what the other
// side's IMC cut.
func TestLongBootLog(t *testing.T) {
	p := needPeer(t)
	long := longLog(t, bootLog, 970)
	e := newEndpoint(t, long)
	t.Run(pair{imchostSide, strongSwanSide}.String(), func(t *testing.T) {
		pdp := startPDP(t, p, strongSwanSide, pdpOpts{})
		var last outcome
		for i := 0; i < 2; i++ {
			last = attest(t, p, e, imchostSide, pdp, clientOpts{})
			checkVerdicts(t, "imchost run", last.verdicts, compliant)
			if t.Failed() {
				t.Fatalf("client:\n%s\nPDP:\n%s", last.log, pdp.log())
			}
		}
		ref := attest(t, p, e, strongSwanSide, pdp, clientOpts{})
		checkVerdicts(t, "pt-tls-client after imchost run", ref.verdicts, compliant)
		if got, want := cdataBatches(last.log), cdataBatches(ref.log); got != want || want == 0 {
			t.Errorf("imchost run sent %d CDATA batches, strongSwan's client %d", got, want)
		}
	})
	t.Run(pair{strongSwanSide, imchostSide}.String(), func(t *testing.T) {
		pdp := startPDP(t, p, imchostSide, pdpOpts{})
		for i := 0; i < 2; i++ {
			o := attest(t, p, e, strongSwanSide, pdp, clientOpts{})
			checkVerdicts(t, "pt-tls-client", o.verdicts, compliant)
			if t.Failed() {
				t.Fatalf("client:\n%s\nPDP:\n%s", o.log, pdp.log())
			}
		}
	})
	// imchost with itself: the same one-message evidence must pass our own
	// PDP (it once answered a fatal PB-TNC Invalid Parameter, having gone
	// back to IF-T for EAP's 65,522-byte batches while the client used
	// PT-TLS's).
	t.Run(pair{imchostSide, imchostSide}.String(), func(t *testing.T) {
		pdp := startPDP(t, p, imchostSide, pdpOpts{})
		o := attest(t, p, e, imchostSide, pdp, clientOpts{})
		checkVerdicts(t, "imchost run", o.verdicts, compliant)
		if t.Failed() {
			t.Logf("client:\n%s\nPDP:\n%s", o.log, pdp.log())
		}
	})
	t.Run("segmented", func(t *testing.T) {
		t.Run(pair{imchostSide, strongSwanSide}.String(), func(t *testing.T) {
			pdp := startPDP(t, p, strongSwanSide, pdpOpts{})
			o := attest(t, p, e, imchostSide, pdp, clientOpts{imTNCCS: map[string]any{"max_message_size": 32722, "max_batch_size": 32754}})
			checkVerdicts(t, "imchost run", o.verdicts, compliant)
			if !strings.Contains(pdp.log(), "segment") {
				t.Errorf("strongSwan's IMV saw no segments")
			}
			if t.Failed() {
				t.Logf("client:\n%s\nPDP:\n%s", o.log, pdp.log())
			}
		})
		t.Run(pair{strongSwanSide, imchostSide}.String(), func(t *testing.T) {
			pdp := startPDP(t, p, imchostSide, pdpOpts{imMaxMsg: 32722})
			o := attest(t, p, e, strongSwanSide, pdp, clientOpts{})
			checkVerdicts(t, "pt-tls-client", o.verdicts, compliant)
			if !strings.Contains(o.log, "segment") {
				t.Errorf("strongSwan's IMC cut no segments")
			}
			if t.Failed() {
				t.Logf("client:\n%s\nPDP:\n%s", o.log, pdp.log())
			}
		})
	})
}

// TestSHA1OnlyBootLog: a TPM 2.0 machine whose firmware measured into the
// SHA-1 bank only (a real legacy SHA-1 log's events in the crypto-agile
// format with SHA-1 its only algorithm). strongSwan's client must be told
// hash_algorithm = sha1; imchost run's shipped configuration must work as
// it is.
func TestSHA1OnlyBootLog(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, sha1AgileLog(t, sha1Log))
	for _, pr := range crossPairs {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{})
			o := attest(t, p, e, pr.client, pdp, clientOpts{ssHash: "sha1"})
			checkVerdicts(t, "client", o.verdicts, compliant)
			if t.Failed() {
				t.Logf("client:\n%s\nPDP:\n%s", o.log, pdp.log())
			}
		})
	}
	// Told hash_algorithm = "sha1", imchost run is compliant already.
	t.Run("imchost-client-with-sha1-setting-to-strongSwan-pdp", func(t *testing.T) {
		pdp := startPDP(t, p, strongSwanSide, pdpOpts{})
		o := attest(t, p, e, imchostSide, pdp, clientOpts{imSettings: map[string]string{"hash_algorithm": "sha1"}})
		checkVerdicts(t, "imchost run", o.verdicts, compliant)
		if t.Failed() {
			t.Logf("client:\n%s\nPDP:\n%s", o.log, pdp.log())
		}
	})
}

// TestECDSAOnlyPDP: the PDP's PKI is ECDSA only (CA and server key).
// strongSwan's TLS server then sends a TLS 1.3 CertificateRequest whose
// certificate_authorities extension is empty (it lists RSA CAs only); a
// client must still connect and be assessed.
func TestECDSAOnlyPDP(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	for _, pr := range allPairs {
		t.Run(pr.String(), func(t *testing.T) {
			pdp := startPDP(t, p, pr.pdp, pdpOpts{keys: ecdsaKeys})
			o := attest(t, p, e, pr.client, pdp, clientOpts{})
			checkVerdicts(t, "client", o.verdicts, compliant)
			if o.recommendation != "Access Allowed" {
				t.Errorf("recommendation %q", o.recommendation)
			}
			if t.Failed() {
				t.Logf("client:\n%s\nPDP:\n%s", o.log, pdp.log())
			}
		})
	}
}
