package pdp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

// schema is the PDP database, a small cousin of strongSwan's imv database:
// products, devices (keyed by the ITA Device ID the OS IMC sends, normally the
// AK keyid), trusted AK keyids, and the boot measurements learned on a
// device's first contact (strongSwan's component_hashes), one row per
// (device, algorithm, sequence number).
const schema = `
CREATE TABLE IF NOT EXISTS products (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE,
	allowed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS devices (
	id         INTEGER PRIMARY KEY,
	value      TEXT NOT NULL UNIQUE,
	product    INTEGER REFERENCES products(id),
	trusted    INTEGER NOT NULL DEFAULT 0,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS aks (
	keyid   TEXT PRIMARY KEY,
	device  INTEGER REFERENCES devices(id),
	trusted INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS measurements (
	device INTEGER NOT NULL REFERENCES devices(id),
	algo   INTEGER NOT NULL,
	seq    INTEGER NOT NULL,
	pcr    INTEGER NOT NULL,
	digest BLOB NOT NULL,
	PRIMARY KEY (device, algo, seq)
);
CREATE TABLE IF NOT EXISTS sessions (
	id             INTEGER PRIMARY KEY,
	time           INTEGER NOT NULL,
	device         TEXT NOT NULL,
	product        TEXT NOT NULL,
	result         INTEGER NOT NULL,
	recommendation INTEGER NOT NULL,
	reasons        TEXT NOT NULL
);
`

// maxMeasurements bounds how many reference measurements one device may have
// per algorithm (a boot log has a few hundred events; IMA is not stored).
const maxMeasurements = 65536

// Store is the PDP's SQLite database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
}

// Measurement is one reference boot measurement: the digest extended into
// PCR at position Seq (1-based, as strongSwan numbers component hashes) of the
// evidence sequence for one PTS measurement algorithm.
type Measurement struct {
	Seq    int
	PCR    int
	Digest []byte
}

// Device is a device row.
type Device struct {
	ID        int64
	Value     string // the ITA Device ID (normally the AK keyid, 40 hex)
	Product   string // product key, e.g. "Debian 12 x86_64"; "" if unknown
	Trusted   bool
	FirstSeen time.Time
	LastSeen  time.Time
}

