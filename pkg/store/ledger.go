package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/saaslens/saaslens/pkg/flow"
)

// KnownPath tells whether a file with this path, size and modification time
// was already ingested (or recognised as a copy), so a rescan can skip it
// without reading it.
func (s *DB) KnownPath(ctx context.Context, path string, size, mtime int64) (bool, error) {
	var n int
	st, err := s.prepared(ctx, `SELECT count(*) FROM capture_paths WHERE path=? AND size=? AND mtime=?`)
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	err = st.QueryRowContext(ctx, path, size, mtime).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: looking up %s: %w", path, err)
	}
	return n > 0, nil
}

// Capture is a row of the captures ledger.
type Capture struct {
	ID          int64
	Path        string
	Status      string
	ContentHash string
}

// CapturesLike lists the captures with this size and modification time:
// the candidates a renamed file may be a copy of.
func (s *DB) CapturesLike(ctx context.Context, size, mtime int64) ([]Capture, error) {
	st, err := s.prepared(ctx, `SELECT id, path, status, content_hash FROM captures WHERE size=? AND mtime=?`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	rows, err := st.QueryContext(ctx, size, mtime)
	if err != nil {
		return nil, fmt.Errorf("store: looking up captures: %w", err)
	}
	defer rows.Close()
	var out []Capture
	for rows.Next() {
		var c Capture
		if err := rows.Scan(&c.ID, &c.Path, &c.Status, &c.ContentHash); err != nil {
			return nil, fmt.Errorf("store: looking up captures: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddPath records that path holds the content of an ingested capture.
func (s *DB) AddPath(ctx context.Context, path string, size, mtime, captureID int64) error {
	_, err := s.sql.ExecContext(ctx, `INSERT INTO capture_paths(path, size, mtime, capture_id) VALUES (?,?,?,?)
		ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime=excluded.mtime, capture_id=excluded.capture_id`,
		path, size, mtime, captureID)
	if err != nil {
		return fmt.Errorf("store: recording path %s: %w", path, err)
	}
	return nil
}

// SeriesState returns what the series' tracker carried out of its last
// file, or ErrNotFound for a series never ingested.
func (s *DB) SeriesState(ctx context.Context, series string) (header []byte, items []flow.StateItem, err error) {
	err = s.sql.QueryRowContext(ctx, `SELECT tracker FROM ingest_state WHERE series=?`, series).Scan(&header)
	if err == sql.ErrNoRows {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: reading state of %s: %w", series, err)
	}
	rows, err := s.sql.QueryContext(ctx, `SELECT kind, key, value FROM ingest_items WHERE series=?`, series)
	if err != nil {
		return nil, nil, fmt.Errorf("store: reading state of %s: %w", series, err)
	}
	defer rows.Close()
	for rows.Next() {
		var it flow.StateItem
		var kind int64
		if err := rows.Scan(&kind, &it.Key, &it.Value); err != nil {
			return nil, nil, fmt.Errorf("store: reading state of %s: %w", series, err)
		}
		it.Kind = flow.ItemKind(kind)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: reading state of %s: %w", series, err)
	}
	return header, items, nil
}

// PathCapture is what was last stored from a path.
type PathCapture struct {
	Capture
	Size, MTime int64
	Compressed  bool
	ReadTo      int64
}

// LastFromPath returns the capture last stored from path, or ErrNotFound.
func (s *DB) LastFromPath(ctx context.Context, path string) (PathCapture, error) {
	var c PathCapture
	st, err := s.prepared(ctx, `SELECT c.id, c.path, c.status, c.content_hash, p.size, p.mtime, c.compressed, c.read_to
		FROM capture_paths p JOIN captures c ON c.id = p.capture_id WHERE p.path = ?`)
	if err != nil {
		return c, fmt.Errorf("store: %w", err)
	}
	err = st.QueryRowContext(ctx, path).Scan(&c.ID, &c.Path, &c.Status, &c.ContentHash, &c.Size, &c.MTime, &c.Compressed, &c.ReadTo)
	if err == sql.ErrNoRows {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: looking up %s: %w", path, err)
	}
	return c, nil
}
