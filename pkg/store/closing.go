package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/saaslens/saaslens/pkg/timecut"
)

// The daily and monthly totals per client hold the hours before
// rollup_zone.closed, the first hour of a day in the rollup zone (the
// datasource's timeZone): a local day is in the monthly rows whole or not
// at all, so a month's days counted from them and from the hours after
// the mark are never one day twice. A file adds to the hourly totals only,
// unless its streams started before that mark (a late file, a stream
// carried from a closed day): those it adds to the daily and monthly rows
// as well. Closing a day sums its hours into both, once: a directory
// rotating every minute rewrote the same daily and monthly rows 1,440
// times a day when every file upserted them. Readers take the hours after
// the mark from the hourly totals (Plan).

// closedSQL is the mark, in SQL: read in the reader's own statement, it
// agrees with the rows that statement sees, whatever closes meanwhile.
const closedSQL = "(SELECT closed FROM rollup_zone)"

// querier is what the mark is read through: a database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// closedUntil is where the daily and monthly totals end.
func closedUntil(ctx context.Context, q querier) (int64, error) {
	var closed int64
	if err := q.QueryRowContext(ctx, `SELECT closed FROM rollup_zone`).Scan(&closed); err != nil {
		return 0, fmt.Errorf("where the daily totals end: %w", err)
	}
	return closed, nil
}

// DaysClosed is where the daily and monthly totals end: the first hour of
// the first local day they hold none of.
func (s *DB) DaysClosed(ctx context.Context) (int64, error) {
	closed, err := closedUntil(ctx, s.sql)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return closed, nil
}

// CloseDays builds the daily and monthly totals of the days of the rollup
// zone that end by until from the hourly ones, and moves the mark past
// them; days closed already are left as they are. It waits for the file
// being written, if any.
func (s *DB) CloseDays(ctx context.Context, until int64) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	// On the writer's connection, whose page cache is there already (a
	// connection of its own filled another, 64 MB more RSS). Summing a
	// day regroups its hourly rows: SQLite sorts them, in memory
	// (temp_store) unless told to spill to a file past its cache, and a
	// flood's day is a million rows.
	wc, err := s.writerConn(ctx)
	if err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	conn := wc.conn
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	defer conn.ExecContext(context.Background(), `PRAGMA temp_store = MEMORY`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	defer tx.Rollback()
	var zone string
	var closed int64
	if err := tx.QueryRowContext(ctx, `SELECT zone, closed FROM rollup_zone`).Scan(&zone, &closed); err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	loc, err := loadZone(zone)
	if err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	// Past the last hour stored there is nothing to sum: the mark stops
	// at the end of its day, so a file of a later day is not late.
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(hour) FROM client_usage_hourly`).Scan(&last); err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	if !last.Valid {
		return nil
	}
	_, to := timecut.DayHours(last.Int64, loc)
	if until < to {
		to, _ = timecut.DayHours(until, loc)
	}
	if to <= closed {
		return nil
	}
	if err := buildDays(ctx, tx, closed, to); err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	if err := buildMonthlyTotals(ctx, tx, loc, closed, to); err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rollup_zone SET closed = ?`, to); err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: closing days: %w", err)
	}
	return nil
}

// closeAfterTotals sets the mark of a database whose daily and monthly
// totals hold every hour so far (migration 19): the end of the last
// hour's day, in the rollup zone.
func closeAfterTotals(ctx context.Context, tx *sql.Tx) error {
	var last sql.NullInt64
	var zone string
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT max(hour) FROM client_usage_hourly), zone FROM rollup_zone`).Scan(&last, &zone); err != nil {
		return err
	}
	if !last.Valid {
		return nil
	}
	loc, err := loadZone(zone)
	if err != nil {
		return err
	}
	_, end := timecut.DayHours(last.Int64, loc)
	_, err = tx.ExecContext(ctx, `UPDATE rollup_zone SET closed = ?`, end)
	return err
}

// recloseInZone rebuilds the daily and monthly totals for a new rollup
// zone, loc: the mark, a day's start in the old zone, moves back to the
// start of loc's day it falls in, and both tables hold the hours before
// it, the monthly rows cut in loc.
func recloseInZone(ctx context.Context, tx *sql.Tx, loc *time.Location) error {
	closed, err := closedUntil(ctx, tx)
	if err != nil {
		return err
	}
	if closed != math.MinInt64 {
		closed, _ = timecut.DayHours(closed, loc)
	}
	for _, table := range []string{"client_usage_daily", "client_usage_monthly"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
			return fmt.Errorf("rebuilding %s: %w", table, err)
		}
	}
	if err := buildDays(ctx, tx, math.MinInt64, closed); err != nil {
		return fmt.Errorf("rebuilding client_usage_daily: %w", err)
	}
	if err := buildMonthlyTotals(ctx, tx, loc, math.MinInt64, closed); err != nil {
		return fmt.Errorf("rebuilding client_usage_monthly: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE rollup_zone SET closed = ?`, closed)
	return err
}

// closeAll is the until of CloseDays that closes every day stored.
const closeAll = math.MaxInt64

// CloseAllDays closes every day the hourly totals hold, the last one too
// as far as it goes: on demand (a command-line run, "ingest now"); a
// later file of that day adds to its daily rows as a late file does.
func (s *DB) CloseAllDays(ctx context.Context) error { return s.CloseDays(ctx, closeAll) }
