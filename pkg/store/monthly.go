package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/saaslens/saaslens/pkg/timecut"
)

// monthKey is a client_usage_monthly row's key.
type monthKey struct {
	month                         int64 // its first instant in the rollup zone
	client, clientMAC, serverName string
}

// columns are the key's values in its table's column order.
func (k monthKey) columns() []any {
	return []any{k.month, k.client, k.clientMAC, k.serverName}
}

// compareMonthKeys orders keys as their table's primary key does.
func compareMonthKeys(a, b monthKey) int {
	if a.month != b.month {
		return cmp.Compare(a.month, b.month)
	}
	return compareThen(compareThen(strings.Compare(a.client, b.client), a.clientMAC, b.clientMAC), a.serverName, b.serverName)
}

// monthlyExtra are client_usage_monthly's columns after the sums: the
// days added, and the first and last hours, which a delta that added
// nothing leaves as they are (monthlyMerge takes the least and greatest).
func monthlyExtra(d *usageDelta) []any {
	if d.added == 0 {
		return []any{int64(0), int64(math.MaxInt64), int64(math.MinInt64)}
	}
	return []any{d.added, d.firstHour, d.lastHour}
}

// monthlyMerge merges a row's days and hours into the stored row's.
const monthlyMerge = `, days=days|excluded.days, first_hour=min(first_hour, excluded.first_hour), last_hour=max(last_hour, excluded.last_hour)`

// monthlyColumns are client_usage_monthly's columns, as inserted.
const monthlyColumns = `client_usage_monthly(month, client, client_mac, server_name,
	streams, packets_up, packets_down, bytes_up, bytes_down, duration_ns, rtt_sum_ns, rtt_count, handshake_sum_ns, handshake_count,
	days, first_hour, last_hour)`

// monthDaysMax bounds the UTC days a month of any zone overlaps: 31 days
// and a few hours of offset on either side.
const monthDaysMax = 34

// monthDaysQuery reads the hours of the daily totals per client of a
// month's UTC days (an IN list, monthDaysMax days, the last repeated) for
// one client and name: a lookup by primary key per day.
var monthDaysQuery = `SELECT day, hours FROM client_usage_daily WHERE day IN (?` + strings.Repeat(`, ?`, monthDaysMax-1) + `)
	AND client = ? AND client_mac = ? AND server_name = ?`

