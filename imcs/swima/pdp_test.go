//go:build !wasip1

package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/hosttest"
	"github.com/imchost/imchost/internal/pgtest"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
)

// osModule is imc-os.wasm (the OS IMC reports the Device ID the PDP files
// the software under): $IMCHOST_WASM_DIR's, else a build of imcs/os.
func osModule(t *testing.T) string { return testutil.Module(t, "imc-os.wasm", "../os") }

// swHost is the real host with the OS and SWIMA IMCs (wasm) on machine m,
// loaded; the OS IMC reports the Device ID "swima-test-device".
func swHost(t *testing.T, m machine, log hclog.Logger) *host.Host {
	t.Helper()
	cfg := &host.Config{IMCs: []host.IMCConfig{
		{Name: "OS", Path: osModule(t), Grants: []string{"send", "subscribe", "log", "log_level", "config_get",
			"os_release", "system_facts", "packages", "report", "tpm_aik"}, Settings: host.Settings{"device_id": "swima-test-device"}},
		{Name: imcName, Path: wasmModule(t), Grants: grants, Settings: host.Settings{capability.SettingSWState: m.state}},
	}}
	return hosttest.Start(t, cfg, host.Options{Logger: log,
		Platform: capability.Platform{System: &capability.FSSystem{Root: m.root, Arch: "x86_64"}}})
}

// startPDP runs our PDP over PT-TLS on loopback until stop (or the test's
// end) and returns it with a client configuration for it.
func startPDP(t *testing.T, cfg pdp.Config) (srv *pdp.Server, ccfg tnccs.ClientConfig, stop func()) {
	t.Helper()
	cert, pool, err := pdp.SelfSignedCertificate(time.Hour, "pdp.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.Certificates = "127.0.0.1:0", []tls.Certificate{cert}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	srv, err = pdp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	var once sync.Once
	stop = func() { once.Do(func() { srv.Close(); <-done }) }
	t.Cleanup(stop)
	ccfg = tnccs.ClientConfig{Addr: srv.Addr().String()}
	ccfg.PTTLS.RootCAs, ccfg.PTTLS.ServerName = pool, "pdp.test"
	return srv, ccfg, stop
}

// attest runs one attestation of m (OS and SWIMA IMCs in the real host)
// against our PDP on db, and returns the SWIMA IMV's verdict.
func attest(t *testing.T, m machine, db string, policy pdp.Policy) pdp.IMVVerdict {
	t.Helper()
	h := swHost(t, m, hclog.NewNullLogger())
	defer h.Close(context.Background())
	srv, ccfg, stop := startPDP(t, pdp.Config{DBPath: db, Policy: policy})
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := tnccs.Dial(ctx, ccfg, h); err != nil {
		t.Fatal(err)
	}
	outs, err := srv.WaitOutcomes(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range outs[0].Verdict.IMVs {
		if v.IMV == "SWIMA" {
			return v
		}
	}
	t.Fatalf("no SWIMA verdict in %+v", outs[0].Verdict)
	return pdp.IMVVerdict{}
}

// TestPDPSWIMA: our PDP's SWIMA IMV asks for the inventory on first
// contact and stores it, asks for the events since the last EID the next
// time, applies them, and fails a denied package with its remediation —
// on SQLite and on a real PostgreSQL.
func TestPDPSWIMA(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testPDPSWIMA(t, filepath.Join(t.TempDir(), "pdp.db")) })
	t.Run("postgres", func(t *testing.T) { testPDPSWIMA(t, pgtest.Start(t).Database(t)) })
}

