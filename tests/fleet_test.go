package tests

// The PDP as a fleet runs it: several `imchost pdp serve` processes on one
// PostgreSQL database (a real server the test starts, internal/pgtest), a
// fleet of simulated endpoints (internal/loadgen) spread over them, and the
// operations of one process: SIGHUP reloads the policy, SIGTERM lets running
// attestations finish and refuses new ones, --metrics counts it all.

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/loadgen"
	"github.com/imchost/imchost/internal/pgtest"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pttls"
)

// fleetPool trusts the self-signed CAs of several pdp serve processes.
func fleetPool(t *testing.T, ps ...*pdpProcess) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, p := range ps {
		if !pool.AppendCertsFromPEM(p.ca) {
			t.Fatal("no CA certificate from pdp serve")
		}
	}
	return pool
}

// TestFleetReplicasOnePostgres: two pdp serve processes on one PostgreSQL
// database serve one fleet. Every endpoint makes its first contact on both
// replicas at the same moment (the race a load balancer creates), then the
// fleet re-attests spread over both. Every attestation is allowed, each
// device is stored once with exactly its boot log, and every session is
// recorded.
func TestFleetReplicasOnePostgres(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.Database(t)
	a := startPDPProcess(t, "--db", url)
	b := startPDPProcess(t, "--db", url)
	pool := fleetPool(t, a, b)
	const endpoints, events = 12, 60
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	eps := make([]*loadgen.Endpoint, endpoints)
	var wg sync.WaitGroup
	errs := make(chan error, 2*endpoints)
	for i := range eps {
		e, err := loadgen.NewEndpoint(i, events)
		if err != nil {
			t.Fatal(err)
		}
		eps[i] = e
		for _, p := range []*pdpProcess{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := tnccs.NewClient(tnccs.ClientConfig{Addr: p.addr, PTTLS: pttls.ClientConfig{
					ServerName: "127.0.0.1", RootCAs: pool}}, e)
				res, err := c.Assess(ctx)
				switch {
				case err != nil:
					errs <- fmt.Errorf("first contact of %s at %s: %w", e.KeyID, p.addr, err)
				case !res.Decided || res.Recommendation != 1:
					errs <- fmt.Errorf("first contact of %s at %s: %+v", e.KeyID, p.addr, res)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	rep, err := loadgen.Run(ctx, loadgen.Config{Addrs: []string{a.addr, b.addr}, ServerName: "127.0.0.1",
		RootCAs: pool, Endpoints: 8, Events: events, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.First.Failed+rep.Repeat.Failed != 0 || rep.Repeat.Attestations < 8 {
		t.Fatalf("fleet over two replicas: %s", rep)
	}

	st, err := pdp.OpenStore(url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sess, err := st.Sessions(ctx, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*endpoints + rep.First.Attestations + rep.Repeat.Attestations; len(sess) != want {
		t.Errorf("%d sessions recorded, %d attestations made", len(sess), want)
	}
	for _, e := range eps {
		d, err := st.Device(ctx, e.KeyID)
		if err != nil || d == nil {
			t.Fatalf("device %s: %+v %v", e.KeyID, d, err)
		}
		ms, err := st.Measurements(ctx, d.ID, pdp.MeasSHA256)
		if err != nil || len(ms) != events {
			t.Errorf("device %s: %d measurements stored for a %d-event boot log (%v)", e.KeyID, len(ms), events, err)
		}
		for i, m := range ms {
			if m.Seq != i+1 {
				t.Errorf("device %s: measurement %d has sequence number %d", e.KeyID, i+1, m.Seq)
				break
			}
		}
	}
}

// gatedEndpoint holds an endpoint's first batch until open is closed: an
// attestation that is running (admitted, TLS and PT-TLS done) when the
// test acts.
type gatedEndpoint struct {
	*loadgen.Endpoint
	started chan struct{}
	open    chan struct{}
}

func (g *gatedEndpoint) Open(ctx context.Context, id tnccs.ConnID, send tnccs.SendFunc) (tnccs.IMCConn, error) {
	c, err := g.Endpoint.Open(ctx, id, send)
	if err != nil {
		return nil, err
	}
	return &gatedConn{IMCConn: c, g: g}, nil
}

type gatedConn struct {
	tnccs.IMCConn
	g *gatedEndpoint
}

func (c *gatedConn) BeginHandshake(ctx context.Context) {
	close(c.g.started)
	<-c.g.open
	c.IMCConn.BeginHandshake(ctx)
}

// TestCLIPDPServeOperations: pdp serve with --policy and --metrics. A
// SIGHUP with a stricter policy file applies to the next connections (a new
// device is refused, a known one still allowed); a broken policy file on
// SIGHUP keeps the old policy. SIGTERM while an attestation runs: it gets
// its verdict, a new connection does not, the process exits 0. The metrics
// count what happened.
func TestCLIPDPServeOperations(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(policy, []byte("learn_devices = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startPDPProcess(t, "--policy", policy, "--metrics", "127.0.0.1:0", "--db", filepath.Join(dir, "pdp.db"))
	m := regexp.MustCompile(`metrics on http://(127\.0\.0\.1:\d+)/metrics`).FindStringSubmatch(p.logs.String())
	if m == nil {
		t.Fatalf("no metrics address in the log:\n%s", p.logs.String())
	}
	metricsURL := "http://" + m[1] + "/metrics"
	pool := fleetPool(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := func(imcs tnccs.IMCs) *tnccs.Client {
		return tnccs.NewClient(tnccs.ClientConfig{Addr: p.addr, PTTLS: pttls.ClientConfig{
			ServerName: "127.0.0.1", RootCAs: pool, Timeout: 30 * time.Second}}, imcs)
	}
	endpoint := func(i int) *loadgen.Endpoint {
		e, err := loadgen.NewEndpoint(i, 30)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	attest := func(c *tnccs.Client) (uint8, error) {
		res, err := c.Assess(ctx)
		if err != nil {
			return 0, err
		}
		return uint8(res.Recommendation), nil
	}
	e0 := endpoint(0)
	known := client(e0)
	if rec, err := attest(known); err != nil || rec != 1 {
		t.Fatalf("first endpoint under the learning policy: %d %v", rec, err)
	}

	// Stricter: unknown devices are no longer learned.
	if err := os.WriteFile(policy, []byte("require_known_device = true\nlearn_devices = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, p, "policy reloaded", 1)
	if rec, err := attest(client(endpoint(1))); err != nil || rec == 1 {
		t.Fatalf("a new device after the reload: recommendation %d, %v; want refused", rec, err)
	}
	if rec, err := attest(known); err != nil || rec != 1 {
		t.Fatalf("the known device after the reload: %d %v", rec, err)
	}
	// A broken file: the strict policy stays.
	if err := os.WriteFile(policy, []byte("no_such_setting = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, p, "policy not reloaded", 1)
	if rec, err := attest(client(endpoint(2))); err != nil || rec == 1 {
		t.Fatalf("a new device after a failed reload: recommendation %d, %v; want refused", rec, err)
	}

	scrape := scrapeMetrics(t, metricsURL)
	for _, want := range []string{
		`imchost_pdp_attestations_total{verdict="allowed"} 2`,
		`imchost_pdp_attestations_total{verdict="isolate"} 2`,
		`imchost_pdp_policy_reloads_total{result="ok"} 1`,
		`imchost_pdp_policy_reloads_total{result="error"} 1`,
		`imchost_pdp_active_sessions 0`,
		`imchost_pdp_attestation_duration_seconds_count 4`,
	} {
		if !strings.Contains(scrape, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, grepLines(scrape, "imchost_pdp_"))
		}
	}

	// SIGTERM while an attestation runs.
	g := &gatedEndpoint{Endpoint: e0, started: make(chan struct{}), open: make(chan struct{})}
	running := make(chan error, 1)
	go func() {
		rec, err := attest(client(g))
		if err == nil && rec != 1 {
			err = fmt.Errorf("recommendation %d", rec)
		}
		running <- err
	}()
	<-g.started
	if !strings.Contains(scrapeMetrics(t, metricsURL), "imchost_pdp_active_sessions 1\n") {
		t.Error("the running attestation is not an active session")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitLog(t, p, "no new clients accepted", 1)
	if _, err := attest(client(endpoint(3))); err == nil {
		t.Error("a new attestation after SIGTERM was served")
	}
	close(g.open)
	if err := <-running; err != nil {
		t.Errorf("the attestation running at SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("pdp serve still running 30 s after SIGTERM and its last attestation")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
}

func waitLog(t *testing.T, p *pdpProcess, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(p.logs.String(), text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("pdp serve did not log %q:\n%s", text, p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func scrapeMetrics(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
