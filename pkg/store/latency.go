package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/saaslens/saaslens/pkg/histogram"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// latencyKey is a latency_hourly row's key.
type latencyKey struct {
	measure    string
	hour       int64
	serverName string
}

// latencyTotals accumulates changes to latency_hourly rows: per key, the
// change in count per bucket.
type latencyTotals map[latencyKey]map[uint32]int64

// account adds (sign +1) or takes back (sign -1) a stream's values, under
// the measures latency_hourly keeps a histogram of (query.Latency's):
// handshake durations in nanoseconds (tls, serverRtt, clientRtt:
// streams.tls_handshake_ns, server_rtt_ns and client_rtt_ns where
// measured) and flags, 1 or 0 per stream (resets: an ended stream ended in
// a reset; retransmits: a TCP stream retransmitted).
func (t latencyTotals) account(u *usage, sign int64) {
	add := func(measure string, v int64) {
		k := latencyKey{measure, u.key.hour, u.key.serverName}
		counts := t[k]
		if counts == nil {
			counts = map[uint32]int64{}
			t[k] = counts
		}
		counts[histogram.Bucket(v)] += sign
	}
	flag := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	if u.handshake > 0 {
		add("tls", u.handshake)
	}
	if u.serverRTT > 0 {
		add("serverRtt", u.serverRTT)
	}
	if u.clientRTT > 0 {
		add("clientRtt", u.clientRTT)
	}
	if u.ended {
		add("resets", flag(u.reset))
	}
	if u.key.proto == tcpProto {
		add("retransmits", flag(u.retransmitted))
	}
}

const tcpProto = 6

// merge adds o's changes to t's.
func (t latencyTotals) merge(o latencyTotals) {
	for k, counts := range o {
		dst := t[k]
		if dst == nil {
			t[k] = counts
			continue
		}
		for bucket, n := range counts {
			dst[bucket] += n
		}
	}
}

// execQueryer is a connection or a transaction.
type execQueryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// flush adds the changes to their rows, in the table's key order, and
// deletes the rows left with no stream.
func (t latencyTotals) flush(ctx context.Context, db execQueryer) error {
	keys := slices.SortedFunc(maps.Keys(t), func(a, b latencyKey) int {
		return compareThen(compareThen(strings.Compare(a.measure, b.measure), a.hour, b.hour), a.serverName, b.serverName)
	})
	var stored, sum histogram.Histogram
	var blob []byte
	for _, k := range keys {
		delta := histogram.FromCounts(t[k])
		if len(delta) == 0 {
			continue
		}
		blob = blob[:0]
		err := db.QueryRowContext(ctx, `SELECT histogram FROM latency_hourly WHERE measure = ? AND hour = ? AND server_name = ?`,
			k.measure, k.hour, k.serverName).Scan(&blob)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("latency_hourly %s %d %q: %w", k.measure, k.hour, k.serverName, err)
		}
		if stored, err = histogram.Decode(stored, blob); err != nil {
			return fmt.Errorf("latency_hourly %s %d %q: %w", k.measure, k.hour, k.serverName, err)
		}
		sum = histogram.Add(sum, stored, delta)
		for _, b := range sum {
			if b.Count < 0 {
				return fmt.Errorf("latency_hourly %s %d %q: bucket %d would count %d streams", k.measure, k.hour, k.serverName, b.Bucket, b.Count)
			}
		}
		if len(sum) == 0 {
			_, err = db.ExecContext(ctx, `DELETE FROM latency_hourly WHERE measure = ? AND hour = ? AND server_name = ?`, k.measure, k.hour, k.serverName)
		} else {
			_, err = db.ExecContext(ctx, `INSERT OR REPLACE INTO latency_hourly(measure, hour, server_name, streams, histogram) VALUES (?, ?, ?, ?, ?)`,
				k.measure, k.hour, k.serverName, sum.Total(), sum.Append(nil))
		}
		if err != nil {
			return fmt.Errorf("latency_hourly %s %d %q: %w", k.measure, k.hour, k.serverName, err)
		}
	}
	return nil
}

// buildLatencyHourly fills latency_hourly from the streams stored, for
// migration 14: the histograms need Go's buckets.
func buildLatencyHourly(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT first, server_name, proto, coalesce(tls_handshake_ns, 0), coalesce(server_rtt_ns, 0),
		coalesce(client_rtt_ns, 0), end_reason, retransmits_up + retransmits_down FROM streams`)
	if err != nil {
		return err
	}
	defer rows.Close()
	totals := latencyTotals{}
	for rows.Next() {
		var u usage
		var end string
		var retransmits int64
		if err := rows.Scan(&u.first, &u.key.serverName, &u.key.proto, &u.handshake, &u.serverRTT, &u.clientRTT, &end, &retransmits); err != nil {
			return err
		}
		u.key.hour = timecut.HourOf(u.first)
		u.setEnd(end, retransmits)
		totals.account(&u, +1)
		// Bounded like the writer's sums; flushing adds to the rows.
		if len(totals) >= maxUsageKeys {
			if err := totals.flush(ctx, tx); err != nil {
				return err
			}
			clear(totals)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return totals.flush(ctx, tx)
}

// RebuildLatencyTotals builds latency_hourly anew from the streams stored,
// for a database whose streams were written by SQL rather than by a
// FileWriter (an import, a benchmark's generated month).
func (s *DB) RebuildLatencyTotals(ctx context.Context) error {
	return s.rebuild(ctx, "latency_hourly", buildLatencyHourly)
}
