package query

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/saaslens/saaslens/pkg/store"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/timecut"
)

// Unnamed is the service of streams whose server name is unknown: no SNI,
// no QUIC or HTTP name, no DNS answer for the address.
const Unnamed = "(unnamed)"

// Other is the series summing every service outside the top N.
const Other = "other"

// Metrics of a usage query.
const (
	MetricStreams = "streams"
	MetricBytes   = "bytes"
	MetricClients = "clients"
	// MetricDevices counts devices: a client's MAC where one was seen,
	// else its address.
	MetricDevices = "devices"
)

// UsageQuery asks for a metric per service per step over a range.
type UsageQuery struct {
	Metric string
	Range  Range
	Step   time.Duration
	Filter Filter
	// GroupBy is what a series is: GroupService (default), GroupVendor,
	// GroupProduct or GroupCategory.
	GroupBy string
	// TopN services get their own series, the rest are summed as Other
	// (clients: counted once). 0 means DefaultTopN.
	TopN int
}

// DefaultTopN keeps a usage panel's legend readable.
const DefaultTopN = 10

// A panel's frame is held whole in memory and sent whole to Grafana, so
// the options that multiply its series are bounded: at most MaxTopN
// groups, MaxPercentiles lines per group, and maxValues numbers a frame
// (50 groups of 10 percentiles over 2,000 steps, or 1,000 groups' usage
// over 1,000 steps).
const (
	MaxTopN        = 1000
	MaxPercentiles = 10
	maxValues      = 1_000_000
)

func checkTopN(n int) error {
	if n > MaxTopN {
		return fmt.Errorf("topN %d: at most %d", n, MaxTopN)
	}
	return nil
}

// checkValues refuses a frame of series × steps numbers past maxValues.
func checkValues(series int, steps int64) error {
	if int64(series)*steps > maxValues {
		return fmt.Errorf("%d series of %d steps are more than %d values: choose fewer groups or percentiles, or a longer interval", series, steps, maxValues)
	}
	return nil
}

// maxBuckets bounds the points of a usage frame; Grafana asks for at most
// a few thousand.
const maxBuckets = 20000

