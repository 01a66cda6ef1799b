package interop

// SWIMA (RFC 8412, software inventory) against strongSwan 5.9.8's imc-swima
// and imv-swima, both ways:
//
//	imchost run (SWIMA IMC)        -> strongSwan's PDP with imv-swima and a SWIDT policy
//	pt-tls-client with imc-swima   -> imchost pdp serve with swima = true
//
// strongSwan's imv-swima hands what it receives to strongTNC's REST API only
// when libimcv.plugins.imv-swima.rest_api.uri is set; without it (here) it
// counts what it received and finds the SWIDT workitem compliant with the
// count in its text ("received 10 SWID tags", "received 4 SW ID events and
// 0 SWID tags"), which its log and its results table show.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"
)

// swimaMachine is an endpoint's software: a file-system root (this
// machine's os-release, so that both clients form the same "Debian_12-x86_64"
// part of software identifiers; testdata/swima's dpkg status; two SWID
// tag files under usr/share/swidtag) and our SWIMA IMC's state directory.
type swimaMachine struct {
	root  string
	state string
}

// swimaDpkgPackages is how many packages testdata/swima/dpkg/status has
// installed (dpkg-query -W lists 8).
const swimaDpkgPackages = 8

// swimaTags are the SWID tag files of every swimaMachine: file name under
// usr/share/swidtag/example.org, tagId, name, version.
var swimaTags = [][4]string{
	{"example.org-agent-1.2.0.swidtag", "example.org-agent-1.2.0", "agent", "1.2.0"},
	{"example.org-monitor-0.9.swidtag", "example.org-monitor-0.9", "monitor", "0.9"},
}

// swimaTagIDs are the software identifiers of swimaTags (RFC 8412 §3.4:
// the tag creator's regid, "__", the tagId).
func swimaTagIDs() []string {
	var ids []string
	for _, tag := range swimaTags {
		ids = append(ids, "example.org__"+tag[1])
	}
	return ids
}

