package query

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/histogram"
	"github.com/saaslens/saaslens/pkg/store"
)

// Latency measures of a latency query: the stream columns they read.
var latencyColumns = map[string]string{
	"tls":       "tls_handshake_ns", // ClientHello to ServerHello (QUIC: first Initial each way)
	"serverRtt": "server_rtt_ns",    // SYN to SYN/ACK: the network beyond the capture point
	"clientRtt": "client_rtt_ns",    // SYN/ACK to ACK: the client's side
}

// DefaultPercentiles and DefaultMeasure are a latency query's unless it
// asks for others.
var DefaultPercentiles = []float64{50, 95}

const DefaultMeasure = "tls"

// LatencyQuery asks for percentiles of a latency measure per group per
// step, or the share of streams that ended in a reset.
type LatencyQuery struct {
	// Measure is tls, serverRtt, clientRtt, resets (the share of ended
	// streams that ended in RST, in percent) or retransmits (the share of
	// TCP streams with a retransmitted segment, in percent).
	Measure string
	// Percentiles, each in (0, 100], distinct, at most MaxPercentiles;
	// default 50 and 95. Not for resets.
	Percentiles []float64
	Range       Range
	Step        time.Duration
	Filter      Filter
	GroupBy     string
	// TopN groups (by streams measured) get series; 0 means DefaultTopN,
	// at most MaxTopN.
	TopN int
	// DayOfMonth, when set, puts the streams of every month in the range
	// together by their calendar day in it (1 to 31), so that slowdowns at
	// month's end or start show: the frame's first field is that day, not
	// a time, and Step is not used.
	DayOfMonth *time.Location
}

// Latency returns a wide time series frame: for each of the top groups and
// each percentile, the percentile of the measure over the streams that
// started in each step (nearest rank over the streams themselves, not an
// average of averages); a step without measured streams is empty (null),
// not zero.
//
// Unless grouped or filtered by client, device, user or department, a
// query over a day or more reads the hourly histograms (latency_hourly)
// rather than a row per stream: its steps are whole hours (the step is
// rounded up), each percentile is the midpoint of the histogram bucket
// holding the exact one (within 0.8% of it), and a day-of-month view
// counts the range's first and last hours whole. A notice says so.
func Latency(ctx context.Context, db *sql.DB, q LatencyQuery) (*data.Frame, error) {
	return latency(ctx, db, q, store.PlanRange(q.Range.From, q.Range.To))
}

// latency answers q as plan reads.
func latency(ctx context.Context, db *sql.DB, q LatencyQuery, plan store.Plan) (*data.Frame, error) {
	pcts, err := checkLatency(&q)
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	fromHistograms := plan.Histograms(q.Filter.perClient(q.GroupBy), q.DayOfMonth)
	if fromHistograms && q.DayOfMonth == nil {
		q.Step = (q.Step + time.Hour - 1) / time.Hour * time.Hour
	}
	b, err := latencyBucketsOf(q)
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	text, args, err := latencySQL(q, plan, fromHistograms, b)
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	dists, count, err := readDistributions(ctx, db, text, args, fromHistograms, b.of)
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	groups := topGroups(count, q.TopN)
	series := len(groups)
	if !isShare(q.Measure) {
		series *= len(pcts)
	}
	if err := checkValues(series, b.n); err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	frame := latencyFrame(q, pcts, groups, dists, b)
	frame.Meta.ExecutedQueryString = executed(text, args)
	if fromHistograms {
		notice := histogramsNotice
		if q.DayOfMonth != nil {
			notice += "; the range's first and last hours whole"
		}
		frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: notice})
	}
	return frame, nil
}

// isShare tells whether a measure is a share of streams (resets,
// retransmits) rather than a duration with percentiles.
func isShare(measure string) bool { return measure == "resets" || measure == "retransmits" }

