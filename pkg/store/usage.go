package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// usageKey is a client_usage_hourly row's key, and with the day in hour a
// client_usage_daily row's.
type usageKey struct {
	hour                          int64
	client, clientMAC, serverName string
	proto, serverPort             int64
}

// usage is one stream's contribution to the hourly totals.
type usage struct {
	key                                        usageKey
	first, last                                int64
	packetsUp, packetsDown, bytesUp, bytesDown int64
	serverRTT, clientRTT, handshake            int64
	// ended: not open; reset: ended in a reset; retransmitted: a TCP
	// segment came again. For latency_hourly's shares.
	ended, reset, retransmitted bool
	// server is the server's address, a server_usage_hourly key column.
	server string
	// ownSeries marks a stored row written by the file's own series.
	ownSeries bool
}

func (u *usage) setLatencies(serverRTT, clientRTT, handshake int64) {
	u.serverRTT, u.clientRTT, u.handshake = serverRTT, clientRTT, handshake
}

// rtt is the whole TCP handshake's round trip, 0 unless both halves were
// measured (as flow.Stream.RTT).
func (u *usage) rtt() int64 {
	if u.serverRTT > 0 && u.clientRTT > 0 {
		return u.serverRTT + u.clientRTT
	}
	return 0
}

// setEnd takes the stream's end_reason as stored and its retransmitted
// segments.
func (u *usage) setEnd(end string, retransmits int64) {
	u.ended, u.reset, u.retransmitted = end != flow.EndOpen.String(), end == flow.EndRST.String(), retransmits > 0
}

// usageDelta accumulates the changes to one totals row within a file.
type usageDelta struct {
	usageSums
	// For the totals that keep when streams started (client_usage_daily
	// the hours of its day, client_usage_monthly the days of its month):
	// the bits of the streams added and of those taken back, and the
	// first and last hours streams were added in (none unless added).
	added, takenBack    int64
	firstHour, lastHour int64
}

// usageSums are a totals row's sums.
type usageSums struct {
	streams, packetsUp, packetsDown, bytesUp, bytesDown, duration int64
	rttSum, rttCount, handshakeSum, handshakeCount                int64
}

// hourKey is a usage_hourly row's key.
type hourKey struct {
	hour              int64
	serverName        string
	proto, serverPort int64
}

// serverKey is a server_usage_hourly row's key.
type serverKey struct {
	hour               int64
	serverName, server string
}

// usageOf is the contribution of stream s, stored with end_reason end.
func usageOf(s *flow.Stream, end string, names addrNames) *usage {
	mac := ""
	if s.HasClientMAC {
		mac = macString(s.ClientMAC)
	}
	u := &usage{
		key: usageKey{hour: timecut.HourOf(s.First), client: names.of(s.Client), clientMAC: mac, serverName: s.ServerName,
			proto: int64(s.Proto), serverPort: int64(s.ServerPort)},
		first: s.First, last: s.Last,
		packetsUp: int64(s.Packets[0]), packetsDown: int64(s.Packets[1]),
		bytesUp: int64(s.Bytes[0]), bytesDown: int64(s.Bytes[1]),
		server: names.of(s.Server),
	}
	u.setLatencies(s.ServerRTT, s.ClientRTT, s.TLSHandshake)
	u.setEnd(end, int64(s.Retransmits[0]+s.Retransmits[1]))
	return u
}

// totals sum what streams add to, or take back from, the rollup tables
// until they are written (flushUsage).
type totals struct {
	usage    map[usageKey]*usageDelta
	hourly   map[hourKey]*usageDelta
	servers  map[serverKey]*usageDelta
	daily    map[usageKey]*usageDelta // the day in hour
	monthly  map[monthKey]*usageDelta
	latency  latencyTotals
	calendar timecut.Calendar // the rollup zone's, for monthly
	// closed is where the daily and monthly totals end (rollup_zone):
	// they hold the hours before it, built when their day closed
	// (DB.CloseDays); only a stream of an earlier hour, in a late file,
	// adds to them here.
	closed int64
}

func newTotals(loc *time.Location, closed int64) *totals {
	return &totals{usage: make(map[usageKey]*usageDelta), hourly: make(map[hourKey]*usageDelta),
		servers: make(map[serverKey]*usageDelta), daily: make(map[usageKey]*usageDelta),
		monthly: make(map[monthKey]*usageDelta), latency: latencyTotals{}, calendar: timecut.Calendar{Loc: loc}, closed: closed}
}

// due tells whether what is summed should go to the tables (in the same
// transaction) before u is added, the maps starting again: past a bound,
// as a flood of one-off clients makes a key per stream.
func (t *totals) due(u *usage) bool {
	if _, known := t.usage[u.key]; known {
		return false
	}
	return len(t.usage) >= maxUsageKeys || len(t.hourly) >= maxUsageKeys || len(t.servers) >= maxUsageKeys ||
		len(t.daily) >= maxUsageKeys || len(t.monthly) >= maxUsageKeys || len(t.latency) >= maxUsageKeys
}