func newSWIMAMachine(t *testing.T) *swimaMachine {
	t.Helper()
	m := &swimaMachine{root: fixtureRoot(t, false), state: filepath.Join(t.TempDir(), "state")}
	status, err := os.ReadFile(testutil.Data("swima", "dpkg", "status"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(m.root, "var", "lib", "dpkg", "status"), string(status))
	for _, tag := range swimaTags {
		writeFile(t, filepath.Join(m.root, "usr", "share", "swidtag", "example.org", tag[0]), fmt.Sprintf(
			`<?xml version="1.0" encoding="utf-8"?>
<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" name="%s" tagId="%s" version="%s" versionScheme="alphanumeric">
  <Entity name="Example Org" regid="example.org" role="tagCreator softwareCreator"/>
  <Meta product="%[1]s %[3]s"/>
</SoftwareIdentity>
`, tag[2], tag[1], tag[3]))
	}
	return m
}

// editStatus rewrites the machine's dpkg status file.
func (m *swimaMachine) editStatus(t *testing.T, edit func(string) string) {
	t.Helper()
	p := filepath.Join(m.root, "var", "lib", "dpkg", "status")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := edit(string(b))
	if s == string(b) {
		t.Fatal("the dpkg status edit changed nothing")
	}
	writeFile(t, p, s)
}

// dropStanza removes a package's stanza from a dpkg status file.
func dropStanza(status, pkg string) string {
	var out []string
	for _, st := range strings.Split(status, "\n\n") {
		if !strings.HasPrefix(st, "Package: "+pkg+"\n") {
			out = append(out, st)
		}
	}
	return strings.Join(out, "\n\n")
}

// helloStanza is a package installed by the tests' software changes.
const helloStanza = "Package: hello\nStatus: install ok installed\nPriority: optional\nSection: devel\nArchitecture: amd64\nVersion: 2.10-3\nDescription: example package based on GNU hello\n"

// run attests the machine with imchost run against a PDP.
func (m *swimaMachine) run(t *testing.T, e *endpoint, port int, ca string) outcome {
	t.Helper()
	return imchostRun(t, e, port, ca, imRunOptions{root: m.root, swima: map[string]string{"state_dir": m.state},
		args: saslArgs}).outcome()
}

// swimaCompliant: the three IMVs' verdicts when each is compliant.
var swimaCompliant = []imvVerdict{{1, 1, "compliant"}, {2, 2, "compliant"}, {3, 3, "compliant"}}

// ssSWIDTResults are the results strongSwan's SWIMA IMV gave its SWIDT
// workitems, in order ("allow - received 10 SWID tags").
var ssSWIDTResult = regexp.MustCompile(`IMV 3 handled SWIDT workitem \d+: (.*)`)

func ssSWIDTResults(log string) []string {
	var out []string
	for _, m := range ssSWIDTResult.FindAllStringSubmatch(log, -1) {
		out = append(out, strings.TrimSpace(m[1]))
	}
	return out
}

// TestSWIMAToStrongSwanPDP: imchost run's SWIMA IMC answers strongSwan's
// imv-swima. With the 'SWID Tags' policy strongSwan asks for the software
// inventory with SWID tags each time: it counts every dpkg package and tag
// file (8 + 2), first contact and again. With 'SWID Tag IDs' ('R') it asks
// for software identifier events since the EID after the last one its
// database knows (none: EID 1): our record's first reading is its baseline
// (no events); after an upgrade, an installation and a removal it receives
// 4 events; once its database knows EID 4 (as strongTNC would record it)
// it asks from EID 5 and receives only the removal made since.
func TestSWIMAToStrongSwanPDP(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	t.Run("SWID Tags", func(t *testing.T) {
		m := newSWIMAMachine(t)
		ss := startStrongSwanPDP(t, p, ssPDPOptions{users: defaultUser, swima: "SWID Tags"})
		want := fmt.Sprintf("allow - received %d SWID tags", swimaDpkgPackages+len(swimaTags))
		for i := 1; i <= 2; i++ {
			o := m.run(t, e, ss.port, ss.pki.ca.file)
			checkVerdicts(t, "imchost run", o.verdicts, swimaCompliant)
			if o.recommendation != "Access Allowed" {
				t.Errorf("attestation %d: recommendation %q", i, o.recommendation)
			}
			if got := ssSWIDTResults(ss.log()); len(got) != i || got[i-1] != want {
				t.Errorf("attestation %d: strongSwan's SWIDT results %q, want the last %q", i, got, want)
			}
			if t.Failed() {
				t.Fatalf("attestation %d:\n%s\nPDP:\n%s", i, o.log, ss.log())
			}
		}
	})
	t.Run("SWID Tag IDs", func(t *testing.T) {
		m := newSWIMAMachine(t)
		ss := startStrongSwanPDP(t, p, ssPDPOptions{users: defaultUser, swima: "SWID Tag IDs"})
		step := func(i int, earliest int, want string) {
			t.Helper()
			o := m.run(t, e, ss.port, ss.pki.ca.file)
			checkVerdicts(t, "imchost run", o.verdicts, swimaCompliant)
			log := ss.log()
			if !regexp.MustCompile(fmt.Sprintf(`issues sw request \d+ with earliest eid %d\n`, earliest)).MatchString(log) {
				t.Errorf("attestation %d: strongSwan did not ask for the events from EID %d", i, earliest)
			}
			if got := ssSWIDTResults(log); len(got) != i || got[i-1] != want {
				t.Errorf("attestation %d: strongSwan's SWIDT results %q, want the last %q", i, got, want)
			}
			if t.Failed() {
				t.Fatalf("attestation %d:\n%s\nPDP:\n%s", i, o.log, log)
			}
		}
		step(1, 1, "allow - received 0 SW ID events and 0 SWID tags")
		m.editStatus(t, func(s string) string {
			s = strings.Replace(s, "Version: 2025b-0+deb12u2", "Version: 2025c-0+deb12u1", 1)
			return dropStanza(s, "bash") + "\n" + helloStanza
		})
		step(2, 1, "allow - received 4 SW ID events and 0 SWID tags")
		// strongTNC would record the events it was given; the policy
		// manager then asks from the EID after the last one.
		ss.exec(t, `INSERT INTO swid_events (device, epoch, eid, timestamp) SELECT id, 0, 4, '2026-01-01T00:00:00Z' FROM devices`)
		m.editStatus(t, func(s string) string { return dropStanza(s, "diffutils") })
		step(3, 5, "allow - received 1 SW ID event and 0 SWID tags")
	})
}

// swimaSoftware runs `imchost pdp software` on an imchost PDP's database.
func swimaSoftware(t *testing.T, db, device string) string {
	t.Helper()
	bin, _ := tools(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "pdp", "software", "--db", db, "--events", "20", device).CombinedOutput()
	if err != nil {
		t.Fatalf("imchost pdp software: %v\n%s", err, out)
	}
	return string(out)
}

// TestSWIMAFromStrongSwanClient: strongSwan's pt-tls-client with imc-swima
// (its inventory: the SWID tag files under the machine's usr/share; no
// swid_generator) against our PDP with swima = true. Our SWIMA IMV asks for
// the inventory on first contact and stores the two tags' software
// identifiers with the names and versions of their tags
// (`imchost pdp software`); the next time it asks for the events since
// the last EID, which strongSwan's IMC keeps only in a sw-collector
// database and only as identifier events: it answers with a SWIMA error
// and its inventory instead, which our PDP stores again, compliant.
func TestSWIMAFromStrongSwanClient(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	m := newSWIMAMachine(t)
	im := startImchostPDP(t, imPDPOptions{users: defaultUser, policy: "swima = true\n", debug: "2"})
	for i := 1; i <= 2; i++ {
		out := ssClient(t, p, e, im.port, im.pki.ca.file, ssClientOptions{args: saslArgs,
			swima: &ssSWIMA{swidDirectory: filepath.Join(m.root, "usr", "share")}})
		o := ssOutcome(out)
		checkVerdicts(t, "pt-tls-client", o.verdicts, swimaCompliant)
		sw := swimaSoftware(t, im.db, e.ak.KeyID)
		if !strings.Contains(sw, fmt.Sprintf(": %d software records, EID epoch 0x11223344, last EID 1", len(swimaTags))) {
			t.Errorf("attestation %d: our PDP stored:\n%s", i, sw)
		}
		for j, id := range swimaTagIDs() {
			if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(swimaTags[j][2]) + `\s+` + regexp.QuoteMeta(swimaTags[j][3]) + `\s+` + regexp.QuoteMeta(id) + `$`).MatchString(sw) {
				t.Errorf("attestation %d: our PDP did not store %s (%s %s):\n%s", i, id, swimaTags[j][2], swimaTags[j][3], sw)
			}
		}
		if i == 2 && !strings.Contains(im.log(), "failed to collect SW events, fallback to SW inventory") {
			t.Errorf("strongSwan's IMC answered the events request otherwise than expected")
		}
		if t.Failed() {
			t.Fatalf("attestation %d:\n%s\nour PDP:\n%s", i, out, im.log())
		}
	}
}

