package interop

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/imchost/imchost/internal/testutil"
)

// ssPDPOptions shape a strongSwan PDP.
type ssPDPOptions struct {
	keys     keyType           // the PDP's PKI (default RSA)
	users    map[string]string // SASL PLAIN users and passwords
	clientCA string            // a CA certificate (PEM) for TLS client certificates
	akCA     string            // a CA certificate (PEM) AK certificates may chain to
	ima      bool              // request the BIOS and IMA measurements ('BI') instead of the BIOS ones
	// swima names a SWIDT policy (workitem type 15) every device is held
	// to, each time it connects, by strongSwan's SWIMA IMV (IMV 3, added to
	// the IMVs): data.sql's 'SWID Tags' (argument ”: the software
	// inventory with SWID tags) or 'SWID Tag IDs' ('R': software
	// identifier events since the last EID the IMV database knows), or one
	// swimaPolicy adds. Empty: no SWIMA IMV.
	swima string
}

// ssPDP is strongSwan's PDP: charon with tnc-pdp serving PT-TLS on a
// loopback port, its OS and Attestation IMVs, their SQLite database made
// from strongSwan's own tables.sql and data.sql plus the test's policy.
type ssPDP struct {
	peer   peer
	dir    string
	port   int
	pki    pdpPKI
	db     string
	ima    bool
	swima  string
	charon *proc
}

// freePort returns a TCP port nobody listens on in the test's network
// namespace (only this test binary's processes live there).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// imvPolicy replaces data.sql's enforcements: every device (group 1,
// 'Default') is checked for IP forwarding, the factory default password and
// its BIOS boot measurements, each time it connects (max_age 0).
const imvPolicy = `
DELETE FROM enforcements;
DELETE FROM groups_product_defaults;
INSERT INTO enforcements (policy, group_id, max_age)
	SELECT id, 1, 0 FROM policies
	WHERE name IN ('IP Forwarding Enabled', 'Default Factory Password Enabled', 'TPM BIOS Measurements');
`

// swimaPolicies are SWIDT policies besides data.sql's, by name: their
// argument's flags ('R' identifiers only, 'S' subscribe, 'C' clear).
var swimaPolicies = map[string]string{"SWID Tag IDs Subscription": "RS"}

