package tests

// Tests of the gaps a real strongSwan peer showed (issue 18): what
// imchost does differently from strongSwan's client where both talk to the
// same PDP.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/internal/swtpm"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tpmhost"
)

// largeLog writes a copy of the bundled boot log grown to at least n
// events by repeating one of its PCR 9 measurements (an event record is
// self-contained, so the copy parses and replays like a real log of a
// machine that measured that much) and returns its path.
func largeLog(t testing.TB, n int) string {
	t.Helper()
	raw, err := os.ReadFile(bundledLog)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tpmhost.ParseEventLog(raw)
	if err != nil {
		t.Fatal(err)
	}
	var rec []byte
	for i, ev := range l.Events[:len(l.Events)-1] {
		if ev.PCR == 9 && ev.Type != tpmhost.EvNoAction {
			rec = raw[ev.Offset:l.Events[i+1].Offset]
			break
		}
	}
	if rec == nil {
		t.Fatal("no PCR 9 event in the bundled log")
	}
	out := bytes.Clone(raw)
	for k := len(l.Events); k < n; k++ {
		out = append(out, rec...)
	}
	path := filepath.Join(t.TempDir(), "large_eventlog")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if l2, err := tpmhost.ReadEventLog(path); err != nil || len(l2.Events) < n {
		t.Fatalf("grown log: %v", err)
	}
	return path
}