// swCollector is a sw-collector database of strongSwan's: built from a
// dpkg admin directory and an apt history log by strongSwan's own
// sw-collector, read by its imc-swima (swid_database).
type swCollector struct {
	peer    peer
	db      string
	history string
	conf    string
	admin   string // DPKG_ADMINDIR for dpkg-query
}

func (p peer) swCollector() string { return filepath.Join(p.prefix, "sbin", "sw-collector") }

// newSWCollector creates an empty database from strongSwan's
// sw_collector_tables.sql, the history log from testdata/swima/history.log,
// and runs sw-collector on the machine's dpkg database.
func newSWCollector(t *testing.T, p peer, m *swimaMachine) *swCollector {
	t.Helper()
	dir := t.TempDir()
	c := &swCollector{peer: p, db: filepath.Join(dir, "collector.db"), history: filepath.Join(dir, "history.log"),
		admin: filepath.Join(m.root, "var", "lib", "dpkg")}
	tables, err := os.ReadFile(filepath.Join(p.prefix, "share", "strongswan", "templates", "database", "sw-collector", "sw_collector_tables.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", c.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(tables)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	testutil.CopyFile(t, testutil.Data("swima", "history.log"), c.history)
	c.conf = writeFile(t, filepath.Join(dir, "strongswan.conf"), fmt.Sprintf(`sw-collector {
	load = random sqlite
	database = sqlite://%s
	history = %s
	first_time = 2025-01-15T10:00:00Z
}
`, c.db, c.history))
	c.run(t)
	return c
}

// run runs sw-collector (extract the history log's new entries, merge the
// installed packages dpkg-query lists).
func (c *swCollector) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.peer.swCollector())
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+c.conf, "DPKG_ADMINDIR="+c.admin, "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sw-collector: %v\n%s", err, out)
	}
}

// transaction appends to the history log the apt transaction the tests
// make (tzdata upgraded, hello installed, bash removed: transaction) and
// runs sw-collector.
func (c *swCollector) transaction(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(c.history, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\nStart-Date: 2025-07-01  09:30:00\nCommandline: apt-get install hello\n" +
		"Install: hello:amd64 (2.10-3)\nUpgrade: tzdata:all (2025b-0+deb12u2, 2025c-0+deb12u1)\nRemove: bash:amd64 (5.2.15-2+b8)\n" +
		"End-Date: 2025-07-01  09:30:02\n")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.run(t)
}