func testPDPSWIMA(t *testing.T, db string) {
	m := newMachine(t)
	policy := pdp.DefaultPolicy()
	policy.SWIMA = true
	policy.SWDeny = []pdp.SWDenyRule{{Name: "tzdata", Version: "2025c-0+deb12u1", Remediation: "Please install tzdata 2025b"}}
	if v := attest(t, m, db, policy); v.Result != pdp.Compliant || v.Recommendation != pdp.Allow {
		t.Fatalf("first contact: %v %v %v", v.Result, v.Recommendation, v.Reasons)
	}
	st, d := storedDevice(t, db)
	ctx := context.Background()
	pkgs, err := st.SWPackages(ctx, d.ID)
	if err != nil || len(pkgs) != len(wantIDs(t)) {
		t.Fatalf("stored %d packages (%v), want %d", len(pkgs), err, len(wantIDs(t)))
	}
	for _, p := range pkgs {
		if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.SWID, "strongswan.org__Debian_12-x86_64-"+p.Name+"-") {
			t.Errorf("stored %+v", p)
		}
	}

	// tzdata upgraded to the denied version: the events since the last
	// EID make it non-compliant, with the remediation text.
	status, _ := os.ReadFile(filepath.Join(m.root, "var/lib/dpkg/status"))
	m.write(t, "var/lib/dpkg/status", strings.Replace(string(status), "Version: 2025b-0+deb12u2", "Version: 2025c-0+deb12u1", 1))
	v := attest(t, m, db, policy)
	if v.Result != pdp.NonCompliantMajor || v.Recommendation != pdp.Isolate || len(v.Remediation) != 1 ||
		v.Remediation[0].Text != "Please install tzdata 2025b" ||
		!strings.Contains(strings.Join(v.Reasons, "\n"), "strongswan.org__Debian_12-x86_64-tzdata-2025c-0~deb12u1") {
		t.Fatalf("after the upgrade: %v %v %v %+v", v.Result, v.Recommendation, v.Reasons, v.Remediation)
	}
	evs, err := st.SWEvents(ctx, d.ID, 10)
	if err != nil || len(evs) != 2 || evs[0].Action != 2 || evs[1].Action != 1 || evs[1].SWID != "strongswan.org__Debian_12-x86_64-tzdata-2025c-0~deb12u1" {
		t.Fatalf("stored events %+v %v", evs, err)
	}
	_, last, _, _ := st.SWState(ctx, d.ID)
	if last != 2 {
		t.Fatalf("last EID %d", last)
	}
}

// TestPDPSWIMAReassess: re-assessment within a kept session on a software
// event (policy sw_reassess). Endpoint A keeps its PB-TNC session with our
// PDP after a compliant first contact; its SWIMA IMC holds the IMV's
// subscription. tzdata is then upgraded to a denied version and a second
// connection of the same device (another host on the same machine: same
// Device ID, same record of changes) reports the events. The PDP asks A's
// connection for a re-assessment (SRETRY); A's SWIMA IMC pushes the events
// of its subscription at the new handshake and A's verdict turns
// non-compliant within its session. Without the policy's SRETRY, A's
// session hears nothing and keeps its compliant verdict.
func TestPDPSWIMAReassess(t *testing.T) {
	m := newMachine(t)
	policy := pdp.DefaultPolicy()
	policy.SWIMA, policy.SWReassess = true, true
	policy.SWDeny = []pdp.SWDenyRule{{Name: "tzdata", Version: "2025c-0+deb12u1", Remediation: "Please install tzdata 2025b"}}
	var pdpLogs strings.Builder
	var mu sync.Mutex
	_, ccfg, _ := startPDP(t, pdp.Config{DBPath: filepath.Join(t.TempDir(), "pdp.db"), Policy: policy, RetryIdle: time.Minute,
		Logger: hclog.New(&hclog.LoggerOptions{Output: lockedWriter{&mu, &pdpLogs}, Level: hclog.Info, DisableTime: true})})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	swReport := func(rs []host.IMCReport) (uint32, bool) {
		for _, r := range rs {
			if r.IMC == imcName {
				return r.Result, true
			}
		}
		return 0, false
	}

	var aLogs strings.Builder
	var amu sync.Mutex
	hA := swHost(t, m, hclog.New(&hclog.LoggerOptions{Output: lockedWriter{&amu, &aLogs}, Level: hclog.Info, DisableTime: true}))
	se, res, err := tnccs.NewClient(ccfg, hA).Open(ctx)
	if err != nil || !res.Decided {
		t.Fatalf("A's first contact: %v %+v", err, res)
	}
	defer se.Close(ctx)
	id := se.ConnID()
	if r, ok := swReport(hA.Reports(id)); !ok || r != uint32(pdp.Compliant) {
		t.Fatalf("A's SWIMA IMC got %d (%v), want compliant", r, ok)
	}

	status, _ := os.ReadFile(filepath.Join(m.root, "var/lib/dpkg/status"))
	m.write(t, "var/lib/dpkg/status", strings.Replace(string(status), "Version: 2025b-0+deb12u2", "Version: 2025c-0+deb12u1", 1))
	hB := swHost(t, m, hclog.NewNullLogger())
	resB, err := tnccs.Dial(ctx, ccfg, hB)
	if err != nil || !resB.Decided {
		t.Fatalf("B: %v %+v", err, resB)
	}
	if r, _ := swReport(hB.Reports(resB.ConnID)); r != uint32(pdp.NonCompliantMajor) {
		t.Fatalf("B's SWIMA IMC got %d, want non-compliant major", r)
	}

	// A's session: the PDP speaks (its SRETRY) without any CRETRY of ours.
	if spoke, err := se.Wait(ctx, time.Now().Add(20*time.Second)); !spoke || err != nil {
		t.Fatalf("A heard nothing from the PDP (%v, %v): no re-assessment on the software event\nPDP log:\n%s", spoke, err, pdpLogs.String())
	}
	n := len(hA.Reports(id))
	r, err := se.Reassess(ctx)
	if err != nil || !r.Decided || r.RetryBy != "server" || r.Reassessment != 1 {
		t.Fatalf("A's re-assessment: %v %+v", err, r)
	}
	if got, ok := swReport(hA.Reports(id)[n:]); !ok || got != uint32(pdp.NonCompliantMajor) {
		t.Errorf("A's SWIMA IMC got %d (%v) after the SRETRY, want non-compliant major", got, ok)
	}
	if r.Recommendation == pb.RecommendationAllowed {
		t.Errorf("A's re-assessment allowed access: %+v", r)
	}
	amu.Lock()
	la := aLogs.String()
	amu.Unlock()
	if !strings.Contains(la, "SWIMA subscription") || !strings.Contains(la, ": 2 new events") {
		t.Errorf("A's SWIMA IMC did not push the events of its subscription:\n%s", la)
	}
	mu.Lock()
	lp := pdpLogs.String()
	mu.Unlock()
	// The re-assessment checked the standing subscription with the IMC
	// (Subscription Status Request and Response, RFC 8412 §3.8.4).
	if !strings.Contains(lp, "is active on the endpoint") {
		t.Errorf("PDP log: the subscription was not confirmed:\n%s", lp)
	}
	// A was the PDP's first connection.
	if want := fmt.Sprintf("asking Connection ID %d of device 'swima-test-device' for a re-assessment", 1); !strings.Contains(lp, want) {
		t.Errorf("PDP log lacks %q:\n%s", want, lp)
	}
}

