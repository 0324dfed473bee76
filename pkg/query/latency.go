package query

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Latency measures of a latency query: the stream columns they read.
var latencyColumns = map[string]string{
	"tls":       "tls_handshake_ns", // ClientHello to ServerHello (QUIC: first Initial each way)
	"serverRtt": "server_rtt_ns",    // SYN to SYN/ACK: the network beyond the capture point
	"clientRtt": "client_rtt_ns",    // SYN/ACK to ACK: the client's side
}

// LatencyQuery asks for percentiles of a latency measure per group per
// step, or the share of streams that ended in a reset.
type LatencyQuery struct {
	// Measure is tls, serverRtt, clientRtt, resets (the share of ended
	// streams that ended in RST, in percent) or retransmits (the share of
	// TCP streams with a retransmitted segment, in percent).
	Measure string
	// Percentiles, each in (0, 100]; default 50 and 95. Not for resets.
	Percentiles []float64
	Range       Range
	Step        time.Duration
	Filter      Filter
	GroupBy     string
	// TopN groups (by streams measured) get series; 0 means DefaultTopN.
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
func Latency(ctx context.Context, db *sql.DB, q LatencyQuery) (*data.Frame, error) {
	column, resets, retransmits := latencyColumns[q.Measure], q.Measure == "resets", q.Measure == "retransmits"
	share := resets || retransmits
	if column == "" && !share {
		return nil, fmt.Errorf("latency: measure %q: want tls, serverRtt, clientRtt, resets or retransmits", q.Measure)
	}
	pcts := q.Percentiles
	if len(pcts) == 0 {
		pcts = []float64{50, 95}
	}
	for _, p := range pcts {
		if p <= 0 || p > 100 {
			return nil, fmt.Errorf("latency: percentile %v: want more than 0 and at most 100", p)
		}
	}
	step := int64(q.Step)
	var firstBucket, buckets int64
	var err error
	if q.DayOfMonth != nil {
		// One step over the whole range: the day is found per stream.
		if q.Range.To < q.Range.From {
			return nil, fmt.Errorf("latency: the range ends before it starts")
		}
		firstBucket, step, buckets = q.Range.From, q.Range.To-q.Range.From+1, 31
	} else if firstBucket, buckets, err = steps(q.Range, q.Step); err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	group, err := groupExpr(q.GroupBy, "s")
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	label := groupLabel(q.GroupBy)
	value := "s." + column
	where := " AND s." + column + " > 0"
	switch {
	case resets:
		value, where = "CASE WHEN s.end_reason = 'rst' THEN 1 ELSE 0 END", " AND s.end_reason != 'open'"
	case retransmits:
		value, where = "CASE WHEN s.retransmits_up + s.retransmits_down > 0 THEN 1 ELSE 0 END", " AND s.proto = 6"
	}
	filter, args := q.Filter.where("s")
	text := `SELECT s.first, ` + group + ` AS g, ` + value + `
FROM streams s` + joins("s", q.GroupBy, q.Filter) + `
WHERE s.first >= ? AND s.first < ?` + where + filter
	end := firstBucket + buckets*step
	bucketOf := func(first int64) int64 { return (first - firstBucket) / step }
	if q.DayOfMonth != nil {
		end = q.Range.To + 1
		bucketOf = func(first int64) int64 { return int64(time.Unix(0, first).In(q.DayOfMonth).Day() - 1) }
	}
	args = append([]any{firstBucket, end}, args...)
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	defer rows.Close()
	values := map[string]map[int64][]int64{}
	count := map[string]int{}
	for rows.Next() {
		var t, v int64
		var g string
		if err := rows.Scan(&t, &g, &v); err != nil {
			return nil, fmt.Errorf("latency: %w", err)
		}
		if values[g] == nil {
			values[g] = map[int64][]int64{}
		}
		b := bucketOf(t)
		values[g][b] = append(values[g][b], v)
		count[g]++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
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
	top := q.TopN
	if top <= 0 {
		top = DefaultTopN
	}
	groups = groups[:min(top, len(groups))]
	frame := data.NewFrame("latency")
	if q.DayOfMonth != nil {
		days := make([]int64, buckets)
		for i := range days {
			days[i] = int64(i + 1)
		}
		frame.Fields = append(frame.Fields, data.NewField("day", nil, days))
	} else {
		times := make([]time.Time, buckets)
		for i := range times {
			times[i] = time.Unix(0, firstBucket+int64(i)*step).UTC()
		}
		frame.Fields = append(frame.Fields, data.NewField("time", nil, times))
	}
	for _, g := range groups {
		if share {
			field := make([]*float64, buckets)
			for b, vs := range values[g] {
				n := 0
				for _, v := range vs {
					n += int(v)
				}
				share := 100 * float64(n) / float64(len(vs))
				field[b] = &share
			}
			f := data.NewField(q.Measure, data.Labels{label: g}, field)
			f.Config = &data.FieldConfig{Unit: "percent", DisplayNameFromDS: g}
			frame.Fields = append(frame.Fields, f)
			continue
		}
		for _, p := range pcts {
			field := make([]*float64, buckets)
			for b, vs := range values[g] {
				ms := float64(percentile(vs, p)) / 1e6
				field[b] = &ms
			}
			name := fmt.Sprintf("p%g", p)
			f := data.NewField(q.Measure, data.Labels{label: g, "percentile": name}, field)
			f.Config = &data.FieldConfig{Unit: "ms", DisplayNameFromDS: g + " " + name}
			frame.Fields = append(frame.Fields, f)
		}
	}
	frame.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1},
		ExecutedQueryString: executed(text, args)}
	if q.DayOfMonth != nil {
		frame.Meta.Type, frame.Meta.TypeVersion = "", data.FrameTypeVersion{}
	}
	return frame, nil
}

// percentile is the nearest-rank percentile p of vs (sorted in place).
func percentile(vs []int64, p float64) int64 {
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	rank := int(math.Ceil(p / 100 * float64(len(vs))))
	return vs[max(rank, 1)-1]
}
