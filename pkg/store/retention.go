package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Pruned counts the rows a retention run deleted, by table.
type Pruned map[string]int64

// pruneBatch bounds each retention transaction, so that pruning a month of
// packet rows never holds the write lock long enough for a reader or the
// ingest writer to hit the busy timeout.
const pruneBatch = 20000

// Prune deletes the detail rows of everything older than before (Unix
// nanoseconds): packets, TLS hellos, streams that ended before it, DNS and
// DHCP messages, device address stretches. Hourly usage totals, devices and
// the capture ledger stay, so long-range panels keep their history and old
// files are not ingested again. It deletes in batches of their own
// transactions: a crash between two leaves older rows to the next run.
func (s *DB) Prune(ctx context.Context, before int64) (Pruned, error) {
	out := Pruned{}
	for _, d := range []struct{ table, where string }{
		{"stream_packets", "time < ?"},
		{"tls", "time < ?"},
		{"streams", "first < ?1 AND last < ?1"},
		{"dns", "time < ?"},
		{"dhcp", "time < ?"},
		{"device_addresses", "last < ?"},
	} {
		query := "DELETE FROM " + d.table + " WHERE rowid IN (SELECT rowid FROM " + d.table + " WHERE " + d.where + " LIMIT ?)"
		for {
			n, err := s.pruneOnce(ctx, query, before)
			if err != nil {
				return out, fmt.Errorf("store: prune %s: %w", d.table, err)
			}
			out[d.table] += n
			if n < pruneBatch {
				break
			}
		}
	}
	return out, s.releaseFreePages(ctx)
}

// releaseFreePages gives the pages retention freed back to the file
// system, a bounded number per statement for the same reason as
// pruneBatch. Databases created before auto_vacuum was set (PRAGMA
// auto_vacuum reads 0) keep their size; VACUUM once, offline, after
// PRAGMA auto_vacuum = INCREMENTAL converts them.
func (s *DB) releaseFreePages(ctx context.Context) error {
	var mode int
	if err := s.sql.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("store: auto_vacuum: %w", err)
	}
	if mode != 2 {
		return nil
	}
	for {
		var free int64
		if err := s.sql.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free); err != nil {
			return fmt.Errorf("store: freelist: %w", err)
		}
		if free == 0 {
			return nil
		}
		if _, err := s.sql.ExecContext(ctx, "PRAGMA incremental_vacuum(4096)"); err != nil {
			return fmt.Errorf("store: incremental vacuum: %w", err)
		}
	}
}

func (s *DB) pruneOnce(ctx context.Context, query string, before int64) (int64, error) {
	res, err := s.sql.ExecContext(ctx, query, before, pruneBatch)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// TrafficEnd is the time of the latest packet stored (0 for none):
// retention counts days back from it, not from the clock, so that
// analysing last year's captures does not delete them as they arrive.
func (s *DB) TrafficEnd(ctx context.Context) (int64, error) {
	var last sql.NullInt64
	if err := s.sql.QueryRowContext(ctx, `SELECT max(last) FROM captures`).Scan(&last); err != nil {
		return 0, fmt.Errorf("store: latest traffic: %w", err)
	}
	return last.Int64, nil
}