// transaction is the apt transaction of the tests on a dpkg status file:
// tzdata upgraded, bash removed, hello installed.
func transaction(s string) string {
	s = strings.Replace(s, "Version: 2025b-0+deb12u2", "Version: 2025c-0+deb12u1", 1)
	return dropStanza(s, "bash") + "\n" + helloStanza
}

// installed are the software identifiers the database lists installed.
func (c *swCollector) installed(t *testing.T) []string {
	t.Helper()
	db, err := sql.Open("sqlite", c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sw_identifiers WHERE installed = 1 ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// storedSoftware is what `imchost pdp software` lists: the software
// identifiers (sorted) and the events ("EID action identifier").
func storedSoftware(t *testing.T, db, device string) (ids, events []string, out string) {
	t.Helper()
	out = swimaSoftware(t, db, device)
	inEvents := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "newest "):
			inEvents = true
		case len(f) == 0 || !strings.HasPrefix(l, "  "):
		case inEvents && len(f) == 5: // time, "EID", eid, action, identifier
			events = append(events, f[2]+" "+f[3]+" "+f[4])
		case !inEvents:
			ids = append(ids, f[len(f)-1])
		}
	}
	sort.Strings(ids)
	return ids, events, out
}

// TestSWIMASWCollector: strongSwan's imc-swima with a sw-collector database
// that strongSwan's own sw-collector built from testdata/swima (the dpkg
// status and an apt history log), against our PDP with sw_identifiers =
// true (the R flag: identifiers only, as strongSwan's 'SWID Tag IDs'
// policy asks; strongSwan's IMC answers events for identifiers only). First
// contact: the Software Identifier Inventory — our PDP stores exactly the
// identifiers the database lists installed plus the tag files'; and
// imchost run on the same machine, against a second PDP of ours, reports
// the very same identifiers (our SWIMA IMC forms them as strongSwan's
// sw-collector does, epochs and '+' as '~' included). Then an apt
// transaction (an upgrade, an installation, a removal) recorded by
// sw-collector: the next contact asks for the events from the EID after
// the stored last one and stores the 4 identifier events strongSwan sends;
// imchost run reports the same change, and both PDPs then list the same
// software.
func TestSWIMASWCollector(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	m := newSWIMAMachine(t)
	c := newSWCollector(t, p, m)
	policy := "swima = true\nsw_identifiers = true\n"
	ssPDP := startImchostPDP(t, imPDPOptions{users: defaultUser, policy: policy, debug: "2"})
	imPDP := startImchostPDP(t, imPDPOptions{users: defaultUser, policy: policy, debug: "2"})
	client := ssClientOptions{args: saslArgs, swima: &ssSWIMA{swidDirectory: filepath.Join(m.root, "usr", "share"), database: c.db}}
	tagIDs := swimaTagIDs()

	attest := func(step string) (ssIDs, ssEvents, imIDs, imEvents []string) {
		t.Helper()
		out := ssClient(t, p, e, ssPDP.port, ssPDP.pki.ca.file, client)
		checkVerdicts(t, step+": pt-tls-client", ssOutcome(out).verdicts, swimaCompliant)
		o := m.run(t, e, imPDP.port, imPDP.pki.ca.file)
		checkVerdicts(t, step+": imchost run", o.verdicts, swimaCompliant)
		var ssOut, imOut string
		ssIDs, ssEvents, ssOut = storedSoftware(t, ssPDP.db, e.ak.KeyID)
		imIDs, imEvents, imOut = storedSoftware(t, imPDP.db, e.ak.KeyID)
		if strings.Join(ssIDs, "\n") != strings.Join(imIDs, "\n") {
			t.Errorf("%s: the software identifiers differ\nfrom strongSwan's IMC:\n%s\nfrom imchost run:\n%s", step, ssOut, imOut)
		}
		want := append(c.installed(t), tagIDs...)
		sort.Strings(want)
		if strings.Join(ssIDs, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: our PDP stored from strongSwan's IMC\n%s\nwant the sw-collector database's installed identifiers and the tags':\n%s",
				step, strings.Join(ssIDs, "\n"), strings.Join(want, "\n"))
		}
		if t.Failed() {
			t.Fatalf("%s:\npt-tls-client:\n%s\nimchost run:\n%s\nour PDP (strongSwan's client):\n%s", step, out, o.log, ssPDP.log())
		}
		return
	}

	ssIDs, _, _, _ := attest("first contact")
	if len(ssIDs) != swimaDpkgPackages+len(swimaTags) {
		t.Fatalf("first contact: %d identifiers stored, want %d", len(ssIDs), swimaDpkgPackages+len(swimaTags))
	}
	for _, id := range []string{
		"strongswan.org__Debian_12-x86_64-diffutils-1~3.8-4",
		"strongswan.org__Debian_12-x86_64-libssl3-3.0.19-1~deb12u2",
		"strongswan.org__Debian_12-x86_64-bash-5.2.15-2~b8",
	} {
		if !slices.Contains(ssIDs, id) {
			t.Errorf("first contact: %s not stored", id)
		}
	}

	// One apt transaction: tzdata upgraded, hello installed, bash removed.
	m.editStatus(t, transaction)
	c.transaction(t)

	ssIDs, ssEvents, _, imEvents := attest("after the apt transaction")
	if !strings.Contains(ssPDP.log(), "requesting the software identifier events from EID 3") {
		t.Errorf("our PDP did not ask strongSwan's IMC for the events from EID 3")
	}
	const id = "strongswan.org__Debian_12-x86_64-"
	wantEvents := []string{"3 created " + id + "hello-2.10-3", "3 created " + id + "tzdata-2025c-0~deb12u1",
		"3 deleted " + id + "bash-5.2.15-2~b8", "3 deleted " + id + "tzdata-2025b-0~deb12u2"}
	got := slices.Clone(ssEvents)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(wantEvents, "\n") {
		t.Errorf("events stored from strongSwan's IMC:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantEvents, "\n"))
	}
	if len(imEvents) != 4 {
		t.Errorf("events stored from imchost run: %q, want 4", imEvents)
	}
	if slices.Contains(ssIDs, id+"bash-5.2.15-2~b8") || !slices.Contains(ssIDs, id+"hello-2.10-3") {
		t.Errorf("after the events our PDP lists %q", ssIDs)
	}
}