// TestPDPSWIMAIdentifiers: policy sw_identifiers makes our PDP ask for
// software identifiers only (the R flag, as strongSwan's 'SWID Tag IDs'
// policy): the inventory stored is the identifiers strongSwan forms, with
// no name or version (no SWID tags came), the events are identifier events,
// and a deny rule still finds the upgraded package by its identifier.
func TestPDPSWIMAIdentifiers(t *testing.T) {
	m := newMachine(t)
	db := filepath.Join(t.TempDir(), "pdp.db")
	policy := pdp.DefaultPolicy()
	policy.SWIMA, policy.SWIdentifiers = true, true
	policy.SWDeny = []pdp.SWDenyRule{{Name: "tzdata", Version: "2025c-0+deb12u1"}}
	if v := attest(t, m, db, policy); v.Result != pdp.Compliant || v.Recommendation != pdp.Allow {
		t.Fatalf("first contact: %v %v %v", v.Result, v.Recommendation, v.Reasons)
	}
	st, d := storedDevice(t, db)
	ctx := context.Background()
	pkgs, err := st.SWPackages(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range pkgs {
		if p.Name != "" || p.Version != "" {
			t.Errorf("stored %+v: a name and version without SWID tags", p)
		}
		ids = append(ids, p.SWID)
	}
	want := wantIDs(t)
	sort.Strings(ids)
	sort.Strings(want)
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("stored %q, want %q", ids, want)
	}
	status, _ := os.ReadFile(filepath.Join(m.root, "var/lib/dpkg/status"))
	m.write(t, "var/lib/dpkg/status", strings.Replace(string(status), "Version: 2025b-0+deb12u2", "Version: 2025c-0+deb12u1", 1))
	if v := attest(t, m, db, policy); v.Result != pdp.NonCompliantMajor ||
		!strings.Contains(strings.Join(v.Reasons, "\n"), "strongswan.org__Debian_12-x86_64-tzdata-2025c-0~deb12u1") {
		t.Fatalf("after the upgrade: %v %v %v", v.Result, v.Recommendation, v.Reasons)
	}
	evs, err := st.SWEvents(ctx, d.ID, 10)
	if err != nil || len(evs) != 2 || evs[1].SWID != "strongswan.org__Debian_12-x86_64-tzdata-2025c-0~deb12u1" || evs[1].Name != "" {
		t.Fatalf("stored events %+v %v", evs, err)
	}
}

// storedDevice opens the PDP's store at db (closed at the test's end) and
// finds the test machine's device in it.
func storedDevice(t *testing.T, db string) (pdp.Store, *pdp.Device) {
	t.Helper()
	st, err := pdp.OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := st.Device(context.Background(), "swima-test-device")
	if err != nil || d == nil {
		t.Fatalf("device %v %v", d, err)
	}
	return st, d
}