// account adds (sign +1) or takes back (sign -1) a stream's contribution
// to the totals. A stream written again, when it grew or ended in a later
// file, is taken back as first written and added as it is now, so each
// stream counts once.
func (t *totals) account(u *usage, sign int64) {
	if u == nil {
		return
	}
	addTo(t.usage, u.key, u, sign, 0)
	addTo(t.hourly, hourKey{hour: u.key.hour, serverName: u.key.serverName, proto: u.key.proto, serverPort: u.key.serverPort}, u, sign, 0)
	addTo(t.servers, serverKey{hour: u.key.hour, serverName: u.key.serverName, server: u.server}, u, sign, 0)
	t.latency.account(u, sign)
	if u.key.hour >= t.closed {
		return
	}
	day := u.key
	day.hour = timecut.Floor(u.key.hour, int64(24*time.Hour))
	addTo(t.daily, day, u, sign, 1<<((u.key.hour-day.hour)/int64(time.Hour)))
	month, dayOfMonth := t.calendar.Place(u.key.hour)
	addTo(t.monthly, monthKey{month: month, client: u.key.client, clientMAC: u.key.clientMAC, serverName: u.key.serverName}, u, sign, 1<<(dayOfMonth-1))
}

// merge adds o's changes to t's.
func (t *totals) merge(o *totals) {
	mergeDeltas(t.usage, o.usage)
	mergeDeltas(t.hourly, o.hourly)
	mergeDeltas(t.servers, o.servers)
	mergeDeltas(t.daily, o.daily)
	mergeDeltas(t.monthly, o.monthly)
	t.latency.merge(o.latency)
}

func mergeDeltas[K comparable](dst, src map[K]*usageDelta) {
	for k, s := range src {
		if d := dst[k]; d != nil {
			d.merge(s)
		} else {
			dst[k] = s
		}
	}
}

func (d *usageDelta) merge(o *usageDelta) {
	d.streams += o.streams
	d.packetsUp += o.packetsUp
	d.packetsDown += o.packetsDown
	d.bytesUp += o.bytesUp
	d.bytesDown += o.bytesDown
	d.duration += o.duration
	d.rttSum += o.rttSum
	d.rttCount += o.rttCount
	d.handshakeSum += o.handshakeSum
	d.handshakeCount += o.handshakeCount
	if o.added != 0 {
		d.addHours(o.added, o.firstHour, o.lastHour)
	}
	d.takenBack |= o.takenBack
}

// addHours records streams added in the hours first to last, bits being
// their table's bits for them.
func (d *usageDelta) addHours(bits, first, last int64) {
	if d.added == 0 || first < d.firstHour {
		d.firstHour = first
	}
	if d.added == 0 || last > d.lastHour {
		d.lastHour = last
	}
	d.added |= bits
}

// addTo adds (sign +1) or takes back (sign -1) u in the sums of key k, and
// for totals that keep when streams started, bit (their table's bit for
// u's hour) in the bits added or taken back.
func addTo[K comparable](sums map[K]*usageDelta, k K, u *usage, sign, bit int64) {
	d := sums[k]
	if d == nil {
		d = &usageDelta{}
		sums[k] = d
	}
	d.add(u, sign)
	switch {
	case bit == 0:
	case sign < 0:
		d.takenBack |= bit
	default:
		d.addHours(bit, u.key.hour, u.key.hour)
	}
}

func (d *usageDelta) add(u *usage, sign int64) {
	d.streams += sign
	d.packetsUp += sign * u.packetsUp
	d.packetsDown += sign * u.packetsDown
	d.bytesUp += sign * u.bytesUp
	d.bytesDown += sign * u.bytesDown
	d.duration += sign * (u.last - u.first)
	if rtt := u.rtt(); rtt > 0 {
		d.rttSum += sign * rtt
		d.rttCount += sign
	}
	if u.handshake > 0 {
		d.handshakeSum += sign * u.handshake
		d.handshakeCount += sign
	}
}

// maxUsageKeys bounds the usage sums held in memory within one file.
const maxUsageKeys = 1 << 16