// OpenStore opens (and creates if needed) the SQLite database at path.
// ":memory:" gives a private in-memory database.
func OpenStore(path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
	if path == ":memory:" {
		dsn = "file::memory:?_pragma=foreign_keys(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("pdp: open database %s: %w", path, err)
	}
	// One connection: SQLite serialises writers anyway, and an in-memory
	// database exists per connection.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("pdp: create schema in %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// AllowProduct marks a product (e.g. "Debian 12 x86_64") as allowed by policy.
func (s *Store) AllowProduct(ctx context.Context, name string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO products(name, allowed) VALUES(?, 1)
		ON CONFLICT(name) DO UPDATE SET allowed = 1`, name)
	if err != nil {
		return fmt.Errorf("pdp: allow product %q: %w", name, err)
	}
	return nil
}

// Product returns whether a product is known and whether it is allowed.
func (s *Store) Product(ctx context.Context, name string) (known, allowed bool, err error) {
	var a int
	err = s.db.QueryRowContext(ctx, `SELECT allowed FROM products WHERE name = ?`, name).Scan(&a)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("pdp: product %q: %w", name, err)
	}
	return true, a != 0, nil
}

// LearnProduct records a product as allowed (policy "learn").
func (s *Store) LearnProduct(ctx context.Context, name string) error {
	return s.AllowProduct(ctx, name)
}

// Device returns the device row for an ITA Device ID, or nil if unknown.
func (s *Store) Device(ctx context.Context, value string) (*Device, error) {
	var d Device
	var product sql.NullString
	var trusted int
	var first, last int64
	err := s.db.QueryRowContext(ctx, `SELECT d.id, d.value, p.name, d.trusted, d.first_seen, d.last_seen
		FROM devices d LEFT JOIN products p ON p.id = d.product WHERE d.value = ?`, value).
		Scan(&d.ID, &d.Value, &product, &trusted, &first, &last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("pdp: device %q: %w", value, err)
	}
	d.Product, d.Trusted = product.String, trusted != 0
	d.FirstSeen, d.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
	return &d, nil
}

// AddDevice records a device (or refreshes its last-seen time and product)
// and returns its row. trusted is only applied to a new row.
func (s *Store) AddDevice(ctx context.Context, value, product string, trusted bool) (*Device, error) {
	now := time.Now().Unix()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("pdp: add device: %w", err)
	}
	defer tx.Rollback()
	var productID sql.NullInt64
	if product != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO products(name, allowed) VALUES(?, 0)
			ON CONFLICT(name) DO NOTHING`, product); err != nil {
			return nil, fmt.Errorf("pdp: add product %q: %w", product, err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM products WHERE name = ?`, product).
			Scan(&productID); err != nil {
			return nil, fmt.Errorf("pdp: product %q: %w", product, err)
		}
	}
	t := 0
	if trusted {
		t = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO devices(value, product, trusted, first_seen, last_seen)
		VALUES(?, ?, ?, ?, ?)
		ON CONFLICT(value) DO UPDATE SET last_seen = excluded.last_seen,
			product = COALESCE(excluded.product, devices.product)`,
		value, productID, t, now, now); err != nil {
		return nil, fmt.Errorf("pdp: add device %q: %w", value, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("pdp: add device %q: %w", value, err)
	}
	return s.Device(ctx, value)
}

// TrustAK marks an AK keyid (SHA-1 of its DER SubjectPublicKeyInfo, 40
// lower-case hex) as trusted. This is how an operator enrols an endpoint when
// the policy does not learn AKs on first contact.
func (s *Store) TrustAK(ctx context.Context, keyid string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO aks(keyid, trusted) VALUES(?, 1)
		ON CONFLICT(keyid) DO UPDATE SET trusted = 1`, keyid)
	if err != nil {
		return fmt.Errorf("pdp: trust AK %s: %w", keyid, err)
	}
	return nil
}

// AKTrusted reports whether an AK keyid is recorded as trusted.
func (s *Store) AKTrusted(ctx context.Context, keyid string) (bool, error) {
	var t int
	err := s.db.QueryRowContext(ctx, `SELECT trusted FROM aks WHERE keyid = ?`, keyid).Scan(&t)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("pdp: AK %s: %w", keyid, err)
	}
	return t != 0, nil
}

// Measurements returns the reference measurements of a device for one PTS
// measurement algorithm (its bit, e.g. 0x4000 for SHA-256), ordered by Seq.
func (s *Store) Measurements(ctx context.Context, device int64, algo uint16) ([]Measurement, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, pcr, digest FROM measurements
		WHERE device = ? AND algo = ? ORDER BY seq LIMIT ?`, device, algo, maxMeasurements)
	if err != nil {
		return nil, fmt.Errorf("pdp: measurements of device %d: %w", device, err)
	}
	defer rows.Close()
	var out []Measurement
	for rows.Next() {
		var m Measurement
		if err := rows.Scan(&m.Seq, &m.PCR, &m.Digest); err != nil {
			return nil, fmt.Errorf("pdp: measurements of device %d: %w", device, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pdp: measurements of device %d: %w", device, err)
	}
	return out, nil
}

// SetMeasurements replaces the reference measurements of a device for one
// algorithm (registration on first contact).
func (s *Store) SetMeasurements(ctx context.Context, device int64, algo uint16, ms []Measurement) error {
	if len(ms) > maxMeasurements {
		return fmt.Errorf("pdp: %d measurements exceed the limit of %d", len(ms), maxMeasurements)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pdp: store measurements: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM measurements WHERE device = ? AND algo = ?`,
		device, algo); err != nil {
		return fmt.Errorf("pdp: store measurements: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO measurements(device, algo, seq, pcr, digest)
		VALUES(?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("pdp: store measurements: %w", err)
	}
	defer stmt.Close()
	for _, m := range ms {
		if _, err := stmt.ExecContext(ctx, device, algo, m.Seq, m.PCR, m.Digest); err != nil {
			return fmt.Errorf("pdp: store measurement %d: %w", m.Seq, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pdp: store measurements: %w", err)
	}
	return nil
}

// SessionRecord is one finished assessment as kept in the sessions table.
type SessionRecord struct {
	Time           time.Time
	Device         string
	Product        string
	Result         Result
	Recommendation Recommendation
	Reasons        string
}

// AddSession records the verdict of a finished connection.
func (s *Store) AddSession(ctx context.Context, r SessionRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions(time, device, product, result, recommendation, reasons)
		VALUES(?, ?, ?, ?, ?, ?)`, r.Time.Unix(), r.Device, r.Product, uint32(r.Result),
		uint32(r.Recommendation), r.Reasons)
	if err != nil {
		return fmt.Errorf("pdp: record session: %w", err)
	}
	return nil
}

// Sessions returns the recorded sessions, oldest first (at most limit).
func (s *Store) Sessions(ctx context.Context, limit int) ([]SessionRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT time, device, product, result, recommendation, reasons
		FROM sessions ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("pdp: sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionRecord
	for rows.Next() {
		var r SessionRecord
		var t int64
		var res, rec uint32
		if err := rows.Scan(&t, &r.Device, &r.Product, &res, &rec, &r.Reasons); err != nil {
			return nil, fmt.Errorf("pdp: sessions: %w", err)
		}
		r.Time, r.Result, r.Recommendation = time.Unix(t, 0).UTC(), Result(res), Recommendation(rec)
		out = append(out, r)
	}
	return out, rows.Err()
}
