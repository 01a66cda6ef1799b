package pdp

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SWPackage is one piece of software installed on a device (RFC 8412
// software identifier, and the name and version of its SWID tag).
type SWPackage struct {
	SWID    string
	Name    string
	Version string
}

// SWEventRecord is one software event of a device.
type SWEventRecord struct {
	Epoch  uint32
	EID    uint32
	Time   string // RFC 3339, as the endpoint sent it
	Action uint8  // 1 creation, 2 deletion, 3 alteration
	SWPackage
}

// maxSWPackages bounds the software stored per device.
const maxSWPackages = 1 << 20

func (s *sqlStore) SWState(ctx context.Context, device int64) (epoch, lastEID uint32, ok bool, err error) {
	var e, l int64
	err = s.row(ctx, `SELECT epoch, last_eid FROM sw_state WHERE device = ?`, device).Scan(&e, &l)
	if err == sql.ErrNoRows {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("pdp: software state: %w", err)
	}
	return uint32(e), uint32(l), true, nil
}

// setSWState upserts the device's epoch and last EID in tx.
func (s *sqlStore) setSWState(ctx context.Context, tx *sql.Tx, device int64, epoch, lastEID uint32) error {
	_, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO sw_state(device, epoch, last_eid, updated) VALUES(?, ?, ?, ?)
		ON CONFLICT (device) DO UPDATE SET epoch = excluded.epoch, last_eid = excluded.last_eid, updated = excluded.updated`),
		device, int64(epoch), int64(lastEID), time.Now().Unix())
	return err
}

func (s *sqlStore) SetSWInventory(ctx context.Context, device int64, epoch, lastEID uint32, pkgs []SWPackage) error {
	if len(pkgs) > maxSWPackages {
		return fmt.Errorf("pdp: %d software records (at most %d)", len(pkgs), maxSWPackages)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pdp: set software inventory: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM sw_packages WHERE device = ?`), device); err != nil {
		return fmt.Errorf("pdp: set software inventory: %w", err)
	}
	if err := s.insertSW(ctx, tx, device, pkgs); err != nil {
		return fmt.Errorf("pdp: set software inventory: %w", err)
	}
	if err := s.setSWState(ctx, tx, device, epoch, lastEID); err != nil {
		return fmt.Errorf("pdp: set software inventory: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pdp: set software inventory: %w", err)
	}
	return nil
}

// insertSW adds software rows in chunks (an identifier already stored is
// updated). An identifier the list names twice keeps its last record: one
// INSERT must not name it twice (PostgreSQL refuses an ON CONFLICT DO
// UPDATE that would change a row twice; SQLite would take the last).
func (s *sqlStore) insertSW(ctx context.Context, tx *sql.Tx, device int64, pkgs []SWPackage) error {
	at := make(map[string]int, len(pkgs))
	uniq := make([]SWPackage, 0, len(pkgs))
	for _, p := range pkgs {
		if i, ok := at[p.SWID]; ok {
			uniq[i] = p
			continue
		}
		at[p.SWID] = len(uniq)
		uniq = append(uniq, p)
	}
	return insertChunked(ctx, s, tx, `INSERT INTO sw_packages(device, sw_id, name, version) VALUES`,
		`ON CONFLICT (device, sw_id) DO UPDATE SET name = excluded.name, version = excluded.version`, uniq,
		func(p SWPackage) []any { return []any{device, p.SWID, p.Name, p.Version} })
}

func (s *sqlStore) AddSWEvents(ctx context.Context, device int64, epoch, lastEID uint32, evs []SWEventRecord) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pdp: add software events: %w", err)
	}
	defer tx.Rollback()
	for _, e := range evs {
		switch e.Action {
		case 2: // deletion
			_, err = tx.ExecContext(ctx, s.d.q(`DELETE FROM sw_packages WHERE device = ? AND sw_id = ?`), device, e.SWID)
		default: // creation, alteration
			err = s.insertSW(ctx, tx, device, []SWPackage{e.SWPackage})
		}
		if err == nil {
			_, err = tx.ExecContext(ctx, s.d.q(`INSERT INTO sw_events(device, epoch, eid, time, action, sw_id) VALUES(?, ?, ?, ?, ?, ?)
				ON CONFLICT DO NOTHING`), device, int64(e.Epoch), int64(e.EID), e.Time, int64(e.Action), e.SWID)
		}
		if err != nil {
			return fmt.Errorf("pdp: add software events: %w", err)
		}
	}
	if err := s.setSWState(ctx, tx, device, epoch, lastEID); err != nil {
		return fmt.Errorf("pdp: add software events: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pdp: add software events: %w", err)
	}
	return nil
}

func (s *sqlStore) SWPackages(ctx context.Context, device int64) ([]SWPackage, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT sw_id, name, version FROM sw_packages WHERE device = ? ORDER BY sw_id`), device)
	if err != nil {
		return nil, fmt.Errorf("pdp: software: %w", err)
	}
	defer rows.Close()
	var out []SWPackage
	for rows.Next() {
		var p SWPackage
		if err := rows.Scan(&p.SWID, &p.Name, &p.Version); err != nil {
			return nil, fmt.Errorf("pdp: software: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *sqlStore) SWEvents(ctx context.Context, device int64, limit int) ([]SWEventRecord, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT epoch, eid, time, action, sw_id FROM sw_events WHERE device = ?
		ORDER BY epoch DESC, eid DESC, action DESC, sw_id LIMIT ?`), device, limit)
	if err != nil {
		return nil, fmt.Errorf("pdp: software events: %w", err)
	}
	defer rows.Close()
	var out []SWEventRecord
	for rows.Next() {
		var e SWEventRecord
		var epoch, eid, action int64
		if err := rows.Scan(&epoch, &eid, &e.Time, &action, &e.SWID); err != nil {
			return nil, fmt.Errorf("pdp: software events: %w", err)
		}
		e.Epoch, e.EID, e.Action = uint32(epoch), uint32(eid), uint8(action)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
