package pdp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

// Store is the PDP's policy database: products, devices (keyed by the ITA
// Device ID the OS IMC sends, normally the AK keyid), trusted AK keyids, the
// boot measurements learned on a device's first contact (strongSwan's
// component_hashes) and the record of finished assessments.
//
// OpenStore gives one of two engines with the same schema: an embedded
// SQLite file (the default, nothing to run) or a PostgreSQL server shared by
// several PDP replicas. Implementations are safe for concurrent use, also
// by several processes on one database: what two replicas learn about the
// same device at the same moment ends up stored once (see
// RegisterMeasurements).
type Store interface {
	// AllowProduct marks a product (e.g. "Debian 12 x86_64") as allowed.
	AllowProduct(ctx context.Context, name string) error
	// Product reports whether a product is known and whether it is allowed.
	Product(ctx context.Context, name string) (known, allowed bool, err error)
	// LearnProduct records a product as allowed (policy "learn").
	LearnProduct(ctx context.Context, name string) error

	// Device returns the device row for an ITA Device ID, or nil if unknown.
	Device(ctx context.Context, value string) (*Device, error)
	// AddDevice records a device (or refreshes its last-seen time and
	// product) and returns its row; trusted is only applied to a new row.
	AddDevice(ctx context.Context, value, product string, trusted bool) (*Device, error)

	// TrustAK marks an AK keyid (SHA-1 of its DER SubjectPublicKeyInfo, 40
	// lower-case hex) as trusted. This is how an operator enrols an
	// endpoint when the policy does not learn AKs on first contact.
	TrustAK(ctx context.Context, keyid string) error
	// AKTrusted reports whether an AK keyid is recorded as trusted.
	AKTrusted(ctx context.Context, keyid string) (bool, error)

	// Measurements returns the reference measurements of a device for one
	// PTS measurement algorithm (its bit, e.g. 0x4000 for SHA-256),
	// ordered by Seq.
	Measurements(ctx context.Context, device int64, algo uint16) ([]Measurement, error)
	// SetMeasurements replaces the reference measurements of a device for
	// one algorithm (an operator re-enrolling a device).
	SetMeasurements(ctx context.Context, device int64, algo uint16, ms []Measurement) error
	// RegisterMeasurements stores ms as the device's reference for algo
	// unless it already has one, in one transaction: of several
	// connections registering the same device at once (on one PDP or on
	// replicas sharing a database) exactly one wins. It returns the
	// reference now stored and whether it is ms.
	RegisterMeasurements(ctx context.Context, device int64, algo uint16, ms []Measurement) (ref []Measurement, registered bool, err error)

	// FileRefs returns the reference digests of the given paths (imported
	// or learned), keyed by path.
	FileRefs(ctx context.Context, paths []string) (map[string][]FileRef, error)
	// AddFileRefs adds reference digests (an existing one is kept).
	AddFileRefs(ctx context.Context, refs []FileRef) error
	// IMARefs returns the IMA measurements learned for a device in one
	// bank (PTS algorithm bit), keyed by path.
	IMARefs(ctx context.Context, device int64, bank uint16) (map[string][][]byte, error)
	// AddIMARefs records learned IMA measurements of a device (an existing
	// one is kept).
	AddIMARefs(ctx context.Context, device int64, bank uint16, refs []IMARef) error

	// SWState returns the EID epoch and last EID stored for a device's
	// software inventory; ok is false when none is stored.
	SWState(ctx context.Context, device int64) (epoch, lastEID uint32, ok bool, err error)
	// SetSWInventory replaces a device's software with pkgs and stores its
	// epoch and last EID, in one transaction.
	SetSWInventory(ctx context.Context, device int64, epoch, lastEID uint32, pkgs []SWPackage) error
	// AddSWEvents applies software events to a device's software (a
	// creation adds, a deletion removes, an alteration replaces) and
	// stores them with the new last EID, in one transaction.
	AddSWEvents(ctx context.Context, device int64, epoch, lastEID uint32, evs []SWEventRecord) error
	// SWPackages lists a device's software, by software identifier.
	SWPackages(ctx context.Context, device int64) ([]SWPackage, error)
	// SWEvents lists the newest software events of a device, oldest first
	// (at most limit); an event keeps the software identifier, not the
	// name and version.
	SWEvents(ctx context.Context, device int64, limit int) ([]SWEventRecord, error)

	// AddSession records the verdict of a finished connection.
	AddSession(ctx context.Context, r SessionRecord) error
	// Sessions returns the recorded sessions, oldest first (at most limit).
	Sessions(ctx context.Context, limit int) ([]SessionRecord, error)

	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// Close closes the database.
	Close() error
}