// Usage returns a wide time series frame: a time field and one number
// field per service (label service), every step of the range present.
// Streams count in the step they start in, and every step overlapping the
// range counts whole. Steps of whole hours read the hourly rollups, per
// service or (for distinct clients or devices, or a client filter) per
// client, and the latter's steps of whole (UTC) days the daily totals per
// client, as do distinct counts in steps of hours (the hours of the day a
// client was active); all outlive retention, so a long range still has
// data.
func Usage(ctx context.Context, db *sql.DB, q UsageQuery) (*data.Frame, error) {
	// agg sums a metric in SQL; who names the column a distinct count
	// counts (in Go, distinctUsage).
	var agg, who, unit string
	switch q.Metric {
	case MetricStreams, "":
		q.Metric, agg, unit = MetricStreams, "sum(streams)", "short"
	case MetricBytes:
		agg, unit = "sum(bytes)", "decbytes"
	case MetricClients:
		who, unit = "client", "short"
	case MetricDevices:
		who, unit = "device", "short"
	default:
		return nil, fmt.Errorf("usage: metric %q: want streams, bytes, clients or devices", q.Metric)
	}
	step := int64(q.Step)
	firstBucket, buckets, err := steps(q.Range, q.Step)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	if err := checkTopN(q.TopN); err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	top := q.TopN
	if top <= 0 {
		top = DefaultTopN
	}
	if err := checkValues(top+1, buckets); err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	group, err := groupExpr(q.GroupBy, "u")
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	label := groupLabel(q.GroupBy)
	filter, args := q.Filter.where("u")
	join := joins("u", q.GroupBy, q.Filter)
	// Every bucket overlapping the range counts whole, whichever table
	// answers: the rollups cannot split an hour or a day.
	end := firstBucket + buckets*step
	perClient := q.Metric == MetricClients || q.Metric == MetricDevices || q.Filter.perClient(q.GroupBy)
	// rowsOf reads table, whose time column is at, each row counting
	// streams streams.
	rowsOf := func(table, at, streams string) string {
		who := `u.client, ` + deviceOf("u") + ` AS device`
		if !perClient {
			who = `'' AS client, '' AS device`
		}
		return `SELECT (u.` + at + ` / ?) * ? AS t, ` + group + ` AS service, ` + who + `, u.bytes_up + u.bytes_down AS bytes, ` + streams + ` AS streams, 1 AS hours
			FROM ` + table + ` u` + join + ` WHERE u.` + at + ` >= ? AND u.` + at + ` < ?` + filter
	}
	var source string
	rangeArgs := []any{step, step, firstBucket, end}
	// listed: a row's service is a list, a line each; materialized: the
	// source is computed once for the ranking and the steps, not twice.
	listed, materialized := false, ""
	switch store.Series(q.Step, perClient, who != "") {
	case store.ServiceHours:
		source = rowsOf("usage_hourly", "hour", "u.streams")
	case store.ClientDays:
		switch {
		case needsInventory(q.GroupBy) && !q.Filter.perService():
			// Per device, user or department, the names do not matter:
			// each client's day first (the table's key order, no sort),
			// then the inventory joined to those, an eighth as many rows
			// on an office's month.
			source = `SELECT (u.day / ?) * ? AS t, ` + group + ` AS service, u.client, ` + deviceOf("u") + ` AS device, u.bytes, u.streams, 1 AS hours
			FROM (SELECT day, client, client_mac, sum(bytes_up + bytes_down) AS bytes, sum(streams) AS streams FROM client_usage_daily
				WHERE day >= ? AND day < ? GROUP BY 1, 2, 3) u` + join + ` WHERE 1` + filter
			// An aggregate: computed twice, a month per department took
			// 0.15 s in the sqlite3 shell, 0.11 s once. (Row sources lose
			// their indexes to it: a day of one service, 5 ms against 18 ms.)
			materialized = "MATERIALIZED "
		case who != "":
			// Who used what in a day: a row per client's day with the
			// services it used, a thirteenth of the daily rows on an
			// office's month, in the table's key order (no sort); the
			// count splits the lists.
			source = `SELECT (u.day / ?) * ? AS t, group_concat(` + group + `, char(10)) AS service, u.client, ` + deviceOf("u") + ` AS device, 1 AS hours
			FROM client_usage_daily u` + join + ` WHERE u.day >= ? AND u.day < ?` + filter + ` GROUP BY u.day, u.client, u.client_mac`
			listed = true
		default:
			source = rowsOf("client_usage_daily", "day", "u.streams")
		}
	case store.ClientDayHours:
		// Who was active in an hour is in the day's row (its hours): on
		// an office's week, a seventh of the hourly totals' rows per
		// client. The count expands each row's hours into steps.
		source = `SELECT u.hour AS t, ` + group + ` AS service, u.client, ` + deviceOf("u") + ` AS device, u.hours
			FROM ` + store.DayTotals(firstBucket, end) + ` u` + join + ` WHERE 1` + filter
		rangeArgs = nil
	case store.ClientHourRows:
		source = rowsOf("client_usage_hourly", "hour", "u.streams")
	default:
		source = rowsOf("streams", "first", "1")
	}
	args = append(rangeArgs, args...)
	var text string
	var points []usagePoint
	var rank map[string]int64
	if who != "" {
		text = `SELECT t, service, ` + who + `, hours FROM (` + source + `)`
		points, rank, err = distinctUsage(ctx, db, text, args, step, top, listed)
	} else {
		text = `WITH s AS ` + materialized + `(` + source + `),
	top AS (SELECT service, ` + agg + ` AS v FROM s GROUP BY service ORDER BY v DESC, service LIMIT ?)
SELECT t, CASE WHEN service IN (SELECT service FROM top) THEN service ELSE '` + Other + `' END AS series, ` + agg + `
FROM s GROUP BY 1, 2
UNION ALL SELECT NULL, service, v FROM top`
		args = append(args, top)
		points, rank, err = summedUsage(ctx, db, text, args)
	}
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	series := map[string][]float64{}
	var order []string
	for _, p := range points {
		vals, ok := series[p.series]
		if !ok {
			vals = make([]float64, buckets)
			series[p.series] = vals
			order = append(order, p.series)
		}
		if i := (p.t - firstBucket) / step; i >= 0 && i < buckets {
			vals[i] = float64(p.v)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if (a == Other) != (b == Other) {
			return b == Other
		}
		if rank[a] != rank[b] {
			return rank[a] > rank[b]
		}
		return a < b
	})
	times := make([]time.Time, buckets)
	for i := range times {
		times[i] = time.Unix(0, firstBucket+int64(i)*step).UTC()
	}
	frame := data.NewFrame("usage", data.NewField("time", nil, times))
	for _, name := range order {
		f := data.NewField(q.Metric, data.Labels{label: name}, series[name])
		f.Config = &data.FieldConfig{Unit: unit, DisplayNameFromDS: name}
		frame.Fields = append(frame.Fields, f)
	}
	frame.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1},
		ExecutedQueryString: executed(text, args)}
	return frame, nil
}

