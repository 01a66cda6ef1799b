package interop

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// imPDP is `imchost pdp serve` on a loopback port.
type imPDP struct {
	addr string
	port int
	pki  pdpPKI
	db   string
	proc *proc
}

// imPDPOptions shape an imchost PDP.
type imPDPOptions struct {
	keys     keyType
	users    map[string]string
	clientCA string
	akCA     string
	maxMsg   int    // --max-message-size
	policy   string // TOML
	db       string // keep the database here (default: the test's directory)
	debug    string // --debug (default: the configuration's level)
	args     []string
}

// startImchostPDP starts `imchost pdp serve` with a certificate for
// 127.0.0.1 from a PKI of its own and waits for its "listening on" line.
func startImchostPDP(t *testing.T, o imPDPOptions) *imPDP {
	t.Helper()
	bin, _ := tools(t)
	if o.keys == "" {
		o.keys = rsaKeys
	}
	dir := t.TempDir()
	s := &imPDP{pki: newPDPPKI(t, dir, o.keys), db: o.db}
	if s.db == "" {
		s.db = filepath.Join(dir, "pdp.db")
	}
	args := []string{bin, "pdp", "serve", "--listen", "127.0.0.1:0", "--cert", s.pki.server.certFile, "--key", s.pki.server.keyFile, "--db", s.db}
	for u, pw := range o.users {
		args = append(args, "--user", u+":"+pw)
	}
	if o.clientCA != "" {
		args = append(args, "--client-ca", o.clientCA)
	}
	if o.akCA != "" {
		args = append(args, "--ak-ca", o.akCA)
	}
	if o.maxMsg != 0 {
		args = append(args, "--max-message-size", strconv.Itoa(o.maxMsg))
	}
	if o.debug != "" {
		args = append(args, "--debug", o.debug)
	}
	if o.policy != "" {
		args = append(args, "--policy", writeFile(t, filepath.Join(dir, "policy.toml"), o.policy))
	}
	args = append(args, o.args...)
	s.proc = start(t, "imchost pdp serve", nil, args...)
	listening := regexp.MustCompile(`listening on (127\.0\.0\.1:(\d+))`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !s.proc.await(ctx, listening) {
		t.Fatalf("imchost pdp serve did not say where it listens:\n%s", s.proc.output())
	}
	m := listening.FindStringSubmatch(s.proc.output())
	s.addr = m[1]
	s.port, _ = strconv.Atoi(m[2])
	return s
}

func (s *imPDP) log() string { return s.proc.output() }

// imRunOptions shape one `imchost run`.
type imRunOptions struct {
	forwarding  bool
	logPath     string            // --eventlog (default the endpoint's)
	attSettings map[string]string // added to the Attestation IMC's settings
	tnccs       map[string]any    // [tnccs] values
	tpm         map[string]any    // [tpm] values
	attFiles    []string          // the Attestation IMC's [[imc]] files allowlist
	root        string            // --root (default fixtureRoot's)
	swima       map[string]string // added to the SWIMA IMC's settings
	args        []string
}

// imRun is what one `imchost run` did.
type imRun struct {
	code           int
	stdout, stderr string
}

// imchostRun runs `imchost run` on the endpoint against 127.0.0.1:port
// trusting caFile.
func imchostRun(t *testing.T, e *endpoint, port int, caFile string, o imRunOptions) imRun {
	t.Helper()
	bin, wasm := tools(t)
	if o.logPath == "" {
		o.logPath = e.logPath
	}
	dir := t.TempDir()
	cfg := imchostConfig(t, dir, func(cfg map[string]any) {
		setKeys(tomlTable(cfg, "tnccs"), o.tnccs)
		setKeys(tomlTable(cfg, "tpm"), o.tpm)
		if len(o.attSettings) > 0 {
			setKeys(tomlTable(imcEntry(t, cfg, "Attestation"), "settings"), o.attSettings)
		}
		if len(o.attFiles) > 0 {
			imcEntry(t, cfg, "Attestation")["files"] = o.attFiles
		}
		if len(o.swima) > 0 {
			setKeys(tomlTable(imcEntry(t, cfg, "SWIMA"), "settings"), o.swima)
		}
	})
	if o.root == "" {
		o.root = fixtureRoot(t, o.forwarding)
	}
	args := append([]string{bin, "run", "--config", cfg, "-c", "127.0.0.1", "-p", strconv.Itoa(port), "--ca", caFile,
		"--tpm", e.tpm.Spec, "--eventlog", o.logPath, "--root", o.root, "--wasm-dir", wasm,
		"--timeout", "2m", "--debug", "2"}, o.args...)
	p := start(t, "imchost run", nil, args...)
	code := p.wait(3 * time.Minute)
	return imRun{code: code, stdout: p.Stdout.String(), stderr: p.Stderr.String()}
}

var imVerdictLine = regexp.MustCompile(`(?m)^IMC (\d+) "[^"]*"(?: from IMV (\d+))?: (.+)$`)

// verdicts are the per-IMV assessments `imchost run` printed.
func (r imRun) verdicts() []imvVerdict {
	var v []imvVerdict
	for _, m := range imVerdictLine.FindAllStringSubmatch(r.stdout, -1) {
		imc, _ := strconv.Atoi(m[1])
		imv, _ := strconv.Atoi(m[2])
		v = append(v, imvVerdict{imc: imc, imv: imv, result: m[3]})
	}
	return v
}

var overallLine = regexp.MustCompile(`(?m)^overall: (.+)$`)

// overall is the "overall: ..." line's text.
func (r imRun) overall() string {
	if m := overallLine.FindStringSubmatch(r.stdout); m != nil {
		return m[1]
	}
	return ""
}

var pdpIMVLine = regexp.MustCompile(`IMV (\d+) provides recommendation '([^']*)' and evaluation '([^']*)'`)

// pdpEvaluations are the evaluations a PDP's log says its IMVs made (both
// PDPs log strongSwan's line), one map per attestation in log order.
func pdpEvaluations(log string) []map[int]string {
	var out []map[int]string
	cur := map[int]string{}
	for _, m := range pdpIMVLine.FindAllStringSubmatch(log, -1) {
		id, _ := strconv.Atoi(m[1])
		if _, seen := cur[id]; seen {
			out = append(out, cur)
			cur = map[int]string{}
		}
		cur[id] = m[3]
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

var _ = fmt.Sprint
var _ = net.SplitHostPort

// outcome is what a client learnt from the PDP, in comparable form.
type outcome struct {
	verdicts       []imvVerdict
	result         string   // overall assessment result
	recommendation string   // access recommendation
	remediation    []string // remediation texts, normalised
	code           int      // imchost run's exit code
	log            string
}

var imRemediation = regexp.MustCompile(`(?m)^ *remediation(?: \[[^\]]*\])?: (.*)\n((?: {3,}.*\n)*)`)

// outcome reads imchost run's summary.
func (r imRun) outcome() outcome {
	o := outcome{verdicts: r.verdicts(), code: r.code, log: r.stdout + r.stderr}
	if ov := r.overall(); ov != "" {
		o.result, o.recommendation, _ = strings.Cut(ov, ", ")
	}
	for _, m := range imRemediation.FindAllStringSubmatch(r.stdout, -1) {
		o.remediation = append(o.remediation, normalise(m[1]+"\n"+m[2]))
	}
	return o
}

// normalise reduces a remediation text to its words.
func normalise(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ':' || r == ' ' || r == '\n' || r == '\t' || r == '\r'
	}), " ")
}