// maxMeasurements bounds how many reference measurements one device may have
// per algorithm (a boot log has a few hundred events; IMA is not stored).
const maxMeasurements = 65536

// Measurement is one reference boot measurement: the digest extended into
// PCR at position Seq (1-based, as strongSwan numbers component hashes) of the
// evidence sequence for one PTS measurement algorithm.
type Measurement struct {
	Seq    int
	PCR    int
	Digest []byte
}

// FileRef is one reference digest of a file.
type FileRef struct {
	Path   string
	Algo   string // "sha256", as IMA and sha256sum name it
	Digest []byte
	Source string // "import:<list>", "learned:<AK keyid>"
}

// IMARef is one learned IMA measurement: what the kernel extended for Path.
type IMARef struct {
	Path        string
	Measurement []byte
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

// SessionRecord is one finished assessment as kept in the sessions table.
type SessionRecord struct {
	Time           time.Time
	Device         string
	Product        string
	Result         Result
	Recommendation Recommendation
	Reasons        string
}

// IsPostgresURL reports whether a --db value names a PostgreSQL database
// (a postgres:// or postgresql:// connection URL) rather than a SQLite file.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// OpenStore opens the database db and brings its schema up to date (see
// migrations). db is a PostgreSQL connection URL (postgres://user@host:port/
// name?sslmode=disable, any libpq setting pgx understands) or the path of a
// SQLite file, created if needed; ":memory:" gives a private in-memory
// SQLite database.
func OpenStore(db string) (Store, error) {
	if IsPostgresURL(db) {
		return openPostgres(db)
	}
	return openSQLite(db)
}

func openSQLite(path string) (Store, error) {
	// WAL with synchronous=NORMAL: a commit is a write to the log, not an
	// fsync (one per checkpoint instead); immediate transactions take the
	// write lock at BEGIN, so two writers never deadlock upgrading a read
	// lock (SQLite "BEGIN IMMEDIATE").
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if path == ":memory:" {
		dsn = "file::memory:?_pragma=foreign_keys(1)&_txlock=immediate"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("pdp: open database %s: %w", path, err)
	}
	// One connection: SQLite serialises writers anyway, and an in-memory
	// database exists per connection.
	db.SetMaxOpenConns(1)
	s := &sqlStore{db: db, d: sqliteDialect, path: path}
	err = s.migrate(context.Background())
	if err == nil {
		err = s.prepareTx(context.Background())
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("pdp: database %s: %w", path, err)
	}
	return s, nil
}

func openPostgres(url string) (Store, error) {
	if !postgresBuilt {
		return nil, fmt.Errorf("pdp: database %s: this program is built without PostgreSQL (build tag nopostgres); use a SQLite file", redactURL(url))
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("pdp: open database %s: %w", redactURL(url), err)
	}
	// Enough connections for the PDP's concurrent assessments; idle ones
	// are kept so that a steady load does not reconnect.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &sqlStore{db: db, d: postgresDialect, url: url}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = s.migrate(ctx)
	if err == nil {
		err = s.prepareTx(ctx)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("pdp: database %s: %w", redactURL(url), err)
	}
	return s, nil
}

// redactURL hides the password of a connection URL in messages.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return u
}