// flushUsage writes t to the rollup tables.
func (w *FileWriter) flushUsage(t *totals) error {
	_, err := flushTotals(w, t.usage, w.wc.clientTotals, w.st.usageDrop, usageKey.columns, compareUsageKeys, nil)
	if err != nil {
		return err
	}
	_, err = flushTotals(w, t.hourly, w.wc.serviceTotals, w.st.hourDrop, func(k hourKey) []any {
		return []any{k.hour, k.serverName, k.proto, k.serverPort}
	}, func(a, b hourKey) int {
		if a.hour != b.hour {
			return cmp.Compare(a.hour, b.hour)
		}
		return compareThen(compareThen(strings.Compare(a.serverName, b.serverName), a.proto, b.proto), a.serverPort, b.serverPort)
	}, nil)
	if err != nil {
		return err
	}
	_, err = flushTotals(w, t.servers, w.wc.serverTotals, w.st.serverDrop, func(k serverKey) []any {
		return []any{k.hour, k.serverName, k.server}
	}, func(a, b serverKey) int {
		if a.hour != b.hour {
			return cmp.Compare(a.hour, b.hour)
		}
		return compareThen(strings.Compare(a.serverName, b.serverName), a.server, b.server)
	}, nil)
	if err != nil {
		return err
	}
	// After the hourly totals per client: an hour whose row a stream
	// taken back emptied loses its bit when the day's hours are counted
	// again from those rows, and the days and first and last hours of
	// its month, from the days' rows, once these are written.
	recount, err := flushTotals(w, t.daily, w.wc.dailyTotals, w.st.dailyDrop, usageKey.columns, compareUsageKeys,
		func(d *usageDelta) []any { return []any{d.added} })
	if err != nil {
		return err
	}
	months := map[monthKey]bool{}
	for _, k := range recount {
		if _, err := w.st.dailyHours.ExecContext(w.ctx, k.columns()...); err != nil {
			return err
		}
		d := t.daily[k]
		for h, emptied := int64(0), d.takenBack&^d.added; emptied != 0; h, emptied = h+1, emptied>>1 {
			if emptied&1 != 0 {
				month, _ := t.calendar.Place(k.hour + h*int64(time.Hour))
				months[monthKey{month: month, client: k.client, clientMAC: k.clientMAC, serverName: k.serverName}] = true
			}
		}
	}
	_, err = flushTotals(w, t.monthly, w.wc.monthlyTotals, w.st.monthlyDrop, monthKey.columns, compareMonthKeys, monthlyExtra)
	if err != nil {
		return err
	}
	for _, k := range slices.SortedFunc(maps.Keys(months), compareMonthKeys) {
		if err := w.recountMonth(k); err != nil {
			return err
		}
	}
	return t.latency.flush(w.ctx, w.conn)
}

// columns are the key's values in its table's column order.
func (k usageKey) columns() []any {
	return []any{k.hour, k.client, k.clientMAC, k.serverName, k.proto, k.serverPort}
}

// compareUsageKeys orders keys as their table's primary key does.
func compareUsageKeys(a, b usageKey) int {
	if a.hour != b.hour {
		return cmp.Compare(a.hour, b.hour)
	}
	return compareThen(compareThen(compareThen(compareThen(strings.Compare(a.client, b.client), a.clientMAC, b.clientMAC),
		a.serverName, b.serverName), a.proto, b.proto), a.serverPort, b.serverPort)
}