// checkLatency fills in q's defaults and refuses what it cannot answer; it
// returns the percentiles asked for.
func checkLatency(q *LatencyQuery) ([]float64, error) {
	if q.Measure == "" {
		q.Measure = DefaultMeasure
	}
	if latencyColumns[q.Measure] == "" && !isShare(q.Measure) {
		return nil, fmt.Errorf("measure %q: want tls, serverRtt, clientRtt, resets or retransmits", q.Measure)
	}
	pcts := q.Percentiles
	if len(pcts) == 0 {
		pcts = DefaultPercentiles
	}
	if len(pcts) > MaxPercentiles {
		return nil, fmt.Errorf("%d percentiles: at most %d", len(pcts), MaxPercentiles)
	}
	for i, p := range pcts {
		if p <= 0 || p > 100 {
			return nil, fmt.Errorf("percentile %v: want more than 0 and at most 100", p)
		}
		if slices.Contains(pcts[:i], p) {
			return nil, fmt.Errorf("percentile %v asked for twice", p)
		}
	}
	return pcts, checkTopN(q.TopN)
}

// latencyBuckets are a latency frame's steps: n of step from first, the
// rows read up to end, and the bucket a stream's start falls in (with a
// day-of-month view, its calendar day).
type latencyBuckets struct {
	first, step, n, end int64
	of                  func(first int64) int64
}

func latencyBucketsOf(q LatencyQuery) (latencyBuckets, error) {
	if q.DayOfMonth != nil {
		// One step over the whole range: the day is found per stream.
		if q.Range.To < q.Range.From {
			return latencyBuckets{}, fmt.Errorf("the range ends before it starts")
		}
		return latencyBuckets{first: q.Range.From, step: q.Range.To - q.Range.From + 1, n: 31, end: q.Range.To + 1,
			of: func(first int64) int64 { return int64(time.Unix(0, first).In(q.DayOfMonth).Day() - 1) }}, nil
	}
	first, n, err := steps(q.Range, q.Step)
	if err != nil {
		return latencyBuckets{}, err
	}
	step := int64(q.Step)
	return latencyBuckets{first: first, step: step, n: n, end: first + n*step,
		of: func(t int64) int64 { return (t - first) / step }}, nil
}

// latencySQL reads the histograms of the buckets' hours, or the streams'
// values.
func latencySQL(q LatencyQuery, plan store.Plan, fromHistograms bool, b latencyBuckets) (string, []any, error) {
	group, err := groupExpr(q.GroupBy, "s")
	if err != nil {
		return "", nil, err
	}
	filter, args := q.Filter.where("s")
	if fromHistograms {
		from, to := b.first, b.end
		if q.DayOfMonth != nil {
			from, to = plan.From, plan.To
		}
		return `SELECT s.hour, ` + group + ` AS g, s.histogram
FROM latency_hourly s` + joins("s", q.GroupBy, q.Filter) + `
WHERE s.measure = ? AND s.hour >= ? AND s.hour < ?` + filter, append([]any{q.Measure, from, to}, args...), nil
	}
	column := latencyColumns[q.Measure]
	value := "s." + column
	where := " AND s." + column + " > 0"
	switch q.Measure {
	case "resets":
		value, where = "CASE WHEN s.end_reason = 'rst' THEN 1 ELSE 0 END", " AND s.end_reason != 'open'"
	case "retransmits":
		value, where = "CASE WHEN s.retransmits_up + s.retransmits_down > 0 THEN 1 ELSE 0 END", " AND s.proto = 6"
	}
	return `SELECT s.first, ` + group + ` AS g, ` + value + `
FROM streams s` + joins("s", q.GroupBy, q.Filter) + `
WHERE s.first >= ? AND s.first < ?` + where + filter, append([]any{b.first, b.end}, args...), nil
}

// topGroups are the top groups by streams measured, then by name.
func topGroups(count map[string]int64, top int) []string {
	groups := make([]string, 0, len(count))
	for g := range count {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		if count[groups[i]] != count[groups[j]] {
			return count[groups[i]] > count[groups[j]]
		}
		return groups[i] < groups[j]
	})
	if top <= 0 {
		top = DefaultTopN
	}
	return groups[:min(top, len(groups))]
}

