package pdp

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/pgtest"
)

// engines runs a store test once per engine: SQLite in a file of the
// test's, and PostgreSQL (a real server started for this package, a fresh
// database per run). open opens the same database again each call, as a
// restarted PDP or a second replica would.
func engines(t *testing.T, test func(t *testing.T, open func() Store)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "pdp.db")
		test(t, func() Store { return mustOpen(t, path) })
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgServer(t).Database(t)
		test(t, func() Store { return mustOpen(t, url) })
	})
}

func mustOpen(t *testing.T, db string) Store {
	t.Helper()
	s, err := OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	pgOnce sync.Once
	pgSrv  *pgtest.Server
	pgErr  error
)

// pgServer is the package's PostgreSQL server, started on first use and
// stopped by TestMain.
func pgServer(t *testing.T) *pgtest.Server {
	t.Helper()
	if !pgtest.Available() {
		t.Skip("PostgreSQL is not installed (apt-get install postgresql, or `make test-deps`)")
	}
	pgOnce.Do(func() { pgSrv, pgErr = pgtest.StartServer() })
	if pgErr != nil {
		t.Fatalf("PostgreSQL: %v", pgErr)
	}
	return pgSrv
}

func stopPG() {
	if pgSrv != nil {
		pgSrv.Stop()
	}
}

func TestStoreRoundTrip(t *testing.T) { engines(t, testStoreRoundTrip) }

func testStoreRoundTrip(t *testing.T, open func() Store) {
	ctx := context.Background()
	s := open()
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

	// Everything survives a reopen.
	s = open()
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
	// Registration does not replace what is there.
	ref, registered, err := s.RegisterMeasurements(ctx, d.ID, MeasSHA256, ms)
	if err != nil || registered || len(ref) != 1 {
		t.Fatalf("register over an existing set: %d %v %v", len(ref), registered, err)
	}
	if ref, registered, err := s.RegisterMeasurements(ctx, d.ID, MeasSHA1, ms); err != nil || !registered || len(ref) != 2 {
		t.Fatalf("register a new algorithm: %d %v %v", len(ref), registered, err)
	}
	if dev, err := s.Device(ctx, "unknown"); err != nil || dev != nil {
		t.Fatalf("unknown device: %+v %v", dev, err)
	}
	// More measurements than one INSERT carries.
	many := make([]Measurement, 2*insertRows+3)
	for i := range many {
		many[i] = Measurement{Seq: i + 1, PCR: i % 8, Digest: bytes.Repeat([]byte{byte(i)}, 48)}
	}
	if err := s.SetMeasurements(ctx, d.ID, MeasSHA384, many); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Measurements(ctx, d.ID, MeasSHA384); err != nil || len(got) != len(many) ||
		got[len(many)-1].Seq != len(many) || !bytes.Equal(got[len(many)-1].Digest, many[len(many)-1].Digest) {
		t.Fatalf("%d measurements stored, %d read back: %v", len(many), len(got), err)
	}
}

// TestStoreMigrations: a new database gets every migration once, a reopen
// applies none again, and a database from a newer imchost is refused
// rather than written with an older schema in mind.
func TestStoreMigrations(t *testing.T) { engines(t, testStoreMigrations) }

func testStoreMigrations(t *testing.T, open func() Store) {
	ctx := context.Background()
	versions := func(s Store) []int {
		rows, err := s.(*sqlStore).db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}
	s := open()
	want := fmt.Sprint(SchemaVersion)
	if got := versions(s); len(got) != len(migrations) || fmt.Sprint(got[len(got)-1]) != want {
		t.Fatalf("applied %v, want versions 1..%s", got, want)
	}
	s.Close()
	s = open()
	if got := versions(s); len(got) != len(migrations) {
		t.Fatalf("reopen applied migrations again: %v", got)
	}
	if _, err := s.(*sqlStore).db.ExecContext(ctx, s.(*sqlStore).d.q(
		`INSERT INTO schema_migrations(version, applied_at, what) VALUES(?, 0, 'from the future')`), SchemaVersion+5); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := "?"
	switch st := s.(*sqlStore); st.d.name {
	case "postgres":
		db = st.url
	default:
		db = st.path
	}
	if _, err := OpenStore(db); err == nil || !strings.Contains(err.Error(), "newer than this imchost") {
		t.Fatalf("a newer schema opened: %v", err)
	}
}

// TestStoreConcurrentFirstContact: replicas (here eight Stores on one
// database, each with its own connections) learn the same new device at
// the same moment, each with its own evidence. One row per device, one
// registration wins, every replica compares against that one set, and no
// measurement is lost or doubled.
func TestStoreConcurrentFirstContact(t *testing.T) { engines(t, testStoreConcurrentFirstContact) }

func testStoreConcurrentFirstContact(t *testing.T, open func() Store) {
	ctx := context.Background()
	const replicas, devices = 8, 6
	stores := make([]Store, replicas)
	for i := range stores {
		stores[i] = open()
	}
	type reg struct {
		id         int64
		ref        []Measurement
		registered bool
	}
	results := make([][]reg, devices)
	for d := range results {
		results[d] = make([]reg, replicas)
	}
	var wg sync.WaitGroup
	errs := make(chan error, replicas*devices)
	start := make(chan struct{})
	for r := range replicas {
		for d := range devices {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st := stores[r]
				dev, err := st.AddDevice(ctx, fmt.Sprintf("%040x", d), fmt.Sprintf("Product %d", d%2), false)
				if err != nil {
					errs <- err
					return
				}
				// Each replica saw a different boot: 10+r measurements.
				ms := make([]Measurement, 10+r)
				for i := range ms {
					ms[i] = Measurement{Seq: i + 1, PCR: i % 8, Digest: bytes.Repeat([]byte{byte(r)}, 32)}
				}
				ref, ok, err := st.RegisterMeasurements(ctx, dev.ID, MeasSHA256, ms)
				if err != nil {
					errs <- err
					return
				}
				results[d][r] = reg{dev.ID, ref, ok}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for d, rs := range results {
		winners := 0
		var winner []Measurement
		for _, r := range rs {
			if r.id != rs[0].id {
				t.Fatalf("device %d: replicas got device ids %d and %d", d, rs[0].id, r.id)
			}
			if r.registered {
				winners++
				winner = r.ref
			}
		}
		if winners != 1 {
			t.Fatalf("device %d: %d registrations won, want exactly 1", d, winners)
		}
		for r, x := range rs {
			if !sameMeasurements(x.ref, winner) {
				t.Fatalf("device %d: replica %d compares against %d measurements, the stored set has %d", d, r, len(x.ref), len(winner))
			}
		}
		stored, err := stores[0].Measurements(ctx, rs[0].id, MeasSHA256)
		if err != nil || !sameMeasurements(stored, winner) {
			t.Fatalf("device %d: %d measurements stored, the winner registered %d (%v)", d, len(stored), len(winner), err)
		}
	}
	var n int
	if err := stores[0].(*sqlStore).db.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices`).Scan(&n); err != nil || n != devices {
		t.Fatalf("%d device rows for %d devices (%v)", n, devices, err)
	}
	if err := stores[0].(*sqlStore).db.QueryRowContext(ctx, `SELECT COUNT(*) FROM products`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d product rows for 2 products (%v)", n, err)
	}
}

func sameMeasurements(a, b []Measurement) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Seq != b[i].Seq || a[i].PCR != b[i].PCR || !bytes.Equal(a[i].Digest, b[i].Digest) {
			return false
		}
	}
	return true
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
