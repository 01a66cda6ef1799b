//go:build !wasip1

package main

import (
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/pgtest"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
)

var (
	osOnce sync.Once
	osDir  string // removed by TestMain
	osPath string
	osErr  error
)

// osModule is imc-os.wasm (the OS IMC reports the Device ID the PDP files
// the software under): $IMCHOST_WASM_DIR's, else a fresh build.
func osModule(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("IMCHOST_WASM_DIR"); dir != "" {
		if p := filepath.Join(dir, "imc-os.wasm"); fileExists(p) {
			return p
		}
	}
	osOnce.Do(func() {
		if osDir, osErr = os.MkdirTemp("", "imc-os-wasm-"); osErr != nil {
			return
		}
		osPath = filepath.Join(osDir, "imc-os.wasm")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if !fileExists(goBin) {
			goBin = "go"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goBin, "build", "-buildmode=c-shared", "-trimpath", "-o", osPath, "../os")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			osErr = &buildError{err, string(out)}
		}
	})
	if osErr != nil {
		t.Fatal(osErr)
	}
	return osPath
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// attest runs one attestation of m (OS and SWIMA IMCs in the real host)
// against our PDP on db, and returns the SWIMA IMV's verdict.
func attest(t *testing.T, m machine, db string, policy pdp.Policy) pdp.IMVVerdict {
	t.Helper()
	cfg := &host.Config{IMCs: []host.IMCConfig{
		{Name: "OS", Path: osModule(t), Grants: []string{"send", "subscribe", "log", "log_level", "config_get",
			"os_release", "system_facts", "packages", "report", "tpm_aik"}, Settings: host.Settings{"device_id": "swima-test-device"}},
		{Name: imcName, Path: wasmModule(t), Grants: grants, Settings: host.Settings{capability.SettingSWState: m.state}},
	}}
	h, err := host.New(cfg, host.Options{Logger: hclog.NewNullLogger(),
		Platform: capability.Platform{System: &capability.FSSystem{Root: m.root, Arch: "x86_64"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	if err := h.LoadIMCs(context.Background()); err != nil {
		t.Fatal(err)
	}
	cert, pool, err := pdp.SelfSignedCertificate(time.Hour, "pdp.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := pdp.New(pdp.Config{Addr: "127.0.0.1:0", Certificates: []tls.Certificate{cert}, DBPath: db, Policy: policy,
		Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	defer func() { srv.Close(); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ccfg := tnccs.ClientConfig{Addr: srv.Addr().String()}
	ccfg.PTTLS.RootCAs, ccfg.PTTLS.ServerName = pool, "pdp.test"
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
	st, err := pdp.OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	d, err := st.Device(ctx, "swima-test-device")
	if err != nil || d == nil {
		t.Fatalf("device %v %v", d, err)
	}
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