// latencyFrame is the wide frame of the groups' distributions: a time
// (or day) field, then per group a share, or a field per percentile.
func latencyFrame(q LatencyQuery, pcts []float64, groups []string, dists map[string]map[int64]*distribution, b latencyBuckets) *data.Frame {
	frame := data.NewFrame("latency")
	frame.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}}
	if q.DayOfMonth != nil {
		days := make([]int64, b.n)
		for i := range days {
			days[i] = int64(i + 1)
		}
		frame.Fields = append(frame.Fields, data.NewField("day", nil, days))
		frame.Meta.Type, frame.Meta.TypeVersion = "", data.FrameTypeVersion{}
	} else {
		times := make([]time.Time, b.n)
		for i := range times {
			times[i] = time.Unix(0, b.first+int64(i)*b.step).UTC()
		}
		frame.Fields = append(frame.Fields, data.NewField("time", nil, times))
	}
	label := groupLabel(q.GroupBy)
	for _, g := range groups {
		if isShare(q.Measure) {
			field := make([]*float64, b.n)
			for i, d := range dists[g] {
				if share, ok := d.share(); ok && i >= 0 && i < b.n {
					field[i] = &share
				}
			}
			f := data.NewField(q.Measure, data.Labels{label: g}, field)
			f.Config = &data.FieldConfig{Unit: "percent", DisplayNameFromDS: g}
			frame.Fields = append(frame.Fields, f)
			continue
		}
		for _, p := range pcts {
			field := make([]*float64, b.n)
			for i, d := range dists[g] {
				if v, ok := d.percentile(p); ok && i >= 0 && i < b.n {
					ms := float64(v) / 1e6
					field[i] = &ms
				}
			}
			name := fmt.Sprintf("p%g", p)
			f := data.NewField(q.Measure, data.Labels{label: g, "percentile": name}, field)
			f.Config = &data.FieldConfig{Unit: "ms", DisplayNameFromDS: g + " " + name}
			frame.Fields = append(frame.Fields, f)
		}
	}
	return frame
}

// histogramsNotice says what an answer from latency_hourly is.
const histogramsNotice = "from the hourly histograms: each percentile is the midpoint of the bucket holding the exact one, within 0.8% of it"

// distribution holds what one group measured in one step: the values of
// its streams, or their histogram.
type distribution struct {
	values      []int64
	hist, spare histogram.Histogram
}

// percentile is the nearest-rank percentile p in nanoseconds (from a
// histogram: its bucket's midpoint), and false without streams.
func (d *distribution) percentile(p float64) (int64, bool) {
	if len(d.values) > 0 {
		return percentile(d.values, p), true
	}
	return d.hist.Percentile(p)
}

// share is the percentage of flags set (values of 1), and false without
// streams.
func (d *distribution) share() (float64, bool) {
	var set int64
	for _, v := range d.values {
		set += v
	}
	n := int64(len(d.values))
	if n == 0 {
		set, n = d.hist.Count(1), d.hist.Total()
	}
	if n <= 0 {
		return 0, false
	}
	return 100 * float64(set) / float64(n), true
}

// readDistributions reads rows of (time, group, value) — or, from
// histograms, (hour, group, encoded histogram) — into a distribution per
// group and step (bucketOf the time), and counts the streams per group.
func readDistributions(ctx context.Context, db *sql.DB, text string, args []any, fromHistograms bool,
	bucketOf func(int64) int64) (map[string]map[int64]*distribution, map[string]int64, error) {
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	dists := map[string]map[int64]*distribution{}
	count := map[string]int64{}
	var t, v int64
	var g string
	var blob sql.RawBytes
	var decoded histogram.Histogram
	for rows.Next() {
		if fromHistograms {
			err = rows.Scan(&t, &g, &blob)
		} else {
			err = rows.Scan(&t, &g, &v)
		}
		if err != nil {
			return nil, nil, err
		}
		steps := dists[g]
		if steps == nil {
			steps = map[int64]*distribution{}
			dists[g] = steps
		}
		b := bucketOf(t)
		d := steps[b]
		if d == nil {
			d = &distribution{}
			steps[b] = d
		}
		if !fromHistograms {
			d.values = append(d.values, v)
			count[g]++
			continue
		}
		if decoded, err = histogram.Decode(decoded, blob); err != nil {
			return nil, nil, fmt.Errorf("latency_hourly at %d: %w", t, err)
		}
		// The two buffers take turns: Add must not write over its input.
		d.hist, d.spare = histogram.Add(d.spare, d.hist, decoded), d.hist
		count[g] += decoded.Total()
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return dists, count, nil
}

// percentile is the nearest-rank percentile p of vs (sorted in place).
func percentile(vs []int64, p float64) int64 {
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	rank := int(math.Ceil(p / 100 * float64(len(vs))))
	return vs[max(rank, 1)-1]
}