// recountMonth sets the days and first and last hours of k's row from
// the daily totals' hours, after a stream taken back may have left a day
// or an hour without streams.
func (w *FileWriter) recountMonth(k monthKey) error {
	const day, hour = int64(24 * time.Hour), int64(time.Hour)
	next := w.calendar.NextMonth(k.month)
	args := make([]any, 0, monthDaysMax+3)
	for d := timecut.Floor(k.month, day); len(args) < monthDaysMax; d = min(d+day, timecut.Floor(next-1, day)) {
		args = append(args, d)
	}
	rows, err := w.st.monthDays.QueryContext(w.ctx, append(args, k.client, k.clientMAC, k.serverName)...)
	if err != nil {
		return fmt.Errorf("recounting a month's days: %w", err)
	}
	defer rows.Close()
	var days, first, last int64
	for rows.Next() {
		var d, hours int64
		if err := rows.Scan(&d, &hours); err != nil {
			return fmt.Errorf("recounting a month's days: %w", err)
		}
		for h := d; hours != 0; h, hours = h+hour, hours>>1 {
			if hours&1 == 0 || h < k.month || h >= next {
				continue
			}
			_, dayOfMonth := w.calendar.Place(h)
			if days == 0 || h < first {
				first = h
			}
			if days == 0 || h > last {
				last = h
			}
			days |= 1 << (dayOfMonth - 1)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recounting a month's days: %w", err)
	}
	if days == 0 {
		return nil // no stream left: the row went with its streams
	}
	_, err = w.st.monthRecount.ExecContext(w.ctx, append([]any{days, first, last}, k.columns()...)...)
	return err
}

// buildMonthlyTotals adds to client_usage_monthly what the hourly totals
// per client of [from, to) hold, with the months and days of loc: the
// table holds none of those hours yet. One statement per month of loc,
// summed by SQLite: a month's days are a CASE over its days' hours (a
// bit each: the DISTINCT sum of powers of two is their OR). Summing the
// rows in Go and upserting each key took three times as long.
func buildMonthlyTotals(ctx context.Context, tx *sql.Tx, loc *time.Location, from, to int64) error {
	var first, last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(hour), max(hour) FROM client_usage_hourly WHERE hour >= ? AND hour < ?`, from, to).
		Scan(&first, &last); err != nil {
		return err
	}
	if !first.Valid {
		return nil
	}
	cal := timecut.Calendar{Loc: loc}
	for hour := first.Int64; hour <= last.Int64; {
		month, _ := cal.Place(hour)
		// The month's days, by the hours Place puts on each.
		var days strings.Builder
		days.WriteString("CASE")
		start, end := timecut.DayHours(hour, loc)
		for {
			_, day := cal.Place(start)
			fmt.Fprintf(&days, " WHEN hour < %d THEN %d", end, int64(1)<<(day-1))
			if m, _ := cal.Place(end); m != month {
				break
			}
			start, end = timecut.DayHours(end, loc)
		}
		days.WriteString(" END")
		// hour is the month's first with data, or its first: within [from, to).
		hi := min(end, to)
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+monthlyColumns+`
			SELECT ?, client, client_mac, server_name, sum(streams), sum(packets_up), sum(packets_down), sum(bytes_up), sum(bytes_down),
				sum(duration_ns), sum(rtt_sum_ns), sum(rtt_count), sum(handshake_sum_ns), sum(handshake_count),
				sum(DISTINCT `+days.String()+`), min(hour), max(hour)
			FROM client_usage_hourly WHERE hour >= ? AND hour < ? GROUP BY client, client_mac, server_name `+addTotals+monthlyMerge,
			month, hour, hi); err != nil {
			return fmt.Errorf("the month from %s: %w", time.Unix(0, month).In(loc).Format(time.DateOnly), err)
		}
		hour = end
	}
	return nil
}

// SetRollupZone cuts client_usage_monthly's months and days, and closes
// days (CloseDays), in loc from now on, rebuilding the daily and monthly
// totals from the hourly ones when they were cut in another zone (a few
// seconds for a month of an office); it tells whether it did. loc must be named (time.LoadLocation), not
// time.Local: another process reads the name.
func (s *DB) SetRollupZone(ctx context.Context, loc *time.Location) (rebuilt bool, err error) {
	if loc.String() == "Local" {
		return false, fmt.Errorf("store: rollup zone: name the zone (time.LoadLocation), not the machine's local one")
	}
	// No file is being written meanwhile: its months would be the old
	// zone's.
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: rollup zone: %w", err)
	}
	defer tx.Rollback()
	var zone string
	if err := tx.QueryRowContext(ctx, `SELECT zone FROM rollup_zone`).Scan(&zone); err != nil {
		return false, fmt.Errorf("store: rollup zone: %w", err)
	}
	if zone == loc.String() {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rollup_zone SET zone = ?`, loc.String()); err != nil {
		return false, fmt.Errorf("store: rollup zone %s: %w", loc, err)
	}
	if err := recloseInZone(ctx, tx, loc); err != nil {
		return false, fmt.Errorf("store: rollup zone %s: %w", loc, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: rollup zone %s: %w", loc, err)
	}
	return true, nil
}

// RebuildMonthlyTotals builds client_usage_monthly anew from the hourly
// totals per client, in the rollup zone, for a database whose totals were
// written by SQL rather than by a FileWriter (an import, a benchmark's
// generated month).
func (s *DB) RebuildMonthlyTotals(ctx context.Context) error {
	return s.rebuild(ctx, "client_usage_monthly", buildMonthlyTotalsInZone)
}

// buildMonthlyTotalsInZone is buildMonthlyTotals of the closed days, in
// the zone rollup_zone names.
func buildMonthlyTotalsInZone(ctx context.Context, tx *sql.Tx) error {
	var zone string
	var closed int64
	if err := tx.QueryRowContext(ctx, `SELECT zone, closed FROM rollup_zone`).Scan(&zone, &closed); err != nil {
		return fmt.Errorf("rollup zone: %w", err)
	}
	loc, err := loadZone(zone)
	if err != nil {
		return err
	}
	return buildMonthlyTotals(ctx, tx, loc, math.MinInt64, closed)
}

// zones holds the zones rollup_zone named, loaded once each.
var zones sync.Map

// loadZone is time.LoadLocation, remembered.
func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("rollup zone %q: %w", name, err)
	}
	zones.Store(name, loc)
	return loc, nil
}

// RollupZone is the zone the monthly totals are cut in (SetRollupZone),
// the datasource's timeZone.
func (s *DB) RollupZone(ctx context.Context) (*time.Location, error) {
	var name string
	if err := s.sql.QueryRowContext(ctx, `SELECT zone FROM rollup_zone`).Scan(&name); err != nil {
		return nil, fmt.Errorf("store: rollup zone: %w", err)
	}
	return loadZone(name)
}
