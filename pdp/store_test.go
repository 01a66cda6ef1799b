package pdp

import (
	"bytes"
	"context"
	"crypto/tls"
	"path/filepath"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pdp.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if known, _, err := s.Product(ctx, "Debian 12 x86_64"); err != nil || known {
		t.Fatalf("empty store knows product: %v %v", known, err)
	}
	if err := s.AllowProduct(ctx, "Debian 12 x86_64"); err != nil {
		t.Fatal(err)
	}
	d, err := s.AddDevice(ctx, "d41bcf69169cbbcbb9fa29a895264bff2224fc95", "Debian 12 x86_64", false)
	if err != nil {
		t.Fatal(err)
	}
	if d.Product != "Debian 12 x86_64" || d.Trusted {
		t.Fatalf("device row %+v", d)
	}
	// A second add keeps the row and its product even without a product.
	d2, err := s.AddDevice(ctx, d.Value, "", true)
	if err != nil || d2.ID != d.ID || d2.Product != d.Product || d2.Trusted {
		t.Fatalf("re-add gave %+v, %v", d2, err)
	}
	ms := []Measurement{{1, 0, bytes.Repeat([]byte{1}, 32)}, {2, 7, bytes.Repeat([]byte{2}, 32)}}
	if err := s.SetMeasurements(ctx, d.ID, MeasSHA256, ms); err != nil {
		t.Fatal(err)
	}
	if err := s.TrustAK(ctx, d.Value); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSession(ctx, SessionRecord{Time: time.Now(), Device: d.Value, Result: NonCompliantMinor,
		Recommendation: Isolate, Reasons: "PCR 7 measurement 2 differs"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Everything survives a reopen of the file.
	s, err = OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	known, allowed, err := s.Product(ctx, "Debian 12 x86_64")
	if err != nil || !known || !allowed {
		t.Fatalf("product after reopen: %v %v %v", known, allowed, err)
	}
	got, err := s.Measurements(ctx, d.ID, MeasSHA256)
	if err != nil || len(got) != 2 || got[1].PCR != 7 || !bytes.Equal(got[1].Digest, ms[1].Digest) {
		t.Fatalf("measurements after reopen: %+v %v", got, err)
	}
	if other, err := s.Measurements(ctx, d.ID, MeasSHA384); err != nil || len(other) != 0 {
		t.Fatalf("measurements are keyed by algorithm: %+v %v", other, err)
	}
	if ok, err := s.AKTrusted(ctx, d.Value); err != nil || !ok {
		t.Fatalf("AK trust after reopen: %v %v", ok, err)
	}
	if ok, err := s.AKTrusted(ctx, "0000000000000000000000000000000000000000"); err != nil || ok {
		t.Fatalf("unknown AK trusted: %v %v", ok, err)
	}
	sess, err := s.Sessions(ctx, 10)
	if err != nil || len(sess) != 1 || sess[0].Recommendation != Isolate || sess[0].Reasons == "" {
		t.Fatalf("sessions: %+v %v", sess, err)
	}
	// Replacing measurements drops the old set.
	if err := s.SetMeasurements(ctx, d.ID, MeasSHA256, ms[:1]); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Measurements(ctx, d.ID, MeasSHA256); len(got) != 1 {
		t.Fatalf("after replace: %d measurements", len(got))
	}
	if dev, err := s.Device(ctx, "unknown"); err != nil || dev != nil {
		t.Fatalf("unknown device: %+v %v", dev, err)
	}
}

func TestCombineDefaultPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     []IMVVerdict
		res    Result
		access Access
	}{
		{"none", nil, DontKnow, AccessDenied},
		{"allow+norec", []IMVVerdict{{Recommendation: Allow, Result: Compliant},
			{Recommendation: NoRecommendation, Result: DontKnow}}, Compliant, AccessAllowed},
		{"allow+isolate", []IMVVerdict{{Recommendation: Allow, Result: Compliant},
			{Recommendation: Isolate, Result: NonCompliantMinor}}, NonCompliantMinor, Quarantined},
		{"isolate+noaccess", []IMVVerdict{{Recommendation: NoAccess, Result: NonCompliantMajor},
			{Recommendation: Isolate, Result: NonCompliantMinor}}, NonCompliantMajor, AccessDenied},
		{"error wins", []IMVVerdict{{Recommendation: Allow, Result: ResultError},
			{Recommendation: Allow, Result: NonCompliantMajor}}, ResultError, AccessAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Combine(tc.in)
			if v.Result != tc.res || v.Access != tc.access {
				t.Fatalf("got %v / %v, want %v / %v", v.Result, v.Access, tc.res, tc.access)
			}
		})
	}
}

func TestNewAndCloseWithoutServe(t *testing.T) {
	if _, err := New(Config{Addr: "127.0.0.1:0"}); err == nil {
		t.Fatal("New without a certificate succeeded")
	}
	cert, _, err := SelfSignedCertificate(time.Hour, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p := DefaultPolicy()
	p.TrustedAKs = []string{"not-a-keyid"}
	if _, err := New(Config{Addr: "127.0.0.1:0", Certificates: []tls.Certificate{cert}, Policy: p}); err == nil {
		t.Fatal("New accepted a malformed AK keyid")
	}
	p.TrustedAKs = []string{"d41bcf69169cbbcbb9fa29a895264bff2224fc95"}
	p.Products = []string{"Debian 12 x86_64"}
	s, err := New(Config{Addr: "127.0.0.1:0", Certificates: []tls.Certificate{cert}, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if ok, _ := s.Store().AKTrusted(ctx, p.TrustedAKs[0]); !ok {
		t.Fatal("policy AK not seeded")
	}
	if _, allowed, _ := s.Store().Product(ctx, p.Products[0]); !allowed {
		t.Fatal("policy product not seeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ctx); err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