// TestCLIPTTLSLimits: over PT-TLS, imchost run uses PT-TLS's limits as
// strongSwan's pt-tls-client does (PA-TNC messages up to 2097104 bytes),
// not IF-T for EAP's (65490): the evidence of a 1,105-event boot log goes
// in one CDATA batch, no segmentation round trip, and the PDP decides.
func TestCLIPTTLSLimits(t *testing.T) {
	e := newCLIEnvLog(t, largeLog(t, 1105))
	r := e.run(t, e.tpm.inst.Spec, fixtureRoot(t, false), nil, "--debug", "2")
	if r.code != exitAllowed {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr (end):\n%s", r.code, exitAllowed, r.stdout, tail(r.stderr, 40))
	}
	sent := regexp.MustCompile(`(?m)^\[TNC\] sending PB-TNC (\w+) batch \((\d+) bytes\)`).FindAllStringSubmatch(r.stderr, -1)
	var cdata, largest int
	for _, m := range sent {
		if m[1] == "CDATA" {
			cdata++
			n, _ := strconv.Atoi(m[2])
			largest = max(largest, n)
		}
	}
	// OS attributes, PTS capabilities, DH nonce, TPM version and AK, then
	// the evidence: five CDATA batches, as strongSwan's client sends them.
	if cdata != 5 {
		t.Errorf("%d CDATA batches, want 5 (evidence segmented?)", cdata)
	}
	if largest <= 65522 {
		t.Errorf("largest CDATA batch %d bytes: the evidence was cut to IF-T for EAP's limit", largest)
	}
	if strings.Contains(r.stderr, "lowered maximum segment size") {
		t.Errorf("the Attestation IMC lowered PT-TLS's maximum segment size:\n%s", grepLines(r.stderr, "segment"))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []byte
	for _, l := range bytes.Split([]byte(s), []byte("\n")) {
		if bytes.Contains(l, []byte(sub)) {
			out = append(append(out, l...), '\n')
		}
	}
	return string(out)
}

// TestCLIPTTLSClientCommandLine: a command line written for strongSwan's
// pt-tls-client works for imchost run with the same meaning — -x/--cert
// repeated loads certificates to trust (the PDP's CA) and, with -k/--key,
// the client's own; -i/-s are SASL PLAIN; --optionsfrom reads the same from
// a file; getopt's joined forms (-cHOST, -d1). A --cert that is not the
// key's and no CA of the PDP's fail with words that say so.
func TestCLIPTTLSClientCommandLine(t *testing.T) {
	e := newCLIEnv(t)
	dir := t.TempDir()
	clientCA, cert, key := clientCertFiles(t, dir)
	p := startPDPProcess(t, "--user", "alice:s3cret", "--client-ca", clientCA)
	_, port, _ := net.SplitHostPort(p.addr)
	// No --ca: what pt-tls-client users pass, and nothing else.
	base := func(extra ...string) []string {
		return append([]string{"run", "--config", e.cfg, "--tpm", e.tpm.inst.Spec, "--root", fixtureRoot(t, false),
			"--eventlog", e.logs}, extra...)
	}
	const allowed = "overall: compliant, Access Allowed"
	out := runCLI(t, 0, base("-c", "127.0.0.1", "-p", port, "-x", p.caFile, "-x", cert, "-k", key, "-t", "ecdsa", "-d", "1")...)
	if !strings.Contains(out, allowed) {
		t.Errorf("-x CA -x cert -k key:\n%s", out)
	}
	if !strings.Contains(p.logs.String(), "client already authenticated by TLS certificate") {
		t.Errorf("the PDP did not see the client certificate:\n%s", p.logs.String())
	}
	out = runCLI(t, 0, base("-c127.0.0.1", "-p"+port, "--cert="+p.caFile, "-i", "alice", "-s", "s3cret", "-q")...)
	if !strings.Contains(out, allowed) {
		t.Errorf("-x CA -i -s:\n%s", out)
	}
	opts := filepath.Join(dir, "pt-tls-client.opts")
	text := fmt.Sprintf("--connect 127.0.0.1 --port %s\n--cert '%s'\n--cert \"%s\" --key %s\n", port, p.caFile, cert, key)
	if err := os.WriteFile(opts, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := runCLI(t, 0, base("--optionsfrom", opts)...); !strings.Contains(out, allowed) {
		t.Errorf("--optionsfrom:\n%s", out)
	}
	// The client certificate is the --cert that belongs to the key; the CA
	// alone is not, and without the PDP's CA the PDP is not trusted.
	out = runCLI(t, 1, base("-c", "127.0.0.1", "-p", port, "-x", p.caFile, "-k", key)...)
	if !strings.Contains(out, "none of the --cert certificates") {
		t.Errorf("a key without its certificate:\n%s", out)
	}
	out = runCLI(t, 1, base("-c", "127.0.0.1", "-p", port, "-x", cert, "-k", key)...)
	if !strings.Contains(out, "certificate signed by unknown authority") {
		t.Errorf("no CA of the PDP's:\n%s", out)
	}
	out = runCLI(t, 1, base("-c", "127.0.0.1", "-p", port, "-x", p.caFile, "-x", cert, "-k", key, "--key-type", "rsa")...)
	if !strings.Contains(out, "is not an RSA key (--key-type rsa)") {
		t.Errorf("--key-type rsa with an ECDSA key:\n%s", out)
	}
}

// TestCLISHA1OnlyLog: on a machine whose boot log has only SHA-1 digests
// (a real legacy TCG_PCR_EVENT log) and whose TPM has SHA-1 and SHA-256
// banks, the shipped config (hash_algorithm = "auto") selects SHA-1, says
// why, and the PDP finds the machine compliant — with "sha256", strongSwan's
// and the old default, the IMC picked SHA-256, for which the log has no
// evidence. When nothing fits (hash_algorithm = "sha1", a SHA-256-only log)
// the error names the setting.
func TestCLISHA1OnlyLog(t *testing.T) {
	needModules(t)
	imchostBinary(t)
	sha1Log, err := filepath.Abs(testutil.Data("eventlogs", "event-uefi-sha1-log.bin"))
	if err != nil {
		t.Fatal(err)
	}
	inst := swtpm.Start(t) // locality 0: the log has no StartupLocality event
	tpm, err := tpmhost.Open(inst.Spec, testLogger(t, "tpm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ProvisionAK(akHandle, tpmhost.AKECCP256, false); err != nil {
		t.Fatal(err)
	}
	l, err := tpmhost.ReadEventLog(sha1Log)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Banks) != 1 || l.Banks[0] != tpmhost.AlgSHA1 {
		t.Fatalf("%s: banks %v, want sha1 only", sha1Log, l.Banks)
	}
	if _, err := tpm.ExtendFromLog(l); err != nil {
		t.Fatal(err)
	}
	if loc, matched, err := tpm.StartupLocality(l, tpmhost.AlgSHA1); err != nil || !matched || loc != 0 {
		t.Fatalf("SHA-1 replay: locality %d, matched %v: %v", loc, matched, err)
	}
	tpm.Close()
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy()})
	_, port, _ := net.SplitHostPort(p.addr)
	run := func(code int, logPath string, settings map[string]string) string {
		t.Helper()
		imcs := imcConfigs(t, logPath)
		for k, v := range settings {
			imcs[1].Settings[k] = v
		}
		cfg := filepath.Join(t.TempDir(), "config.toml")
		writeConfig(t, cfg, imcs, cacheDir)
		return runCLI(t, code, "run", "--config", cfg, "-c", "127.0.0.1", "-p", port, "--ca", p.caPEM,
			"--tpm", inst.Spec, "--eventlog", logPath, "--root", fixtureRoot(t, false), "--debug", "1")
	}
	if h := imcConfigs(t, sha1Log)[1].Settings["hash_algorithm"]; h != "auto" {
		t.Fatalf("the shipped config has hash_algorithm %q, want auto", h)
	}
	out := run(0, sha1Log, nil)
	for _, want := range []string{
		`(?m)\] hash_algorithm auto: the TPM has PCR banks (HASH_SHA2_\d+ )+HASH_SHA1, the boot log digests HASH_SHA1$`,
		`(?m)\] selected PTS measurement algorithm is HASH_SHA1$`,
		`(?m)^overall: compliant, Access Allowed$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("SHA-1-only log, hash_algorithm auto: nothing matches %q in\n%s", want, out)
		}
	}
	sha256Log, err := filepath.Abs(testutil.Data("eventlogs", "crypto_agile_eventlog"))
	if err != nil {
		t.Fatal(err)
	}
	out = run(exitNotAllowed, sha256Log, map[string]string{"hash_algorithm": "sha1"})
	want := `no PTS measurement algorithm fits: the PDP offers HASH_SHA2_384 HASH_SHA2_256 HASH_SHA1; the TPM has PCR banks (HASH_SHA2_\d+ )+HASH_SHA1, ` +
		`the boot log digests HASH_SHA2_256; hash_algorithm = "sha1" allows HASH_SHA1\. Set hash_algorithm in the Attestation IMC's \[imc.settings\]`
	if !regexp.MustCompile(want).MatchString(out) || strings.Contains(out, "overall: compliant") {
		t.Errorf("nothing fits: nothing matches %q in\n%s", want, out)
	}
}

// logNormalizers replace what differs between two runs of the same flow on
// different machines: message IDs, sizes, PCR values, paths, hosts.
var logNormalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`with ID 0x[0-9a-f]{8}`), "with ID 0x*"},
	{regexp.MustCompile(`\(\d+ bytes\)`), "(* bytes)"},
	{regexp.MustCompile(`(=> \d+ bytes) @ 0x[0-9a-f]+`), "$1"},
	{regexp.MustCompile(`^\[PTS\] PCR +(\d+) [0-9a-f:]+  `), "[PTS] PCR $1 *  "},
	{regexp.MustCompile(`loaded bios measurements '.*' \(\d+ entries\)`), "loaded bios measurements '*' (* entries)"},
	{regexp.MustCompile(`PDP server '.*' is listening on port \d+`), "PDP server '*' is listening on port *"},
	{regexp.MustCompile(`maximum segment size of \d+ bytes`), "maximum segment size of * bytes"},
}

