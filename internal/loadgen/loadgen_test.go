package loadgen

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/imchost/imchost/pdp"
)

// TestRunAgainstPDP: a small fleet against the project's PDP on loopback.
// Every endpoint's first contact registers its own device, AK and boot
// measurements; every repeat is enforced against them and allowed.
func TestRunAgainstPDP(t *testing.T) {
	cert, pool, err := pdp.SelfSignedCertificate(time.Hour, "pdp.test")
	if err != nil {
		t.Fatal(err)
	}
	p := pdp.DefaultPolicy()
	p.AllowMissingAttestation = false
	srv, err := pdp.New(pdp.Config{Addr: "127.0.0.1:0", Certificates: []tls.Certificate{cert}, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(context.Background())
	defer srv.Close()
	const n = 4
	rep, err := Run(context.Background(), Config{Addrs: []string{srv.Addr().String()}, ServerName: "pdp.test",
		RootCAs: pool, Endpoints: n, Events: 40, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.First.Attestations != n || rep.First.Failed != 0 {
		t.Fatalf("first contact: %+v", rep.First)
	}
	if rep.Repeat.Attestations < n || rep.Repeat.Failed != 0 || rep.Repeat.P99 <= 0 {
		t.Fatalf("repeat: %+v", rep.Repeat)
	}
	ctx := context.Background()
	sess, err := srv.Store().Sessions(ctx, 100000)
	if err != nil || len(sess) != rep.First.Attestations+rep.Repeat.Attestations {
		t.Fatalf("%d sessions recorded for %d attestations (%v)", len(sess), rep.First.Attestations+rep.Repeat.Attestations, err)
	}
	devices := map[string]bool{}
	for _, s := range sess {
		if s.Result != pdp.Compliant {
			t.Fatalf("session %+v", s)
		}
		devices[s.Device] = true
	}
	if len(devices) != n {
		t.Fatalf("%d devices attested, want %d", len(devices), n)
	}
	for dev := range devices {
		d, err := srv.Store().Device(ctx, dev)
		if err != nil || d == nil {
			t.Fatalf("device %s: %v", dev, err)
		}
		if ms, err := srv.Store().Measurements(ctx, d.ID, pdp.MeasSHA256); err != nil || len(ms) != 40 {
			t.Fatalf("device %s: %d measurements (%v)", dev, len(ms), err)
		}
	}
}