// usagePoint is one series' value in the step starting at t.
type usagePoint struct {
	t      int64
	series string
	v      int64
}

// summedUsage reads the points of a summed metric and the top services'
// totals (the rows without a time).
func summedUsage(ctx context.Context, db *sql.DB, text string, args []any) ([]usagePoint, map[string]int64, error) {
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var points []usagePoint
	rank := map[string]int64{}
	for rows.Next() {
		var t sql.NullInt64
		var p usagePoint
		if err := rows.Scan(&t, &p.series, &p.v); err != nil {
			return nil, nil, err
		}
		if !t.Valid {
			rank[p.series] = p.v
			continue
		}
		p.t = t.Int64
		points = append(points, p)
	}
	return points, rank, rows.Err()
}

// distinctUsage counts distinct clients or devices per step and service
// from rows of (time, service, who, hours), in Go: SQLite sorted the rows
// twice (the ranking and the steps) and that took seconds a month. Bit h
// of hours says who was active h hours after the row's time, which counts
// in the step holding that hour; with listed, service is a list of
// services, a line each. The top services rank by who used them over the
// whole range; Other counts each one once per step, whichever other
// services it used.
func distinctUsage(ctx context.Context, db *sql.DB, text string, args []any, step int64, top int, listed bool) ([]usagePoint, map[string]int64, error) {
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	// Names and users as small numbers: a month has a million rows.
	services, users := map[string]int32{}, map[string]int32{}
	var serviceNames []string
	intern := func(m map[string]int32, s string) int32 {
		id, ok := m[s]
		if !ok {
			id = int32(len(m))
			m[s] = id
		}
		return id
	}
	type use struct {
		t             int64
		service, user int32
	}
	seen := map[use]struct{}{}
	var t, hours int64
	var service string
	var user sql.NullString
	for rows.Next() {
		if err := rows.Scan(&t, &service, &user, &hours); err != nil {
			return nil, nil, err
		}
		if !user.Valid {
			continue // an address that is no device (deviceOf)
		}
		who := intern(users, user.String)
		names := []string{service}
		if listed {
			names = strings.Split(service, "\n")
		}
		for _, name := range names {
			id := intern(services, name)
			if int(id) == len(serviceNames) {
				serviceNames = append(serviceNames, name)
			}
			store.EachHour(t, hours, func(hour int64) {
				seen[use{timecut.Floor(hour, step), id, who}] = struct{}{}
			})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	type pair struct{ service, user int32 }
	overall := map[pair]struct{}{}
	for u := range seen {
		overall[pair{u.service, u.user}] = struct{}{}
	}
	total := make([]int64, len(serviceNames))
	for p := range overall {
		total[p.service]++
	}
	ranked := make([]int32, len(serviceNames))
	for i := range ranked {
		ranked[i] = int32(i)
	}
	sort.Slice(ranked, func(i, j int) bool {
		a, b := ranked[i], ranked[j]
		if total[a] != total[b] {
			return total[a] > total[b]
		}
		return serviceNames[a] < serviceNames[b]
	})
	isTop := make([]bool, len(serviceNames))
	rank := map[string]int64{}
	for _, id := range ranked[:min(top, len(ranked))] {
		isTop[id] = true
		rank[serviceNames[id]] = total[id]
	}
	type point struct {
		t       int64
		service int32 // -1: Other
	}
	counts := map[point]int64{}
	others := map[use]struct{}{}
	for u := range seen {
		if isTop[u.service] {
			counts[point{u.t, u.service}]++
		} else if _, dup := others[use{u.t, -1, u.user}]; !dup {
			others[use{u.t, -1, u.user}] = struct{}{}
			counts[point{u.t, -1}]++
		}
	}
	points := make([]usagePoint, 0, len(counts))
	for k, v := range counts {
		name := Other
		if k.service >= 0 {
			name = serviceNames[k.service]
		}
		points = append(points, usagePoint{k.t, name, v})
	}
	// The order the frame's series first appear in does not matter (they
	// are sorted by rank), but the same input must give the same frame.
	sort.Slice(points, func(i, j int) bool {
		if points[i].t != points[j].t {
			return points[i].t < points[j].t
		}
		return points[i].series < points[j].series
	})
	return points, rank, nil
}

// steps checks a time series' step over r and returns its first bucket
// and how many buckets cover r.
func steps(r Range, step time.Duration) (first, n int64, err error) {
	if step <= 0 {
		return 0, 0, fmt.Errorf("step %s must be more than 0", step)
	}
	if r.To < r.From {
		return 0, 0, fmt.Errorf("the range ends before it starts")
	}
	first = timecut.Floor(r.From, int64(step))
	n = (r.To-first)/int64(step) + 1
	if n > maxBuckets {
		return 0, 0, fmt.Errorf("%d steps of %s over the range, more than %d: choose a longer interval", n, step, maxBuckets)
	}
	return first, n, nil
}

// executed shows a query with its arguments, for the query inspector.
func executed(text string, args []any) string {
	if len(args) == 0 {
		return text
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprintf("%#v", a)
	}
	return text + "\n-- arguments: " + strings.Join(parts, ", ")
}

// TableQuery asks for the rows of a table panel over a range.
type TableQuery struct {
	Range   Range
	Filter  Filter
	GroupBy string // serverNames: as UsageQuery.GroupBy
	Limit   int
}

// DefaultTableRows is how many rows a table query returns unless asked.
const DefaultTableRows = 1000

func (q TableQuery) limit() int {
	if q.Limit <= 0 {
		return DefaultTableRows
	}
	return q.Limit
}

// ServerNames returns one row per service (or vendor, product, category:
// GroupBy) active in the range: accesses (streams, as the tutorial counts
// them), packets, bytes each way, clients, first and last seen; grouped by
// service, each row also carries its vendor, product, category and kind.
// From a day on it reads the totals per client (totalsFrom: monthly for
// whole months of loc where the monthly totals are cut in it, daily where
// whole UTC days allow, else hourly), and first and last seen are the
// first and last hours a stream started in (from the hourly totals per
// service, unless grouped or filtered per client).
func ServerNames(ctx context.Context, db *sql.DB, q TableQuery, loc *time.Location) (*data.Frame, error) {
	plan, err := store.PlanRange(q.Range.From, q.Range.To).InZone(ctx, db, loc)
	if err != nil {
		return nil, fmt.Errorf("serverNames: %w", err)
	}
	return serverNames(ctx, db, q, plan)
}

func serverNames(ctx context.Context, db *sql.DB, q TableQuery, plan store.Plan) (*data.Frame, error) {
	t := "s"
	if plan.Totals {
		t = "u"
	}
	group, err := groupExpr(q.GroupBy, t)
	if err != nil {
		return nil, fmt.Errorf("serverNames: %w", err)
	}
	name, extra := "server_name", `,
	coalesce(nullif(min(sv.vendor), ''), '') AS vendor, coalesce(min(sv.product), '') AS product,
	coalesce(nullif(min(sv.category), ''), '`+Unknown+`') AS category, coalesce(nullif(min(sv.kind), ''), '`+Unknown+`') AS kind`
	if q.GroupBy != "" && q.GroupBy != GroupService {
		name, extra = q.GroupBy, ""
	}
	extraNames := ", sums.vendor, sums.product, sums.category, sums.kind"
	if extra == "" {
		extraNames = ""
	}
	filter, args := q.Filter.where(t)
	var text string
	switch {
	case plan.Totals && !q.Filter.perClient(q.GroupBy):
		// The sums and clients from the totals per client, the hours of
		// first and last use from the totals per service: the daily and
		// monthly rows know their day or month only.
		hourGroup, err := groupExpr(q.GroupBy, "h")
		if err != nil {
			return nil, fmt.Errorf("serverNames: %w", err)
		}
		hourFilter, hourArgs := q.Filter.where("h")
		sums, hours := plan.Clients("u"), plan.Services("h")
		text = `WITH sums AS (SELECT ` + group + ` AS g, ` + sums.Streams + ` AS accesses, sum(u.packets_up + u.packets_down) AS packets,
	sum(u.bytes_up) AS bytes_up, sum(u.bytes_down) AS bytes_down, count(DISTINCT u.client) AS clients` + extra + `
FROM ` + sums.From + ` LEFT JOIN services sv ON sv.server_name = u.server_name
WHERE ` + sums.Where + filter + `
GROUP BY 1),
seen AS (SELECT ` + hourGroup + ` AS g, min(h.hour) AS first_seen, max(h.hour) AS last_seen
FROM ` + hours.From + ` LEFT JOIN services sv ON sv.server_name = h.server_name
WHERE ` + hours.Where + hourFilter + `
GROUP BY 1)
SELECT sums.g AS ` + name + `, accesses, packets, bytes_up, bytes_down, clients, seen.first_seen, seen.last_seen` + extraNames + `
FROM sums JOIN seen ON seen.g = sums.g
ORDER BY accesses DESC, 1 LIMIT ?`
		args = append(args, hourArgs...)
	default:
		rows := plan.ClientHours(t)
		first, last := t+".first", t+".last"
		if rows.Totals {
			first, last = t+".hour", t+".hour"
		}
		text = `SELECT ` + group + ` AS ` + name + `, ` + rows.Streams + ` AS accesses, sum(` + t + `.packets_up + ` + t + `.packets_down) AS packets,
	sum(` + t + `.bytes_up) AS bytes_up, sum(` + t + `.bytes_down) AS bytes_down, count(DISTINCT ` + t + `.client) AS clients,
	min(` + first + `) AS first_seen, max(` + last + `) AS last_seen` + extra + `
FROM ` + rows.From + ` LEFT JOIN services sv ON sv.server_name = ` + t + `.server_name` + devicesJoin(t, q.GroupBy, q.Filter) + `
WHERE ` + rows.Where + filter + `
GROUP BY 1 ORDER BY accesses DESC, 1 LIMIT ?`
	}
	args = append(args, q.limit())
	frame, err := queryFrame(ctx, db, "serverNames", text, q.limit(), args...)
	if err != nil {
		return nil, fmt.Errorf("serverNames: %w", err)
	}
	frame.Meta.ExecutedQueryString = executed(text, args)
	if notice := plan.Notice(); notice != "" {
		frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: notice})
	}
	setUnits(frame, map[string]string{"bytes_up": "decbytes", "bytes_down": "decbytes", "packets": "short", "accesses": "short", "clients": "short"})
	return frame, nil
}