// dialect is what differs between the engines: column types in the schema,
// placeholders, and how a transaction serialises against other writers.
type dialect struct {
	name string
	// types replaces {{name}} in the schema.
	types map[string]string
	// dollar: placeholders are $1, $2, ... instead of ?.
	dollar bool
	// lockSchema runs first in the migration transaction so that replicas
	// starting at once migrate one after the other ("" for none: SQLite's
	// immediate transaction already holds the write lock).
	lockSchema string
	// lockDevice runs first in a registration transaction with the device
	// id: it serialises registrations of one device ("" for none).
	lockDevice string
}

var (
	sqliteDialect = &dialect{name: "sqlite",
		types: map[string]string{"serial": "INTEGER PRIMARY KEY", "blob": "BLOB"}}
	postgresDialect = &dialect{name: "postgres", dollar: true,
		types: map[string]string{"serial": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "blob": "BYTEA"},
		// An arbitrary application-wide key: "imchost" in ASCII, 0x696d63686f7374.
		lockSchema: "SELECT pg_advisory_xact_lock(29675146275943284)",
		lockDevice: "SELECT id FROM devices WHERE id = ? FOR UPDATE"}
)

// q rewrites a query written with ? placeholders for the dialect.
func (d *dialect) q(query string) string {
	if !d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// schemaSQL fills the dialect's column types into a migration.
func (d *dialect) schemaSQL(s string) string {
	for k, v := range d.types {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}

// migration is one versioned step of the schema, the same for both engines
// but for the {{serial}} and {{blob}} column types.
type migration struct {
	version int
	what    string
	sql     []string
}

// migrations are applied in order at OpenStore, each in a transaction with
// its row in schema_migrations. Never edit a released step: add one.
// Version 1 is the schema of the SQLite-only PDP (CREATE ... IF NOT EXISTS,
// so a database from before versioning adopts it unchanged).
var migrations = []migration{
	{1, "products, devices, aks, measurements, sessions", []string{
		`CREATE TABLE IF NOT EXISTS products (
			id      {{serial}},
			name    TEXT NOT NULL UNIQUE,
			allowed BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE IF NOT EXISTS devices (
			id         {{serial}},
			value      TEXT NOT NULL UNIQUE,
			product    BIGINT REFERENCES products(id),
			trusted    BIGINT NOT NULL DEFAULT 0,
			first_seen BIGINT NOT NULL,
			last_seen  BIGINT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS aks (
			keyid   TEXT PRIMARY KEY,
			device  BIGINT REFERENCES devices(id),
			trusted BIGINT NOT NULL DEFAULT 1
		)`,
		`CREATE TABLE IF NOT EXISTS measurements (
			device BIGINT NOT NULL REFERENCES devices(id),
			algo   BIGINT NOT NULL,
			seq    BIGINT NOT NULL,
			pcr    BIGINT NOT NULL,
			digest {{blob}} NOT NULL,
			PRIMARY KEY (device, algo, seq)
		)`,
		`CREATE TABLE IF NOT EXISTS sessions (
			id             {{serial}},
			time           BIGINT NOT NULL,
			device         TEXT NOT NULL,
			product        TEXT NOT NULL,
			result         BIGINT NOT NULL,
			recommendation BIGINT NOT NULL,
			reasons        TEXT NOT NULL
		)`,
	}},
	{2, "sessions by device", []string{
		`CREATE INDEX IF NOT EXISTS sessions_device ON sessions(device, id)`,
	}},
	{3, "file references and learned IMA measurements", []string{
		// Reference file digests: imported from a list or learned; a
		// path may have several (versions of a package).
		`CREATE TABLE IF NOT EXISTS file_refs (
			path   TEXT NOT NULL,
			algo   TEXT NOT NULL,
			digest {{blob}} NOT NULL,
			source TEXT NOT NULL,
			PRIMARY KEY (path, algo, digest)
		)`,
		// IMA template measurements of a device learned on first contact
		// (what the kernel extended into the bank), per path.
		`CREATE TABLE IF NOT EXISTS ima_refs (
			device      BIGINT NOT NULL REFERENCES devices(id),
			bank        BIGINT NOT NULL,
			path        TEXT NOT NULL,
			measurement {{blob}} NOT NULL,
			PRIMARY KEY (device, bank, path, measurement)
		)`,
	}},
	{4, "software inventories (SWIMA)", []string{
		// Per device: the EID epoch and last EID of the endpoint's
		// inventory as last received (RFC 8412 §3.7).
		`CREATE TABLE IF NOT EXISTS sw_state (
			device   BIGINT PRIMARY KEY REFERENCES devices(id),
			epoch    BIGINT NOT NULL,
			last_eid BIGINT NOT NULL,
			updated  BIGINT NOT NULL
		)`,
		// The software installed on a device, by software identifier.
		`CREATE TABLE IF NOT EXISTS sw_packages (
			device  BIGINT NOT NULL REFERENCES devices(id),
			sw_id   TEXT NOT NULL,
			name    TEXT NOT NULL,
			version TEXT NOT NULL,
			PRIMARY KEY (device, sw_id)
		)`,
		// The software events received, newest kept.
		`CREATE TABLE IF NOT EXISTS sw_events (
			device BIGINT NOT NULL REFERENCES devices(id),
			epoch  BIGINT NOT NULL,
			eid    BIGINT NOT NULL,
			time   TEXT NOT NULL,
			action BIGINT NOT NULL,
			sw_id  TEXT NOT NULL,
			PRIMARY KEY (device, epoch, eid)
		)`,
	}},
	{5, "software events sharing an EID", []string{
		// Several events may carry one EID: strongSwan's sw-collector
		// gives all the changes of one apt transaction the EID of that
		// transaction (RFC 8412 §3.7 asks only that EIDs never decrease
		// within an epoch). An event is its EID, action and identifier.
		`CREATE TABLE sw_events_v5 (
			device BIGINT NOT NULL REFERENCES devices(id),
			epoch  BIGINT NOT NULL,
			eid    BIGINT NOT NULL,
			time   TEXT NOT NULL,
			action BIGINT NOT NULL,
			sw_id  TEXT NOT NULL,
			PRIMARY KEY (device, epoch, eid, action, sw_id)
		)`,
		`INSERT INTO sw_events_v5 (device, epoch, eid, time, action, sw_id)
			SELECT device, epoch, eid, time, action, sw_id FROM sw_events`,
		`DROP TABLE sw_events`,
		`ALTER TABLE sw_events_v5 RENAME TO sw_events`,
	}},
}

// SchemaVersion is the schema version this build writes (the last migration).
var SchemaVersion = migrations[len(migrations)-1].version

// migrate applies the migrations the database lacks. A database whose
// schema is newer than this build knows is refused rather than used.
func (s *sqlStore) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		applied_at BIGINT NOT NULL,
		what       TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if s.d.lockSchema != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockSchema); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	var have sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if int(have.Int64) > SchemaVersion {
		return fmt.Errorf("schema version %d is newer than this imchost's %d: upgrade imchost", have.Int64, SchemaVersion)
	}
	for _, m := range migrations {
		if m.version <= int(have.Int64) {
			continue
		}
		for _, stmt := range m.sql {
			if _, err := tx.ExecContext(ctx, s.d.schemaSQL(stmt)); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.what, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO schema_migrations(version, applied_at, what) VALUES(?, ?, ?)`),
			m.version, time.Now().Unix(), m.what); err != nil {
			return fmt.Errorf("migration %d: %w", m.version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// sqlStore is the Store of both engines over database/sql.
type sqlStore struct {
	db   *sql.DB
	d    *dialect
	path string // SQLite file
	url  string // PostgreSQL URL

	// stmts are the prepared statements by query text: parsing a query
	// costs more than running it on SQLite (a tenth of an attestation's
	// CPU before the cache).
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (s *sqlStore) Engine() string { return s.d.name }

func (s *sqlStore) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	return s.db.Close()
}

// stmt returns the prepared statement of q (written with ? placeholders).
func (s *sqlStore) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	s.mu.Lock()
	st := s.stmts[q]
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.d.q(q))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if have := s.stmts[q]; have != nil {
		st.Close()
		return have, nil
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[q] = st
	return st, nil
}

// txStmt is the prepared statement of q bound to a transaction. Only
// statements prepared before (prepareTx) come from the cache: preparing
// on the database inside a transaction would wait for a second connection,
// which SQLite's single one never frees.
func (s *sqlStore) txStmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	s.mu.Lock()
	st := s.stmts[q]
	s.mu.Unlock()
	if st == nil {
		return tx.PrepareContext(ctx, s.d.q(q))
	}
	return tx.StmtContext(ctx, st), nil
}

// Queries run inside transactions, prepared at open (see txStmt).
const (
	qProductID    = `SELECT id FROM products WHERE name = ?`
	qUpsertDevice = `INSERT INTO devices(value, product, trusted, first_seen, last_seen)
		VALUES(?, ?, ?, ?, ?)
		ON CONFLICT(value) DO UPDATE SET last_seen = excluded.last_seen,
			product = COALESCE(excluded.product, devices.product)`
	qMeasurements = `SELECT seq, pcr, digest FROM measurements
		WHERE device = ? AND algo = ? ORDER BY seq LIMIT ?`
)

// prepareTx prepares the statements transactions use.
func (s *sqlStore) prepareTx(ctx context.Context) error {
	for _, q := range []string{qProductID, qUpsertDevice, qMeasurements} {
		if _, err := s.stmt(ctx, q); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	return nil
}

func (s *sqlStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// scanner is a row to scan: *sql.Row, or a preparation error.
type scanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (s *sqlStore) row(ctx context.Context, q string, args ...any) scanner {
	st, err := s.stmt(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *sqlStore) txRow(ctx context.Context, tx *sql.Tx, q string, args ...any) scanner {
	st, err := s.txStmt(ctx, tx, q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *sqlStore) AllowProduct(ctx context.Context, name string) error {
	_, err := s.exec(ctx, `INSERT INTO products(name, allowed) VALUES(?, 1)
		ON CONFLICT(name) DO UPDATE SET allowed = 1`, name)
	if err != nil {
		return fmt.Errorf("pdp: allow product %q: %w", name, err)
	}
	return nil
}

func (s *sqlStore) Product(ctx context.Context, name string) (known, allowed bool, err error) {
	var a int
	err = s.row(ctx, `SELECT allowed FROM products WHERE name = ?`, name).Scan(&a)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("pdp: product %q: %w", name, err)
	}
	return true, a != 0, nil
}

func (s *sqlStore) LearnProduct(ctx context.Context, name string) error {
	return s.AllowProduct(ctx, name)
}

func (s *sqlStore) Device(ctx context.Context, value string) (*Device, error) {
	var d Device
	var product sql.NullString
	var trusted int
	var first, last int64
	err := s.row(ctx, `SELECT d.id, d.value, p.name, d.trusted, d.first_seen, d.last_seen
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

func (s *sqlStore) AddDevice(ctx context.Context, value, product string, trusted bool) (*Device, error) {
	now := time.Now().Unix()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("pdp: add device: %w", err)
	}
	defer tx.Rollback()
	var productID sql.NullInt64
	if product != "" {
		// Read first: an upsert would lock the product row, which every
		// device of that product shares.
		if productID, err = s.productID(ctx, tx, product); err != nil {
			return nil, err
		}
	}
	t := 0
	if trusted {
		t = 1
	}
	up, err := s.txStmt(ctx, tx, qUpsertDevice)
	if err == nil {
		_, err = up.ExecContext(ctx, value, productID, t, now, now)
	}
	if err != nil {
		return nil, fmt.Errorf("pdp: add device %q: %w", value, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("pdp: add device %q: %w", value, err)
	}
	return s.Device(ctx, value)
}

// productID returns the id of a product, inserting it (not allowed) if new.
func (s *sqlStore) productID(ctx context.Context, tx *sql.Tx, product string) (sql.NullInt64, error) {
	var id sql.NullInt64
	const sel = qProductID
	err := s.txRow(ctx, tx, sel, product).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err = tx.ExecContext(ctx, s.d.q(`INSERT INTO products(name, allowed) VALUES(?, 0)
			ON CONFLICT(name) DO NOTHING`), product); err == nil {
			// A concurrent insert of the same name has committed by
			// now (ON CONFLICT waited for it): a new statement sees it.
			err = s.txRow(ctx, tx, sel, product).Scan(&id)
		}
	}
	if err != nil {
		return id, fmt.Errorf("pdp: product %q: %w", product, err)
	}
	return id, nil
}

func (s *sqlStore) TrustAK(ctx context.Context, keyid string) error {
	_, err := s.exec(ctx, `INSERT INTO aks(keyid, trusted) VALUES(?, 1)
		ON CONFLICT(keyid) DO UPDATE SET trusted = 1`, keyid)
	if err != nil {
		return fmt.Errorf("pdp: trust AK %s: %w", keyid, err)
	}
	return nil
}

func (s *sqlStore) AKTrusted(ctx context.Context, keyid string) (bool, error) {
	var t int
	err := s.row(ctx, `SELECT trusted FROM aks WHERE keyid = ?`, keyid).Scan(&t)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("pdp: AK %s: %w", keyid, err)
	}
	return t != 0, nil
}

func (s *sqlStore) Measurements(ctx context.Context, device int64, algo uint16) ([]Measurement, error) {
	return s.measurements(ctx, nil, device, algo)
}

// measurements reads a device's reference set, in tx if not nil.
func (s *sqlStore) measurements(ctx context.Context, tx *sql.Tx, device int64, algo uint16) ([]Measurement, error) {
	var st *sql.Stmt
	var err error
	if tx != nil {
		st, err = s.txStmt(ctx, tx, qMeasurements)
	} else {
		st, err = s.stmt(ctx, qMeasurements)
	}
	var rows *sql.Rows
	if err == nil {
		rows, err = st.QueryContext(ctx, device, int64(algo), maxMeasurements)
	}
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

func (s *sqlStore) SetMeasurements(ctx context.Context, device int64, algo uint16, ms []Measurement) error {
	if len(ms) > maxMeasurements {
		return fmt.Errorf("pdp: %d measurements exceed the limit of %d", len(ms), maxMeasurements)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pdp: store measurements: %w", err)
	}
	defer tx.Rollback()
	if err := s.lockDevice(ctx, tx, device); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM measurements WHERE device = ? AND algo = ?`),
		device, int64(algo)); err != nil {
		return fmt.Errorf("pdp: store measurements: %w", err)
	}
	if err := s.insertMeasurements(ctx, tx, device, algo, ms); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pdp: store measurements: %w", err)
	}
	return nil
}

func (s *sqlStore) RegisterMeasurements(ctx context.Context, device int64, algo uint16, ms []Measurement) ([]Measurement, bool, error) {
	if len(ms) > maxMeasurements {
		return nil, false, fmt.Errorf("pdp: %d measurements exceed the limit of %d", len(ms), maxMeasurements)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("pdp: register measurements: %w", err)
	}
	defer tx.Rollback()
	if err := s.lockDevice(ctx, tx, device); err != nil {
		return nil, false, err
	}
	ref, err := s.measurements(ctx, tx, device, algo)
	if err != nil {
		return nil, false, err
	}
	if len(ref) > 0 {
		// Somebody registered first: theirs is the reference.
		return ref, false, tx.Commit()
	}
	if err := s.insertMeasurements(ctx, tx, device, algo, ms); err != nil {
		return nil, false, err
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("pdp: register measurements: %w", err)
	}
	return ms, true, nil
}

// lockDevice serialises the transactions that write one device's
// measurements (PostgreSQL: a row lock on the device; SQLite's immediate
// transaction already excludes every other writer).
func (s *sqlStore) lockDevice(ctx context.Context, tx *sql.Tx, device int64) error {
	if s.d.lockDevice == "" {
		return nil
	}
	var id int64
	if err := tx.QueryRowContext(ctx, s.d.q(s.d.lockDevice), device).Scan(&id); err != nil {
		return fmt.Errorf("pdp: lock device %d: %w", device, err)
	}
	return nil
}

// insertRows is how many rows one multi-row INSERT carries (at most 5
// parameters each: well below both engines' parameter limits).
const insertRows = 200

// insertChunked inserts rows into a table in tx with one multi-row INSERT
// per insertRows rows: head is the statement up to VALUES ("INSERT INTO
// t(a, b) VALUES"), conflict what follows the tuples ("" or an ON CONFLICT
// clause), and args gives a row's values, one per column of head.
func insertChunked[T any](ctx context.Context, s *sqlStore, tx *sql.Tx, head, conflict string, rows []T, args func(T) []any) error {
	for len(rows) > 0 {
		n := min(len(rows), insertRows)
		var b strings.Builder
		b.WriteString(head)
		var vals []any
		for i, r := range rows[:n] {
			a := args(r)
			if i == 0 {
				vals = make([]any, 0, n*len(a))
			} else {
				b.WriteByte(',')
			}
			b.WriteString("(?" + strings.Repeat(", ?", len(a)-1) + ")")
			vals = append(vals, a...)
		}
		if conflict != "" {
			b.WriteString(" " + conflict)
		}
		if _, err := tx.ExecContext(ctx, s.d.q(b.String()), vals...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (s *sqlStore) insertMeasurements(ctx context.Context, tx *sql.Tx, device int64, algo uint16, ms []Measurement) error {
	err := insertChunked(ctx, s, tx, `INSERT INTO measurements(device, algo, seq, pcr, digest) VALUES`, "", ms,
		func(m Measurement) []any { return []any{device, int64(algo), m.Seq, m.PCR, m.Digest} })
	if err != nil {
		return fmt.Errorf("pdp: store measurements %d..%d: %w", ms[0].Seq, ms[len(ms)-1].Seq, err)
	}
	return nil
}

func (s *sqlStore) AddSession(ctx context.Context, r SessionRecord) error {
	_, err := s.exec(ctx, `INSERT INTO sessions(time, device, product, result, recommendation, reasons)
		VALUES(?, ?, ?, ?, ?, ?)`, r.Time.Unix(), r.Device, r.Product, int64(r.Result),
		int64(r.Recommendation), r.Reasons)
	if err != nil {
		return fmt.Errorf("pdp: record session: %w", err)
	}
	return nil
}

func (s *sqlStore) Sessions(ctx context.Context, limit int) ([]SessionRecord, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT time, device, product, result, recommendation, reasons
		FROM sessions ORDER BY id LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("pdp: sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionRecord
	for rows.Next() {
		var r SessionRecord
		var t, res, rec int64
		if err := rows.Scan(&t, &r.Device, &r.Product, &res, &rec, &r.Reasons); err != nil {
			return nil, fmt.Errorf("pdp: sessions: %w", err)
		}
		r.Time, r.Result, r.Recommendation = time.Unix(t, 0).UTC(), Result(res), Recommendation(rec)
		out = append(out, r)
	}
	return out, rows.Err()
}
