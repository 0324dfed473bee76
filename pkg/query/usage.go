package query

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/store"
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
	m, err := usageMetricOf(q.Metric)
	if err != nil {
		return nil, err
	}
	q.Metric = m.name
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
	// Every bucket overlapping the range counts whole, whichever table
	// answers: the rollups cannot split an hour or a day.
	src, err := usageSource(q, m, firstBucket, firstBucket+buckets*int64(q.Step))
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	var text string
	var points []usagePoint
	var rank map[string]int64
	args := src.args
	if m.who != "" {
		text = `SELECT t, service, ` + m.who + `, hours FROM (` + src.sql + `)`
		points, rank, err = distinctUsage(ctx, db, text, args, int64(q.Step), top, src.listed)
	} else {
		text = `WITH s AS ` + src.materialized + `(` + src.sql + `),
	top AS (SELECT service, ` + m.agg + ` AS v FROM s GROUP BY service ORDER BY v DESC, service LIMIT ?)
SELECT t, CASE WHEN service IN (SELECT service FROM top) THEN service ELSE '` + Other + `' END AS series, ` + m.agg + `
FROM s GROUP BY 1, 2
UNION ALL SELECT NULL, service, v FROM top`
		args = append(args, top)
		points, rank, err = summedUsage(ctx, db, text, args)
	}
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	frame := usageFrame(q, m.unit, points, rank, firstBucket, buckets)
	frame.Meta.ExecutedQueryString = executed(text, args)
	return frame, nil
}

// usageMetric is how a usage query counts: agg sums a metric in SQL; who
// names the column a distinct count counts (in Go, distinctUsage).
type usageMetric struct{ name, agg, who, unit string }

func usageMetricOf(metric string) (usageMetric, error) {
	switch metric {
	case MetricStreams, "":
		return usageMetric{MetricStreams, "sum(streams)", "", "short"}, nil
	case MetricBytes:
		return usageMetric{MetricBytes, "sum(bytes)", "", "decbytes"}, nil
	case MetricClients:
		return usageMetric{MetricClients, "", "client", "short"}, nil
	case MetricDevices:
		return usageMetric{MetricDevices, "", "device", "short"}, nil
	}
	return usageMetric{}, fmt.Errorf("usage: metric %q: want streams, bytes, clients or devices", metric)
}

// usageRows are the rows of (t, service, client, device, bytes, streams,
// hours) a usage query counts, over the buckets [firstBucket, end):
// listed, a row's service is a list, a line each; materialized, the
// source is computed once for the ranking and the steps, not twice.
type usageRows struct {
	sql          string
	args         []any
	listed       bool
	materialized string
}

// usageSource builds the rows on the table store.Series chooses.
func usageSource(q UsageQuery, m usageMetric, firstBucket, end int64) (usageRows, error) {
	group, err := groupExpr(q.GroupBy, "u")
	if err != nil {
		return usageRows{}, err
	}
	filter, args := q.Filter.where("u")
	join := joins("u", q.GroupBy, q.Filter)
	step := int64(q.Step)
	perClient := m.who != "" || q.Filter.perClient(q.GroupBy)
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
	r := usageRows{args: append([]any{step, step, firstBucket, end}, args...)}
	// perDay is query, grouping per client's day the source its %s
	// names, over the closed days' rows and then the others'
	// (store.DailyParts).
	perDay := func(query string) string {
		closed, open := store.DailyParts(firstBucket, end)
		return strings.Replace(query, "%s", closed, 1) + "\nUNION ALL " + strings.Replace(query, "%s", open, 1)
	}
	switch store.Series(q.Step, perClient, m.who != "") {
	case store.ServiceHours:
		r.sql = rowsOf("usage_hourly", "hour", "u.streams")
	case store.ClientDays:
		switch {
		case needsInventory(q.GroupBy) && !q.Filter.perService():
			// Per device, user or department, the names do not matter:
			// each client's day first (the table's key order, no sort),
			// then the inventory joined to those, an eighth as many rows
			// on an office's month.
			r.sql = `SELECT (u.day / ?) * ? AS t, ` + group + ` AS service, u.client, ` + deviceOf("u") + ` AS device, u.bytes, u.streams, 1 AS hours
			FROM (` + perDay(`SELECT day, client, client_mac, sum(bytes_up + bytes_down) AS bytes, sum(streams) AS streams FROM %s
				WHERE day >= ? AND day < ? GROUP BY 1, 2, 3`) + `) u` + join + ` WHERE 1` + filter
			r.args = append([]any{step, step, firstBucket, end, firstBucket, end}, args...)
			// An aggregate: computed twice, a month per department took
			// 0.15 s in the sqlite3 shell, 0.11 s once. (Row sources lose
			// their indexes to it: a day of one service, 5 ms against 18 ms.)
			r.materialized = "MATERIALIZED "
		case m.who != "":
			// Who used what in a day: a row per client's day with the
			// services it used, a thirteenth of the daily rows on an
			// office's month, in the table's key order (no sort); the
			// count splits the lists (and counts a client's day that is
			// in both parts once).
			r.sql = perDay(`SELECT (u.day / ?) * ? AS t, group_concat(` + group + `, char(10)) AS service, u.client, ` + deviceOf("u") + ` AS device, 1 AS hours
			FROM %s u` + join + ` WHERE u.day >= ? AND u.day < ?` + filter + ` GROUP BY u.day, u.client, u.client_mac`)
			r.args = append(r.args, r.args...)
			r.listed = true
		default:
			r.sql = rowsOf(store.DailyRows(firstBucket, end), "day", "u.streams")
		}
	case store.ClientDayHours:
		// Who was active in an hour is in the day's row (its hours): on
		// an office's week, a seventh of the hourly totals' rows per
		// client. The count expands each row's hours into steps.
		r.sql = `SELECT u.hour AS t, ` + group + ` AS service, u.client, ` + deviceOf("u") + ` AS device, u.hours
			FROM ` + store.DayTotals(firstBucket, end) + ` u` + join + ` WHERE 1` + filter
		r.args = args
	case store.ClientHourRows:
		r.sql = rowsOf("client_usage_hourly", "hour", "u.streams")
	default:
		r.sql = rowsOf("streams", "first", "1")
	}
	return r, nil
}

// usageFrame is the wide frame of the points: a time field, then a field
// per series, the top ones by rank, Other last.
func usageFrame(q UsageQuery, unit string, points []usagePoint, rank map[string]int64, firstBucket, buckets int64) *data.Frame {
	step := int64(q.Step)
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
	label := groupLabel(q.GroupBy)
	for _, name := range order {
		f := data.NewField(q.Metric, data.Labels{label: name}, series[name])
		f.Config = &data.FieldConfig{Unit: unit, DisplayNameFromDS: name}
		frame.Fields = append(frame.Fields, f)
	}
	frame.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}}
	return frame
}