// compareThen is c, or when c is 0 (the keys' earlier columns are equal)
// the comparison of a and b: unlike cmp.Or's arguments, a later column is
// compared only when the earlier ones tie, which most sorted keys do not.
func compareThen[T cmp.Ordered](c int, a, b T) int {
	if c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// flushTotals adds each key's sums to its rollup row (the inserter takes
// the key's columns, then the sums, then extra's values) and deletes the
// rows left with no stream (drop takes the key's columns). Keys go in the
// table's order (compare is its primary key's): in a map's random order
// each upsert went to another page, and SQLite journaled the same pages
// again for every statement. For totals that keep when streams started
// (extra not nil), it returns the keys whose bits must be counted again:
// a stream taken back where none was added, so that its hour or day may
// have no stream left.
func flushTotals[K comparable](w *FileWriter, sums map[K]*usageDelta, totals *rowInserter, drop *sql.Stmt, key func(K) []any, compare func(a, b K) int,
	extra func(*usageDelta) []any) (recount []K, err error) {
	var emptied []K
	keys := slices.SortedFunc(maps.Keys(sums), compare)
	for _, k := range keys {
		d := sums[k]
		if extra != nil && d.takenBack&^d.added != 0 {
			recount = append(recount, k)
		}
		if d.usageSums == (usageSums{}) {
			continue
		}
		row, err := totals.row(w.ctx, w.conn)
		if err != nil {
			return nil, err
		}
		values := append(key(k), d.streams, d.packetsUp, d.packetsDown, d.bytesUp, d.bytesDown, d.duration,
			d.rttSum, d.rttCount, d.handshakeSum, d.handshakeCount)
		if extra != nil {
			values = append(values, extra(d)...)
		}
		setRow(row, values...)
		if d.streams < 0 {
			emptied = append(emptied, k)
		}
	}
	if err := totals.flush(w.ctx, w.conn); err != nil {
		return nil, err
	}
	for _, k := range emptied {
		if _, err := drop.ExecContext(w.ctx, key(k)...); err != nil {
			return nil, err
		}
	}
	return recount, nil
}

// buildDailyTotals fills client_usage_daily from client_usage_hourly, as
// migration 16 did: every day's.
func buildDailyTotals(ctx context.Context, tx *sql.Tx) error {
	return buildDays(ctx, tx, math.MinInt64, math.MaxInt64)
}

// buildDays adds to client_usage_daily what the hours [from, to) hold,
// which it must not hold yet: a day's sums and, in hours, a bit for each
// of the day's hours with a row. A UTC day a local one cuts is added to
// in two goes.
func buildDays(ctx context.Context, tx *sql.Tx, from, to int64) error {
	// WHERE true: an upsert's SELECT needs one, or SQLite reads ON as a join's.
	_, err := tx.ExecContext(ctx, `INSERT INTO client_usage_daily SELECT * FROM `+daysOfHours(from, to, "")+` d WHERE true `+
		addTotals+`, hours=hours|excluded.hours`)
	return err
}

// daysOfHours is a FROM source of client_usage_daily's columns summed
// from the hourly totals per client of [from, to) and a further
// condition on their hour (SQL, "" for none).
func daysOfHours(from, to int64, cond string) string {
	const day, hour = int64(24 * time.Hour), int64(time.Hour)
	if cond != "" {
		cond = " AND " + cond
	}
	// The remainder taken twice keeps the days of hours before 1970 right.
	return fmt.Sprintf(`(SELECT hour - ((hour %% %[1]d) + %[1]d) %% %[1]d AS day, client, client_mac, server_name, proto, server_port,
	sum(streams) AS streams, sum(packets_up) AS packets_up, sum(packets_down) AS packets_down, sum(bytes_up) AS bytes_up,
	sum(bytes_down) AS bytes_down, sum(duration_ns) AS duration_ns, sum(rtt_sum_ns) AS rtt_sum_ns, sum(rtt_count) AS rtt_count,
	sum(handshake_sum_ns) AS handshake_sum_ns, sum(handshake_count) AS handshake_count,
	sum(1 << (((hour %% %[1]d) + %[1]d) %% %[1]d / %[2]d)) AS hours
FROM client_usage_hourly WHERE hour >= %[3]d AND hour < %[4]d%[5]s GROUP BY 1, 2, 3, 4, 5, 6)`, day, hour, from, to, cond)
}

// RebuildDailyTotals builds client_usage_daily anew from the hourly
// totals per client, for the days closed (DB.CloseDays), for a database
// whose totals were written by SQL rather than by a FileWriter (an
// import, a benchmark's generated month).
func (s *DB) RebuildDailyTotals(ctx context.Context) error {
	return s.rebuild(ctx, "client_usage_daily", func(ctx context.Context, tx *sql.Tx) error {
		closed, err := closedUntil(ctx, tx)
		if err != nil {
			return err
		}
		return buildDays(ctx, tx, math.MinInt64, closed)
	})
}

// rebuild empties table and fills it again with build, in a transaction
// of its own, no file being written meanwhile.
func (s *DB) rebuild(ctx context.Context, table string, build func(context.Context, *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: rebuilding %s: %w", table, err)
	}
	defer tx.Rollback()
	if err := refill(ctx, tx, table, build); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return tx.Commit()
}

// refill empties table and fills it again with build, in tx.
func refill(ctx context.Context, tx *sql.Tx, table string, build func(context.Context, *sql.Tx) error) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table); err != nil {
		return fmt.Errorf("rebuilding %s: %w", table, err)
	}
	if err := build(ctx, tx); err != nil {
		return fmt.Errorf("rebuilding %s: %w", table, err)
	}
	return nil
}

// dailyHoursRecount sets a client_usage_daily row's hours (its key's
// columns the arguments) to the hours of the day that have a row in
// client_usage_hourly: an IN list of the 24 hours, so that each is a
// lookup by the hourly table's primary key, not a scan of the day.
var dailyHoursRecount = func() string {
	var hours []string
	for h := range 24 {
		hours = append(hours, fmt.Sprintf("?1 + %d", int64(h)*int64(time.Hour)))
	}
	key := "client = ?2 AND client_mac = ?3 AND server_name = ?4 AND proto = ?5 AND server_port = ?6"
	return fmt.Sprintf(`UPDATE client_usage_daily SET hours = (SELECT coalesce(sum(1 << ((hour - ?1) / %d)), 0) FROM client_usage_hourly
	WHERE hour IN (%s) AND %s) WHERE day = ?1 AND %s`, int64(time.Hour), strings.Join(hours, ", "), key, key)
}()