// TestSWIMASubscriptionToStrongSwanPDP: strongSwan's PDP with a SWIDT
// policy whose argument is 'RS' subscribes to our SWIMA IMC's identifier
// events (its first request carries the S flag); imchost run
// --keep-session re-assesses with CRETRY in the same PB-TNC session, and
// strongSwan's imv-swima, subscribed, asks nothing more: each later
// handshake it evaluates what our IMC pushes under the subscription's
// request ID. A package removed between the first and second assessment is
// pushed as 1 event; the third assessment, with nothing changed, gets a
// push of no events. (Before, our IMC pushed nothing when nothing had
// changed, and strongSwan's SWIMA IMV gave no verdict on the third
// assessment: "don't know".)
func TestSWIMASubscriptionToStrongSwanPDP(t *testing.T) {
	p := needPeer(t)
	e := newEndpoint(t, bootLog)
	m := newSWIMAMachine(t)
	ss := startStrongSwanPDP(t, p, ssPDPOptions{users: defaultUser, swima: "SWID Tag IDs Subscription"})
	bin, wasm := tools(t)
	cfg := imchostConfig(t, t.TempDir(), func(cfg map[string]any) {
		setKeys(tomlTable(imcEntry(t, cfg, "SWIMA"), "settings"), map[string]string{"state_dir": m.state})
	})
	args := append([]string{bin, "run", "--config", cfg, "-c", "127.0.0.1", "-p", fmt.Sprint(ss.port), "--ca", ss.pki.ca.file,
		"--tpm", e.tpm.Spec, "--eventlog", e.logPath, "--root", m.root, "--wasm-dir", wasm,
		"--timeout", "1m", "--debug", "2", "--interval", "2s", "--keep-session"}, saslArgs...)
	c := start(t, "imchost run", nil, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if !c.await(ctx, regexp.MustCompile(`overall: `)) {
		t.Fatalf("no first verdict:\n%s\nPDP:\n%s", c.output(), ss.log())
	}
	m.editStatus(t, func(s string) string { return dropStanza(s, "diffutils") })
	ok := c.await(ctx, regexp.MustCompile(`(?s)(overall: [^\n]*\n.*){3}`))
	c.stop()
	out, log := c.Stdout.String(), ss.log()
	if !ok {
		t.Fatalf("no third verdict:\n%s\nPDP:\n%s", c.output(), log)
	}
	sub := regexp.MustCompile(`SWIMA subscription (\d+) requested`).FindStringSubmatch(log)
	if sub == nil {
		t.Fatalf("strongSwan's IMV did not subscribe:\n%s", log)
	}
	from := " from subscription " + sub[1]
	want := []string{"allow - received 0 SW ID events and 0 SWID tags" + from,
		"allow - received 1 SW ID event and 0 SWID tags" + from,
		"allow - received 0 SW ID events and 0 SWID tags" + from}
	if got := ssSWIDTResults(log); len(got) < 3 || strings.Join(got[:3], "|") != strings.Join(want, "|") {
		t.Errorf("strongSwan's SWIDT results %q, want %q", got, want)
	}
	if n := strings.Count(log, "issues sw request"); n != 1 {
		t.Errorf("strongSwan's IMV issued %d SW requests, want 1 (the subscription's)", n)
	}
	if n := strings.Count(out, `IMC 3 "SWIMA" from IMV 3: compliant`); n < 3 {
		t.Errorf("%d compliant SWIMA verdicts in three assessments", n)
	}
	if t.Failed() {
		t.Logf("imchost run:\n%s\nstrongSwan's PDP:\n%s", c.output(), log)
	}
}

// TestSWIMAEventsReference: strongSwan's PDP with the 'SWID Tag IDs'
// policy, one apt transaction (tzdata upgraded, hello installed, bash
// removed) on two endpoints with the same software: strongSwan's
// pt-tls-client with imc-swima reading a sw-collector database (the
// reference) and imchost run. Each first contact asks for the identifier
// events from EID 1 (strongSwan's sw-collector has the installed packages
// as creations under EID 1 and the history's upgrade under EID 2: 10
// events; our record starts from a baseline: none). Once the IMV database
// knows the reference's EID 2 (as strongTNC would record it), the events of
// the transaction are 4 from both clients, each compliant.
func TestSWIMAEventsReference(t *testing.T) {
	p := needPeer(t)
	ref, our := newEndpoint(t, bootLog), newEndpoint(t, bootLog)
	refM, ourM := newSWIMAMachine(t), newSWIMAMachine(t)
	c := newSWCollector(t, p, refM)
	ss := startStrongSwanPDP(t, p, ssPDPOptions{users: defaultUser, swima: "SWID Tag IDs"})
	client := ssClientOptions{args: saslArgs, swima: &ssSWIMA{swidDirectory: filepath.Join(refM.root, "usr", "share"), database: c.db}}
	results := func() []string { return ssSWIDTResults(ss.log()) }

	out := ssClient(t, p, ref, ss.port, ss.pki.ca.file, client)
	checkVerdicts(t, "pt-tls-client", ssOutcome(out).verdicts, swimaCompliant)
	o := ourM.run(t, our, ss.port, ss.pki.ca.file)
	checkVerdicts(t, "imchost run", o.verdicts, swimaCompliant)
	want := []string{"allow - received 10 SW ID events and 0 SWID tags", "allow - received 0 SW ID events and 0 SWID tags"}
	if got := results(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("first contacts: strongSwan's SWIDT results %q, want %q\npt-tls-client:\n%s\nimchost run:\n%s\nPDP:\n%s", got, want, out, o.log, ss.log())
	}
	ss.exec(t, `INSERT INTO swid_events (device, epoch, eid, timestamp) SELECT id, 0, 2, '2025-06-02T08:14:51Z' FROM devices WHERE value = ?`, ref.ak.KeyID)

	refM.editStatus(t, transaction)
	ourM.editStatus(t, transaction)
	c.transaction(t)

	out = ssClient(t, p, ref, ss.port, ss.pki.ca.file, client)
	checkVerdicts(t, "pt-tls-client", ssOutcome(out).verdicts, swimaCompliant)
	o = ourM.run(t, our, ss.port, ss.pki.ca.file)
	checkVerdicts(t, "imchost run", o.verdicts, swimaCompliant)
	if !regexp.MustCompile(`issues sw request \d+ with earliest eid 3\n`).MatchString(ss.log()) {
		t.Errorf("strongSwan's IMV did not ask the reference for the events from EID 3")
	}
	const four = "allow - received 4 SW ID events and 0 SWID tags"
	if got := results(); len(got) != 4 || got[2] != four || got[3] != four {
		t.Errorf("after the transaction: strongSwan's SWIDT results %q, want the reference's and ours %q", got, four)
	}
	if t.Failed() {
		t.Logf("pt-tls-client:\n%s\nimchost run:\n%s\nPDP:\n%s", out, o.log, ss.log())
	}
}