func normalizeLogLine(l string) string {
	for _, n := range logNormalizers {
		l = n.re.ReplaceAllString(l, n.with)
	}
	return l
}

// TestLogsReadLikeStrongSwan: `imchost run --debug 2` prints the lines
// strongSwan's attestation client prints for the same exchange, in the
// same order and under the same tags ([TNC] for PB-TNC and PA-TNC, [IMC],
// [PTS] for the TPM evidence and the quote dumps) — tests/testdata/
// strongswan-client-log.txt, from the reference run — with nothing
// between them that strongSwan does not say twice: each IMC's receipt of
// a message and the OS IMC's start-up once, no key=value tails, no line
// for an optional setting left out.
func TestLogsReadLikeStrongSwan(t *testing.T) {
	raw, err := os.ReadFile("testdata/strongswan-client-log.txt")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, normalizeLogLine(l))
		}
	}
	e := newCLIEnv(t)
	// strongSwan's PDP sent a PB-PDP-Referral: so does this one.
	e.pdp = startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(), Referral: &pdp.Referral{Host: pdpName, Port: 271}})
	r := e.run(t, e.tpm.inst.Spec, fixtureRoot(t, false), nil, "--debug", "2")
	if r.code != exitAllowed {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	got := strings.Split(r.stderr, "\n")
	i := 0
	for _, l := range got {
		if i < len(want) && normalizeLogLine(l) == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("strongSwan's line %d of %d is missing or out of order:\n  %s\nafter\n  %s\nour log:\n%s",
			i+1, len(want), want[i], strings.Join(want[max(0, i-3):i], "\n  "), r.stderr)
	}
	count := func(sub string) int { return strings.Count(r.stderr, sub) }
	if n := count(`IMC 1 "OS" received message for Connection ID 1 from IMV 1`); n != 1 {
		t.Errorf("the OS IMC's receipt printed %d times, want once", n)
	}
	if n := count(`IMC 1 "OS" initialized`); n != 1 {
		t.Errorf(`"IMC 1 "OS" initialized" printed %d times, want once (at load)`, n)
	}
	for _, bad := range []string{"config_get", "conn_id=", "status=", "error="} {
		if strings.Contains(r.stderr, bad) {
			t.Errorf("the log has %q:\n%s", bad, grepLines(r.stderr, bad))
		}
	}
}
