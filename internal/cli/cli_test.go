package cli

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tpmhost/tpmsim"
)

// call runs the command line in-process and returns its exit code and
// outputs.
func call(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &env{stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

func TestUsageAndExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stdout+stderr
	}{
		{nil, exitUsage, "usage: imchost COMMAND"},
		{[]string{"--help"}, exitOK, "commands:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"run", "--help"}, exitOK, "--connect"},
		{[]string{"help", "pdp"}, exitOK, "pdp serve"},
		{[]string{"run", "--nope"}, exitUsage, "flag provided but not defined"},
		{[]string{"run", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"run", "--config", "/nonexistent/config.toml"}, exitError, "no such file"},
		{[]string{"run", "--config", "../../config.toml", "--port", "70000", "-c", "127.0.0.1"}, exitUsage, "out of range"},
		{[]string{"run", "--config", "../../config.toml", "-c", "127.0.0.1", "--ca", "cli.go", "--key", "x.pem"}, exitUsage, "--key FILE needs its certificate: --cert FILE"},
		{[]string{"run", "--config", "../../config.toml", "-c", "127.0.0.1", "-X", "0123abcd"}, exitUsage, "PKCS#11"},
		{[]string{"run", "--config", "../../config.toml", "-c", "127.0.0.1", "--keyid", "0123abcd"}, exitUsage, "PKCS#11"},
		{[]string{"run", "--optionsfrom", "/nonexistent/opts"}, exitUsage, "--optionsfrom: open /nonexistent/opts"},
		{[]string{"run", "--help"}, exitOK, "-x, --cert FILE"},
		{[]string{"run", "--config", "../../config.toml", "--log-format", "xml"}, exitUsage, "--log-format xml: want text or json"},
		{[]string{"run", "--interval", "0"}, exitUsage, "want a positive duration such as 10m"},
		{[]string{"run", "--interval", "-5m"}, exitUsage, "want a positive duration such as 10m"},
		{[]string{"run", "--interval", "10"}, exitUsage, "a duration needs a unit: 10m"},
		{[]string{"run", "--interval", "10ms"}, exitUsage, "shorter than a second"},
		{[]string{"run", "--secret", "a", "--secret-file", "b"}, exitUsage, "exclude each other"},
		{[]string{"run", "--help"}, exitOK, "--config FILE"},
		{[]string{"run", "--help"}, exitOK, "--interval DURATION"},
		{[]string{"run", "--help"}, exitOK, "-c, --connect HOST"},
		{[]string{"--help"}, exitOK, "3  imchost run: the PDP decided and did not allow access"},
		{[]string{"--version"}, exitOK, fmt.Sprintf("module ABI: v%d", abi.Version)},
		{[]string{"version"}, exitOK, "go: go1."},
		{[]string{"version", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"check", "--config", "/nonexistent/config.toml"}, exitError, "FAIL config: "},
		{[]string{"check", "--config", "/nonexistent/config.toml"}, exitError, "fix: pass --config FILE"},
		{[]string{"check", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"run", "--output", "yaml"}, exitUsage, "--output yaml: want text or json"},
		{[]string{"pdp", "serve", "--self-signed", t.TempDir(), "--log-format", "yaml"}, exitUsage, "want text or json"},
		{[]string{"pdp", "serve", "--listen", "127.0.0.1:0"}, exitUsage, "a certificate is needed"},
		{[]string{"pdp", "serve", "--listen", "127.0.0.1:0", "--retry-after", "1m"}, exitUsage, "--retry-after 1m0s needs a longer --retry-idle"},
		{[]string{"run", "--help"}, exitOK, "--keep-session"},
		{[]string{"pdp", "serve", "--self-signed", t.TempDir(), "--user", "nopass"}, exitUsage, "NAME:PASSWORD"},
		{[]string{"pdp", "serve", "--self-signed", t.TempDir(), "--proxy-protocol", "10.0.0.1,lb.example"}, exitUsage, `--proxy-protocol: "lb.example" is neither an IP address nor a CIDR prefix`},
		{[]string{"tpm"}, exitUsage, "info|provision-ak"},
		{[]string{"tpm", "provision-ak", "--handle", "0x01000000"}, exitUsage, "persistent handle"},
		{[]string{"tpm", "extend", "--tpm", "/dev/tpmrm0", "log"}, exitUsage, "real TPM"},
		{[]string{"tpm", "info", "--tpm", "tcp:127.0.0.1:1"}, exitError, "tpmhost"},
		{[]string{"imc", "check"}, exitUsage, "one module FILE"},
		{[]string{"imc", "check", "cli.go"}, exitError, "wasm"},
		{[]string{"eventlog", "/nonexistent"}, exitError, "no such file"},
	} {
		code, out, errs := call(tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("imchost %q: exit %d, want %d with %q in\n%s%s", tc.args, code, tc.code, tc.want, out, errs)
		}
	}
}

// TestEventLogReplay prints the bundled log's replay and compares it with
// the expected PCR values recorded next to the log.
func TestEventLogReplay(t *testing.T) {
	logPath := "defaults/ubuntu_2104_shielded_vm_no_secure_boot_eventlog"
	code, out, errs := call("eventlog", "--pcrs", logPath)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := pcrLines(t, testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog.pcrs"))
	got := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("replay:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	code, out, _ = call("eventlog", "--bank", "sha256", logPath)
	if code != exitOK || !strings.Contains(out, "EV_S_CRTM_VERSION") && !strings.Contains(out, "EV_") {
		t.Fatalf("events: exit %d\n%s", code, out)
	}
}

func pcrLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if l := strings.TrimSpace(s.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// TestDemo runs imchost-demo in-process on the built modules: two
// attestations, both compliant / Access Allowed, the second checked against
// the measurements the first registered, and nothing left behind.
func TestDemo(t *testing.T) {
	dir := os.Getenv("IMCHOST_WASM_DIR")
	if dir == "" {
		dir = "../../out/wasm"
	}
	if _, err := os.Stat(filepath.Join(dir, "imc-attestation.wasm")); err != nil {
		t.Skipf("no built modules in %s (make wasm): %v", dir, err)
	}
	var outb, errb bytes.Buffer
	code := Demo([]string{"--wasm-dir", dir}, &outb, &errb, tpmsim.Open)
	out, errs := outb.String(), errb.String()
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errs)
	}
	if n := strings.Count(out, "overall: compliant, Access Allowed"); n != 2 {
		t.Errorf("%d compliant verdicts, want 2:\n%s", n, out)
	}
	for _, want := range []string{
		`IMC 1 "OS" from IMV 1: compliant`, `IMC 2 "Attestation" from IMV 2: compliant`,
		"sending PB-TNC CDATA batch", "PB-PDP-Referral", "Simple Component Evidence",
		"extended the PCRs with the 105 measurements",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	m := regexp.MustCompile(`working directory (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("demo did not log its working directory")
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("demo left %s behind (%v)", m[1], err)
	}
}

// TestPrintVerdict: per-IMC assessments with their remediation, the PB-TNC
// reason, a PB remediation that repeats an IMC's shown once, the overall
// line, and the exit code.
func TestPrintVerdict(t *testing.T) {
	v := &verdict{
		res: &tnccs.Result{Decided: true, AssessmentResult: pb.ResultNonCompliantMajor,
			Recommendation: pb.RecommendationQuarantined,
			Reasons:        []tnccs.Reason{{Text: "IPv4 forwarding is enabled", Lang: "en"}},
			Remediation:    &tnccs.Remediation{Text: "IP Packet Forwarding: Please disable the forwarding of IP packets", Lang: "en"}},
		reports: []host.IMCReport{
			{IMCID: 1, IMC: "OS", Report: abi.Report{Validator: 1, Result: 2, Language: "en",
				Remediation: "IP Packet Forwarding\nPlease disable the forwarding of IP packets"}},
			{IMCID: 2, IMC: "Attestation", Report: abi.Report{Validator: 2, Result: 0}},
		},
	}
	var b bytes.Buffer
	printVerdict(&b, v, nil)
	want := `IMC 1 "OS" from IMV 1: non-compliant major
  remediation [en]: IP Packet Forwarding
                    Please disable the forwarding of IP packets
IMC 2 "Attestation" from IMV 2: compliant
reason [en]: IPv4 forwarding is enabled
overall: non-compliant major, Quarantined
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if c := v.exitCode(); c != exitNotAllows {
		t.Errorf("exit code %d for a quarantined client", c)
	}
	v.res.Recommendation = pb.RecommendationAllowed
	if c := v.exitCode(); c != exitOK {
		t.Errorf("exit code %d for an allowed client", c)
	}
	v.res.Decided = false
	b.Reset()
	printVerdict(&b, v, nil)
	if c := v.exitCode(); c != exitNotAllows || !strings.Contains(b.String(), "no decision") {
		t.Errorf("undecided: exit %d\n%s", c, b.String())
	}
}

// TestPrintVerdictNotCompliant: "don't know, Access Allowed" (strongSwan's
// PDP when it could not run its policy: no reason string at all) exits 0, as
// the recommendation says, but the summary says that the assessment was not
// compliant and that the PDP gave no reason; a PDP's reason strings are shown
// escaped, each of their lines indented under the first.
func TestPrintVerdictNotCompliant(t *testing.T) {
	v := &verdict{res: &tnccs.Result{Decided: true, AssessmentResult: pb.ResultDontKnow,
		Recommendation: pb.RecommendationAllowed},
		reports: []host.IMCReport{{IMCID: 1, IMC: "OS", Report: abi.Report{Validator: 1, Result: 4}}}}
	var b bytes.Buffer
	printVerdict(&b, v, nil)
	want := `IMC 1 "OS" from IMV 1: don't know
reason: none given by the PDP (its log says why)
overall: don't know, Access Allowed
note: the assessment was not compliant (don't know); access is allowed because the PDP recommends it
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if c := v.exitCode(); c != exitOK {
		t.Errorf("exit code %d, want %d: the recommendation allows access", c, exitOK)
	}

	v.res.Reasons = []tnccs.Reason{{Text: "policy script failed\n\x1b[2Joverall: compliant, Access Allowed", Lang: "en\x1b[31m"}}
	b.Reset()
	printVerdict(&b, v, nil)
	want = `IMC 1 "OS" from IMV 1: don't know
reason [en\x1b[31m]: policy script failed
                     \x1b[2Joverall: compliant, Access Allowed
overall: don't know, Access Allowed
note: the assessment was not compliant (don't know); access is allowed because the PDP recommends it
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}

	v.res.AssessmentResult, v.res.Reasons = pb.ResultCompliant, nil
	b.Reset()
	printVerdict(&b, v, nil)
	if strings.Contains(b.String(), "note:") || strings.Contains(b.String(), "reason") {
		t.Errorf("compliant and allowed needs no note:\n%s", b.String())
	}
}

// TestExpandPTLSArgs: pt-tls-client's getopt syntax becomes package flag's
// (-cHOST, -mq, -d2), --optionsfrom files are read in place (quotes,
// nesting, a loop refused), and a value given apart is never split.
func TestExpandPTLSArgs(t *testing.T) {
	var f runFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	f.register(fs)
	f.logFlags.register(fs)
	dir := t.TempDir()
	opts := filepath.Join(dir, "opts")
	inner := filepath.Join(dir, "inner")
	loop := filepath.Join(dir, "loop")
	for file, text := range map[string]string{
		opts:  "--connect pdp.example.org --port 271\n  -x 'ca cert.pem' -x \"client.pem\"\n-+ " + inner + "\n",
		inner: "--key client.key\t-d 2\n",
		loop:  "-+ " + loop + "\n",
	} {
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ in, want []string }{
		{[]string{"-cpdp", "-p271", "-mq", "-d2"}, []string{"-c", "pdp", "-p", "271", "-m", "-q", "-d", "2"}},
		{[]string{"-debug", "2", "-config=x.toml", "--port=271"}, []string{"-debug", "2", "-config=x.toml", "--port=271"}},
		{[]string{"-s", "-mq", "--secret", "-x1"}, []string{"-s", "-mq", "--secret", "-x1"}},
		{[]string{"--optionsfrom", opts, "-q"}, []string{"--connect", "pdp.example.org", "--port", "271", "-x", "ca cert.pem",
			"-x", "client.pem", "--key", "client.key", "-d", "2", "-q"}},
		{[]string{"--options=" + inner, "--", "-mq"}, []string{"--key", "client.key", "-d", "2", "--", "-mq"}},
	} {
		got, err := expandPTLSArgs(fs, tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %q (%v), want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := expandPTLSArgs(fs, []string{"-+", loop}); err == nil || !strings.Contains(err.Error(), "a loop?") {
		t.Errorf("a file that names itself: %v", err)
	}
	got, _ := expandPTLSArgs(fs, []string{"--optionsfrom", opts})
	if err := fs.Parse(got); err != nil || f.connect != "pdp.example.org" || f.port != 271 ||
		!slices.Equal(f.certs, stringList{"ca cert.pem", "client.pem"}) || f.key != "client.key" || f.debug != 2 {
		t.Errorf("parsed %+v: %v", f, err)
	}
}

// TestRunStats: run --stats ends with the stats line, also when the run
// fails, and its peak RSS is this process's own high-water mark.
func TestRunStats(t *testing.T) {
	code, _, stderr := call("run", "--stats", "--config", filepath.Join(t.TempDir(), "missing.toml"))
	if code != exitError {
		t.Fatalf("exit %d", code)
	}
	m := regexp.MustCompile(`(?m)^imchost: stats: cpu [0-9.]+(µs|ms|s), peak rss (\d+) kB\n\z`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no stats line at the end of:\n%s", stderr)
	}
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	want := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(st)
	if want == nil {
		t.Fatalf("no VmHWM in /proc/self/status")
	}
	// The high-water mark only grows: the reported one is at most now's.
	var got, now int
	fmt.Sscan(m[2], &got)
	fmt.Sscan(string(want[1]), &now)
	if got <= 0 || got > now {
		t.Fatalf("reported peak %d kB, process's peak now %d kB", got, now)
	}
}