// Streams returns the tutorial's view: one row per stream active in the
// range, newest first, with its service's vendor and category.
func Streams(ctx context.Context, db *sql.DB, q TableQuery) (*data.Frame, error) {
	filter, args := q.Filter.where("s")
	active := store.ActiveDuring("s", q.Range.From, q.Range.To)
	text := `SELECT s.first, s.last, s.client, s.client_mac, d.hostname AS client_name, s.server, s.server_port,
	CASE WHEN s.quic_version IS NOT NULL THEN 'quic' WHEN s.proto = 6 THEN 'tcp' WHEN s.proto = 17 THEN 'udp' ELSE CAST(s.proto AS TEXT) END AS transport,
	s.server_name, s.name_source, coalesce(sv.vendor, '') AS vendor, coalesce(nullif(sv.category, ''), '` + Unknown + `') AS category,
	s.packets_up + s.packets_down AS packets, s.bytes_up, s.bytes_down,
	(s.last - s.first) / 1e6 AS duration_ms, s.server_rtt_ns / 1e6 AS rtt_ms, s.tls_handshake_ns / 1e6 AS tls_handshake_ms,
	s.end_reason, CAST(s.id AS TEXT) AS stream_id, ` + inventoryOf("user") + ` AS user, ` + inventoryOf("department") + ` AS department
FROM streams s LEFT JOIN devices d ON d.mac = s.client_mac LEFT JOIN services sv ON sv.server_name = s.server_name` + inventoryJoin("s") + `
WHERE ` + active + filter + `
ORDER BY s.first DESC, s.id LIMIT ?`
	args = append(args, q.limit())
	frame, err := queryFrame(ctx, db, "streams", text, q.limit(), args...)
	if err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	frame.Meta.ExecutedQueryString = executed(text, args)
	setUnits(frame, map[string]string{"bytes_up": "decbytes", "bytes_down": "decbytes", "duration_ms": "ms", "rtt_ms": "ms", "tls_handshake_ms": "ms"})
	return frame, nil
}

