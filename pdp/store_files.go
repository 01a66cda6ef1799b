package pdp

import (
	"context"
	"fmt"
	"strings"
)

// refChunk bounds the parameters of one IN (...) (multi-row INSERTs: insertChunked).
const refChunk = 200

func (s *sqlStore) FileRefs(ctx context.Context, paths []string) (map[string][]FileRef, error) {
	out := map[string][]FileRef{}
	seen := make(map[string]bool, len(paths))
	uniq := paths[:0:0]
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			uniq = append(uniq, p)
		}
	}
	paths = uniq
	for len(paths) > 0 {
		n := min(len(paths), refChunk)
		args := make([]any, n)
		for i, p := range paths[:n] {
			args[i] = p
		}
		q := `SELECT path, algo, digest, source FROM file_refs WHERE path IN (?` + strings.Repeat(", ?", n-1) + `)`
		rows, err := s.db.QueryContext(ctx, s.d.q(q), args...)
		if err != nil {
			return nil, fmt.Errorf("pdp: file references: %w", err)
		}
		for rows.Next() {
			var r FileRef
			if err := rows.Scan(&r.Path, &r.Algo, &r.Digest, &r.Source); err != nil {
				rows.Close()
				return nil, fmt.Errorf("pdp: file references: %w", err)
			}
			out[r.Path] = append(out[r.Path], r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("pdp: file references: %w", err)
		}
		paths = paths[n:]
	}
	return out, nil
}

func (s *sqlStore) AddFileRefs(ctx context.Context, refs []FileRef) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pdp: add file references: %w", err)
	}
	defer tx.Rollback()
	err = insertChunked(ctx, s, tx, `INSERT INTO file_refs(path, algo, digest, source) VALUES`, `ON CONFLICT DO NOTHING`, refs,
		func(r FileRef) []any { return []any{r.Path, r.Algo, r.Digest, r.Source} })
	if err != nil {
		return fmt.Errorf("pdp: add file references: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pdp: add file references: %w", err)
	}
	return nil
}

func (s *sqlStore) IMARefs(ctx context.Context, device int64, bank uint16) (map[string][][]byte, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT path, measurement FROM ima_refs WHERE device = ? AND bank = ?`),
		device, int64(bank))
	if err != nil {
		return nil, fmt.Errorf("pdp: IMA references of device %d: %w", device, err)
	}
	defer rows.Close()
	out := map[string][][]byte{}
	for rows.Next() {
		var p string
		var m []byte
		if err := rows.Scan(&p, &m); err != nil {
			return nil, fmt.Errorf("pdp: IMA references of device %d: %w", device, err)
		}
		out[p] = append(out[p], m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pdp: IMA references of device %d: %w", device, err)
	}
	return out, nil
}

func (s *sqlStore) AddIMARefs(ctx context.Context, device int64, bank uint16, refs []IMARef) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pdp: add IMA references: %w", err)
	}
	defer tx.Rollback()
	err = insertChunked(ctx, s, tx, `INSERT INTO ima_refs(device, bank, path, measurement) VALUES`, `ON CONFLICT DO NOTHING`, refs,
		func(r IMARef) []any { return []any{device, int64(bank), r.Path, r.Measurement} })
	if err != nil {
		return fmt.Errorf("pdp: add IMA references: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pdp: add IMA references: %w", err)
	}
	return nil
}
