package tests

// Modules stay in their lane, end to end: a vendor module forging the OS
// collector's posture against the project's PDP, and a PDP asking the OS
// IMC for its installed packages hundreds of times per batch.

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/hosttest"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
)

var (
	lanesOnce sync.Once
	lanesPath string
	lanesErr  error
)

// lanesIMC builds the hostile module of host/testdata/hostile/lanes once
// and returns its configuration in mode.
func lanesIMC(t *testing.T, mode string) host.IMCConfig {
	t.Helper()
	lanesOnce.Do(func() {
		lanesPath = filepath.Join(buildDir, "lanes.wasm")
		lanesErr = testutil.BuildWasm(lanesPath, "../host/testdata/hostile/lanes")
	})
	if lanesErr != nil {
		t.Fatal(lanesErr)
	}
	return host.IMCConfig{Name: "Vendor", Path: lanesPath, Grants: host.BaseGrants, Settings: host.Settings{"mode": mode}}
}

// TestHostileLaneForgery: on a machine with IP forwarding on (the PDP's
// verdict: Quarantined), a vendor module sends one IETF/Operating System
// message saying forwarding is off and naming another OS, and reports
// itself compliant from IMV 1. Its message never leaves the host, the
// verdict stays Quarantined, the PDP never hears of the other OS, and the
// summary has no line for it.
func TestHostileLaneForgery(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	imcs := append(imcConfigs(t, env.logPath), lanesIMC(t, "forge"))
	h := newHost(t, env.platform(t, fixtureRoot(t, true)), imcs)
	var pdpLog testutil.SyncBuffer
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(),
		Logger: hclog.New(&hclog.LoggerOptions{Output: &pdpLog, Level: hclog.Debug})})
	res, out := attestOK(t, p, h, nil, 1)
	if res.Recommendation != pb.RecommendationQuarantined || out.Verdict.Access == pdp.AccessAllowed {
		t.Errorf("verdict %s / %+v, want Quarantined (IP forwarding is on)", res.Recommendation, out.Verdict)
	}
	if l := pdpLog.String(); strings.Contains(l, "Evil Vendor OS") || !strings.Contains(l, "IPv4 forwarding is enabled") {
		t.Errorf("the PDP's OS IMV heard the vendor module:\n%s", l)
	}
	for _, r := range h.Reports(res.ConnID) {
		if r.IMC == "Vendor" {
			t.Errorf("the summary shows the vendor module's own report: %+v", r)
		}
	}
}

// TestHostilePDPPackages: a PDP asks the OS IMC for its installed packages
// (712 of them, ~18 KB) 30 times in each of six SDATA batches (3.2 MB of
// answers, 160 batches of the 20,000-byte limit configured here), then
// keeps giving the client rounds to send what it queued. Whoever asks, the
// OS IMC may queue 16 batch limits a round and 64 on the connection: the
// client has sent everything and goes quiet within 80 rounds, with the
// refusal logged, and still gets the decision.
func TestHostilePDPPackages(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	root := fixtureRoot(t, false)
	status, err := os.ReadFile("../imcs/os/testdata/dpkg-status")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), status, 0o644); err != nil {
		t.Fatal(err)
	}
	var clientLog testutil.SyncBuffer
	// Small PB limits (one packages attribute still fits a message); a
	// call deadline that a busy machine cannot miss.
	cfg := &host.Config{IMCs: imcConfigs(t, env.logPath)}
	cfg.Limits.MaxBatchSize, cfg.Limits.MaxMessageSize = 20000, 19968
	cfg.Wasm.CallTimeout = 20 * time.Second
	h := hosttest.Start(t, cfg, host.Options{
		Logger:   hclog.New(&hclog.LoggerOptions{Output: &clientLog, Level: hclog.Debug}),
		Platform: env.platform(t, root), CompilationCache: compCache})
	var reqs []patnc.Attr
	for range 30 {
		reqs = append(reqs, &patnc.AttrRequest{Types: []patnc.Type{patnc.TypeInstalledPackages}})
	}
	body, err := (&patnc.Message{ID: 1, Attrs: reqs}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bomb := &pb.MsgPA{Vendor: 0, Subtype: 1, Collector: pb.AnyID, Validator: 1, Body: body}
	const drains = 80
	var quietAfter, paBytes int
	script := func(t *testing.T, c *hostileConn) error {
		if err := firstBatch(c); err != nil {
			return err
		}
		exchange := func(msgs ...pb.Message) (int, error) {
			if err := c.send(pttls.TypePBBatch, batchBytes(t, true, pb.BatchSDATA, msgs...)); err != nil {
				return 0, err
			}
			if _, err := c.expect(pttls.TypePBBatch); err != nil {
				return 0, err
			}
			n := 0
			for _, m := range c.got[len(c.got)-1].Messages {
				if pa, ok := m.(*pb.MsgPA); ok {
					n += len(pa.Body)
				}
			}
			paBytes += n
			return n, nil
		}
		for range 6 {
			if _, err := exchange(bomb); err != nil {
				return err
			}
		}
		quietAfter = -1
		for i := range drains {
			n, err := exchange()
			if err != nil {
				return err
			}
			if n == 0 {
				quietAfter = i
				break
			}
		}
		return c.send(pttls.TypePBBatch, batchBytes(t, true, pb.BatchRESULT,
			&pb.MsgAssessmentResult{Result: pb.ResultCompliant}, &pb.MsgAccessRecommendation{Recommendation: pb.RecommendationAllowed}))
	}
	cert, pool, err := pdp.SelfSignedCertificate(time.Hour, pdpName, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	limits := func(cfg *tnccs.ClientConfig) {
		cfg.Limits = pb.Limits{MaxBatchSize: 20000, MaxMessageSize: 19968}
		cfg.MaxRounds = 120
	}
	res, err, _ := runHostilePDP(t, pdpCase{script: script, client: limits}, h, cert, pool)
	if err != nil || res == nil || !res.Decided {
		t.Fatalf("client: %v, %+v", err, res)
	}
	t.Logf("%d PA bytes sent, quiet after %d drain rounds", paBytes, quietAfter)
	if quietAfter < 0 {
		t.Errorf("the client still had queued PA messages after %d empty rounds (%d bytes sent so far)", drains, paBytes)
	}
	if budget := 64 * 20000; paBytes > budget {
		t.Errorf("the client sent %d PA bytes, beyond the connection budget of %d", paBytes, budget)
	}
	if !strings.Contains(clientLog.String(), `IMC 1 "OS" send refused on Connection ID 1: PA message of`) {
		t.Errorf("no refused send logged:\n%.4000s", clientLog.String())
	}
}