func setUnits(frame *data.Frame, units map[string]string) {
	for _, f := range frame.Fields {
		if u, ok := units[f.Name]; ok {
			if f.Config == nil {
				f.Config = &data.FieldConfig{}
			}
			f.Config.Unit = u
		}
	}
}

// Choice is one entry of a picker or a template variable.
type Choice struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// List is what a picker or a template variable offers: services, clients
// or devices seen in a range (every one when the range is zero).
type List struct {
	// SQL takes the range's start (floored to the hour) and end; Query
	// puts the totals per client over the range where it names
	// clientTotalsInRange.
	SQL    string
	choice func(a, b string) Choice
}

// clientTotalsInRange stands, in a list's SQL, for store.DayTotals over the
// range the list is loaded for.
const clientTotalsInRange = "client_totals_in_range"

// devicesSeen is the clients with use in a range, as u.
const devicesSeen = `(SELECT DISTINCT client, client_mac FROM ` + clientTotalsInRange + ` WHERE hour >= ? AND hour <= ?) u`

// Lists by name, as the resources and variable queries name them.
var Lists = map[string]List{
	// Services most used first, from the hourly rollup, which outlives
	// retention.
	"services": {
		SQL:    `SELECT ` + serviceOf("u") + `, sum(u.streams) FROM usage_hourly u WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// Vendors most used first; an unclassified name stands for itself.
	"vendors": {
		SQL: `SELECT coalesce(nullif(sv.vendor, ''), ` + serviceOf("u") + `), sum(u.streams) FROM usage_hourly u LEFT JOIN services sv ON sv.server_name = u.server_name
	WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// Products most used first, named as grouping by product names them.
	"products": {
		SQL: `SELECT ` + productOf("u") + `, sum(u.streams) FROM usage_hourly u LEFT JOIN services sv ON sv.server_name = u.server_name
	WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// Categories seen, most used first.
	"categories": {
		SQL: `SELECT coalesce(nullif(sv.category, ''), '` + Unknown + `'), sum(u.streams) FROM usage_hourly u LEFT JOIN services sv ON sv.server_name = u.server_name
	WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// Client addresses with the DHCP name of their device when known.
	"clients": {
		SQL: `SELECT u.client, coalesce(max(nullif(d.hostname, '')), '') FROM ` + clientTotalsInRange + ` u LEFT JOIN devices d ON d.mac = u.client_mac
	WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY sum(u.streams) DESC, 1 LIMIT 5000`,
		choice: func(client, host string) Choice {
			if host == "" {
				return Choice{Text: client, Value: client}
			}
			return Choice{Text: client + " (" + host + ")", Value: client}
		},
	},
	// Users and departments of the devices seen in the range, as the
	// inventory names them (NoUser, NoDepartment for devices it lacks).
	// The devices seen first, then the inventory joined to those: joined
	// to every hourly row it took three times as long.
	"users": {
		SQL:    `SELECT DISTINCT coalesce(nullif(` + inventoryOf("user") + `, ''), '` + NoUser + `'), '' FROM ` + devicesSeen + inventoryJoin("u") + ` ORDER BY 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	"departments": {
		SQL:    `SELECT DISTINCT coalesce(nullif(` + inventoryOf("department") + `, ''), '` + NoDepartment + `'), '' FROM ` + devicesSeen + inventoryJoin("u") + ` ORDER BY 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// The registrable domains of the names no source classifies, the most
	// devices first: what to name next in a catalog or contracts file.
	"unclassified": {
		SQL: `SELECT sv.domain, CAST(count(DISTINCT ` + deviceOf("u") + `) AS TEXT) FROM ` + clientTotalsInRange + ` u JOIN services sv ON sv.server_name = u.server_name
	WHERE u.hour >= ? AND u.hour <= ? AND sv.source = '' AND sv.domain != '' GROUP BY 1 ORDER BY count(DISTINCT ` + deviceOf("u") + `) DESC, sum(u.bytes_up + u.bytes_down) DESC, 1 LIMIT 5000`,
		choice: func(domain, devices string) Choice {
			unit := "devices"
			if devices == "1" {
				unit = "device"
			}
			return Choice{Text: domain + " (" + devices + " " + unit + ")", Value: domain}
		},
	},
	// Devices (MACs), named by DHCP.
	"devices": {
		SQL: `SELECT mac, hostname FROM devices WHERE last >= ? AND first <= ? ORDER BY hostname = '', hostname, mac LIMIT 5000`,
		choice: func(mac, host string) Choice {
			if host == "" {
				return Choice{Text: mac, Value: mac}
			}
			return Choice{Text: host + " (" + mac + ")", Value: mac}
		},
	},
}

// Load runs the list over r.
func (l List) Load(ctx context.Context, db *sql.DB, r Range) ([]Choice, error) {
	text, from, to := l.Query(r)
	return choices(ctx, db, text, from, to, l.choice)
}

// Query returns the SQL the list runs over r, and its two arguments: r's
// start (floored to the hour) and end; all time when r is zero.
func (l List) Query(r Range) (text string, from, to int64) {
	if r == (Range{}) {
		// 1823 to 2116, with room to round without overflow.
		r = Range{From: -1 << 62, To: 1 << 62}
	}
	from = timecut.HourOf(r.From)
	text = strings.ReplaceAll(l.SQL, clientTotalsInRange, store.DayTotals(from, timecut.HourOf(r.To)+timecut.Hour))
	return text, from, r.To
}

func choices(ctx context.Context, db *sql.DB, text string, from, to int64, make func(a, b string) Choice) ([]Choice, error) {
	rows, err := db.QueryContext(ctx, text, from, to)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	out := []Choice{}
	for rows.Next() {
		var a string
		var b any
		if err := rows.Scan(&a, &b); err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		bs := ""
		if s, ok := b.(string); ok {
			bs = s
		}
		out = append(out, make(a, bs))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return out, nil
}