// startStrongSwanPDP starts charon with tnc-pdp and loads its credentials.
func startStrongSwanPDP(t *testing.T, p peer, o ssPDPOptions) *ssPDP {
	t.Helper()
	if o.keys == "" {
		o.keys = rsaKeys
	}
	dir := t.TempDir()
	s := &ssPDP{peer: p, dir: dir, port: freePort(t), db: filepath.Join(memDir(t), "imv.db"), ima: o.ima, swima: o.swima}
	sw := filepath.Join(dir, "swanctl")
	run := filepath.Join(dir, "run")
	akca := filepath.Join(dir, "akca")
	mkdirs(t, filepath.Join(sw, "x509"), filepath.Join(sw, "x509ca"), filepath.Join(sw, "private"), run, akca)
	s.pki = newPDPPKI(t, dir, o.keys)
	testutil.CopyFile(t, s.pki.ca.file, filepath.Join(sw, "x509ca", "pdp-ca.pem"))
	testutil.CopyFile(t, s.pki.server.certFile, filepath.Join(sw, "x509", "pdp.pem"))
	testutil.CopyFile(t, s.pki.server.keyFile, filepath.Join(sw, "private", "pdp-key.pem"))
	if o.clientCA != "" {
		testutil.CopyFile(t, o.clientCA, filepath.Join(sw, "x509ca", "client-ca.pem"))
	}
	if o.akCA != "" {
		testutil.CopyFile(t, o.akCA, filepath.Join(akca, "ak-ca.pem"))
	}
	var secrets strings.Builder
	for u, pw := range o.users {
		fmt.Fprintf(&secrets, "\teap-%s {\n\t\tid = %s\n\t\tsecret = %q\n\t}\n", u, u, pw)
	}
	writeFile(t, filepath.Join(sw, "swanctl.conf"), "secrets {\n"+secrets.String()+"}\n")
	imvs := fmt.Sprintf("IMV \"OS\" %s\nIMV \"Attestation\" %s\n", p.imcv("imv-os"), p.imcv("imv-attestation"))
	if o.swima != "" {
		imvs += fmt.Sprintf("IMV \"SWIMA\" %s\n", p.imcv("imv-swima"))
	}
	writeFile(t, filepath.Join(dir, "tnc_config"), imvs)
	s.createDB(t)
	conf := writeFile(t, filepath.Join(dir, "strongswan.conf"), fmt.Sprintf(`charon {
	load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints sha1 sha2 md5 hmac sqlite socket-default kernel-netlink vici tnc-pdp tnc-imv tnc-tnccs tnccs-20
	port = 0
	port_nat_t = 0
	filelog {
		stderr {
			default = 1
			tnc = 2
			imv = 2
			pts = 2
			flush_line = yes
		}
	}
	tnc {
		tnc_config = %[1]s/tnc_config
	}
	plugins {
		tnc-pdp {
			server = 127.0.0.1
			pt_tls {
				port = %[2]d
			}
			radius {
				enable = no
			}
		}
		tnc-imv {
			dlclose = no
		}
		vici {
			socket = unix://%[1]s/charon.vici
		}
	}
}
libtls {
	version_max = 1.3
}
libimcv {
	database = sqlite://%[3]s
	policy_script = %[4]s
	plugins {
		imv-attestation {
			hash_algorithm = sha256
			cadir = %[5]s
		}
	}
}
`, dir, s.port, s.db, p.policyManager(), akca))
	env := []string{"STRONGSWAN_CONF=" + conf, "SWANCTL_DIR=" + sw}
	// charon writes charon.pid into the PID directory compiled in: a
	// directory of the test's own is bound there.
	s.charon = start(t, "charon", env, nsWrap([][2]string{{run, p.pidDir()}}, p.charon())...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		load := exec.CommandContext(ctx, p.swanctl(), "--load-creds", "--noprompt", "--uri", "unix://"+dir+"/charon.vici")
		load.Env = append(os.Environ(), env...)
		out, err := load.CombinedOutput()
		if err == nil {
			break
		}
		select {
		case <-s.charon.Done():
			t.Fatalf("charon exited: %v", s.charon.Err())
		case <-ctx.Done():
			t.Fatalf("charon's credentials could not be loaded: %v\n%s", err, out)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return s
}

// memDir is a directory for the test in memory (/dev/shm) when there is
// one: strongSwan's IMV commits every measurement it learns on its own, and
// on a busy disk a first contact with a thousand events takes longer than a
// client waits for an answer (imchost run: 30 s per PT-TLS message).
func memDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/dev/shm", "imchost-interop-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// createDB makes the IMV database from strongSwan's SQL files and the
// test's policy.
func (s *ssPDP) createDB(t *testing.T) {
	t.Helper()
	db, err := sql.Open("sqlite", s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range []string{s.peer.sql("tables.sql"), s.peer.sql("data.sql")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if _, err := db.Exec(imvPolicy); err != nil {
		t.Fatal(err)
	}
	if s.ima {
		if _, err := db.Exec(imaPolicy); err != nil {
			t.Fatal(err)
		}
	}
	if s.swima != "" {
		for name, arg := range swimaPolicies {
			if _, err := db.Exec(`INSERT INTO policies (type, name, argument, rec_fail, rec_noresult) VALUES (15, ?, ?, 2, 2)`, name, arg); err != nil {
				t.Fatal(err)
			}
		}
		res, err := db.Exec(`INSERT INTO enforcements (policy, group_id, max_age)
			SELECT id, 1, 0 FROM policies WHERE type = 15 AND name = ?`, s.swima)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("no SWIDT policy %q in the IMV database", s.swima)
		}
	}
}

// exec runs SQL statements on the IMV database (between attestations).
func (s *ssPDP) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
}

// logSince returns what charon logged after offset n (len of an earlier
// log()).
func (s *ssPDP) log() string { return s.charon.Stderr.String() + s.charon.Stdout.String() }

// ssClientOptions shape one strongSwan pt-tls-client run.
type ssClientOptions struct {
	forwarding bool
	logPath    string // boot log bound at /sys/kernel/security/tpm0/...; default the endpoint's
	hashAlg    string // imc-attestation hash_algorithm (default sha256)
	imaPath    string // IMA list bound at /sys/kernel/security/ima/binary_runtime_measurements
	aikCert    string // send the AK as this X.509 certificate (PEM)
	args       []string
	// wrap goes before pt-tls-client's own command line, inside the
	// mount namespace (TestSideBySide: /usr/bin/time).
	wrap []string
	// swima adds strongSwan's SWIMA IMC (IMC 3) when not nil.
	swima *ssSWIMA
}

// ssSWIMA configures strongSwan's imc-swima (libimcv.plugins.imc-swima).
type ssSWIMA struct {
	// swidDirectory is searched for SWID tag files in directories named
	// swidtag (swid_directory; strongSwan's default is ${prefix}/share).
	swidDirectory string
	// database is a sw-collector database (swid_database), "" none.
	database string
}

// ssClient runs strongSwan's pt-tls-client with its OS and Attestation IMCs
// on the endpoint against addr:port, trusting caFile, and returns its
// output. It exits 1 even after a decision: the output tells.
func ssClient(t *testing.T, p peer, e *endpoint, port int, caFile string, o ssClientOptions) string {
	t.Helper()
	dir := t.TempDir()
	if o.logPath == "" {
		o.logPath = e.logPath
	}
	if o.hashAlg == "" {
		o.hashAlg = "sha256"
	}
	sec := filepath.Join(dir, "security")
	mkdirs(t, filepath.Join(sec, "tpm0"))
	testutil.CopyFile(t, o.logPath, filepath.Join(sec, "tpm0", "binary_bios_measurements"))
	if o.imaPath != "" {
		mkdirs(t, filepath.Join(sec, "ima"))
		testutil.CopyFile(t, o.imaPath, filepath.Join(sec, "ima", "binary_runtime_measurements"))
	}
	fwd := writeFile(t, filepath.Join(dir, "ip_forward"), onOff(o.forwarding))
	tpmPort := e.tctiPort()
	aik := fmt.Sprintf("aik_handle = 0x%08x", akHandle)
	if o.aikCert != "" {
		aik = "aik_cert = " + o.aikCert + "\n\t\t\taik_handle = " + fmt.Sprintf("0x%08x", akHandle)
	}
	imcs := fmt.Sprintf("IMC \"OS\" %s\nIMC \"Attestation\" %s\n", p.imcv("imc-os"), p.imcv("imc-attestation"))
	swima, load := "", ""
	if o.swima != nil {
		imcs += fmt.Sprintf("IMC \"SWIMA\" %s\n", p.imcv("imc-swima"))
		// No swid_generator (strongSwan's Python tool) is installed
		// here: /bin/true stands in for it, so that the inventory is the
		// tag files and the sw-collector database only.
		swima = fmt.Sprintf("\t\timc-swima {\n\t\t\tswid_directory = %s\n", o.swima.swidDirectory)
		if o.swima.database != "" {
			swima += fmt.Sprintf("\t\t\tswid_database = sqlite://%s\n", o.swima.database)
			load = " sqlite"
		}
		swima += "\t\t}\n\t}\n\tswid_gen {\n\t\tcommand = /bin/true\n"
	}
	writeFile(t, filepath.Join(dir, "tnc_config"), imcs)
	conf := writeFile(t, filepath.Join(dir, "strongswan.conf"), fmt.Sprintf(`pt-tls-client {
	load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints sha1 sha2 md5 hmac tpm tnc-tnccs tnc-imc tnccs-20%[7]s
	tnc {
		tnc_config = %[1]s/tnc_config
	}
	plugins {
		tpm {
			tcti {
				name = swtpm
				opts = host=127.0.0.1,port=%[2]d
			}
		}
	}
}
libtls {
	version_max = 1.3
}
libimcv {
	plugins {
		imc-os {
			device_handle = 0x%08[3]x
		}
		imc-attestation {
			%[4]s
			hash_algorithm = %[5]s
		}
%[6]s	}
}
`, dir, tpmPort, akHandle, aik, o.hashAlg, swima, load))
	args := append(append(o.wrap[:len(o.wrap):len(o.wrap)], p.ptTLSClient(), "--connect", "127.0.0.1", "--port", fmt.Sprint(port), "--cert", caFile, "--debug", "2"), o.args...)
	c := start(t, "pt-tls-client", []string{"STRONGSWAN_CONF=" + conf}, nsWrap([][2]string{
		{sec, "/sys/kernel/security"},
		{fwd, "/proc/sys/net/ipv4/ip_forward"},
	}, args...)...)
	c.wait(3 * time.Minute)
	return c.output()
}

// imvVerdict is one IMV's assessment of one IMC.
type imvVerdict struct {
	imc, imv int
	result   string // compliant, non-compliant minor, non-compliant major, error, don't know
}

var ssAssessment = regexp.MustCompile(`assessment of IMC (\d+) "[^"]*" from IMV (\d+) \*+\n(?:.*\n)*?.*assessment result is '([^']*)'`)

// ssClientVerdicts are the assessments strongSwan's IMCs received.
func ssClientVerdicts(out string) []imvVerdict {
	var v []imvVerdict
	for _, m := range ssAssessment.FindAllStringSubmatch(out, -1) {
		var imc, imv int
		fmt.Sscan(m[1], &imc)
		fmt.Sscan(m[2], &imv)
		v = append(v, imvVerdict{imc: imc, imv: imv, result: m[3]})
	}
	return v
}

var (
	ssOverallResult = regexp.MustCompile(`PB-TNC assessment result is '([^']*)'`)
	ssOverallRec    = regexp.MustCompile(`PB-TNC access recommendation is '([^']*)'`)
	ssRemediation   = regexp.MustCompile(`(?m)remediation string: \[[^\]]*\]\n((?:.*\n)*?).*\*\*\*\*\* end of assessment`)
)

// ssOutcome reads what strongSwan's client was told: each IMV's verdict,
// the overall result and recommendation, the remediation texts.
func ssOutcome(out string) outcome {
	o := outcome{verdicts: ssClientVerdicts(out)}
	if m := ssOverallResult.FindStringSubmatch(out); m != nil {
		o.result = m[1]
	}
	if m := ssOverallRec.FindStringSubmatch(out); m != nil {
		o.recommendation = m[1]
	}
	for _, m := range ssRemediation.FindAllStringSubmatch(out, -1) {
		var lines []string
		for _, l := range strings.Split(m[1], "\n") {
			// each line is "NN[IMC] text" under --debug: the text only
			if i := strings.Index(l, "] "); i >= 0 && i < 12 {
				l = l[i+2:]
			}
			lines = append(lines, l)
		}
		o.remediation = append(o.remediation, normalise(strings.Join(lines, "\n")))
	}
	o.log = out
	return o
}
