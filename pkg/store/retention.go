package store

import (
	"context"
	"fmt"
)

// Pruned counts the rows a retention run deleted, by table.
type Pruned map[string]int64

// Prune deletes the detail rows of everything older than before (Unix
// nanoseconds): packets, TLS hellos, streams that ended before it, DNS and
// DHCP messages, device address stretches. Daily usage totals, devices and
// the capture ledger stay, so long-range panels keep their history and old
// files are not ingested again.
func (s *DB) Prune(ctx context.Context, before int64) (Pruned, error) {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: prune: %w", err)
	}
	defer tx.Rollback()
	out := Pruned{}
	for _, d := range []struct{ table, where string }{
		{"packets", "time < ?"},
		{"tls", "time < ?"},
		{"streams", "last < ?"},
		{"dns", "time < ?"},
		{"dhcp", "time < ?"},
		{"device_addresses", "last < ?"},
	} {
		res, err := tx.ExecContext(ctx, "DELETE FROM "+d.table+" WHERE "+d.where, before)
		if err != nil {
			return nil, fmt.Errorf("store: prune %s: %w", d.table, err)
		}
		out[d.table], _ = res.RowsAffected()
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: prune: %w", err)
	}
	return out, nil
}
