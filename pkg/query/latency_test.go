package query

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/histogram"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
	"github.com/saaslens/saaslens/pkg/store"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// The percentiles agree with ones computed here from the rows, and a step
// without a measured stream is null; from the hourly histograms, each is
// the midpoint of the bucket the one from the rows falls in, and the
// shares are the same.
func TestLatencyAgreesWithRawRows(t *testing.T) {
	for _, histograms := range []bool{false, true} {
		t.Run(map[bool]string{false: "rows", true: "histograms"}[histograms], func(t *testing.T) {
			testLatencyAgreesWithRawRows(t, histograms)
		})
	}
}

func testLatencyAgreesWithRawRows(t *testing.T, histograms bool) {
	db := sampleDB(t)
	streams := rawStreams(t, db)
	all := span(streams)
	type row struct {
		first           int64
		service, vendor string
		tls, rst, open  int64
	}
	rows, err := db.Query(`SELECT s.first, CASE s.server_name WHEN '' THEN '(unnamed)' ELSE s.server_name END,
		coalesce(nullif(sv.vendor, ''), CASE s.server_name WHEN '' THEN '(unnamed)' ELSE s.server_name END),
		coalesce(s.tls_handshake_ns, 0), s.end_reason = 'rst', s.end_reason = 'open'
		FROM streams s LEFT JOIN services sv ON sv.server_name = s.server_name`)
	if err != nil {
		t.Fatal(err)
	}
	var raw []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.first, &r.service, &r.vendor, &r.tls, &r.rst, &r.open); err != nil {
			t.Fatal(err)
		}
		raw = append(raw, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	step := timecut.Step(all.From, all.To, time.Hour, 300)
	first := timecut.Floor(all.From, int64(step))
	nearest := func(vs []int64, p float64) float64 {
		s := append([]int64(nil), vs...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		k := int(math.Ceil(p/100*float64(len(s)))) - 1
		v := s[max(k, 0)]
		if histograms {
			v = histogram.Mid(histogram.Bucket(v))
		}
		return float64(v) / 1e6
	}
	latency := func(ctx context.Context, db *sql.DB, q LatencyQuery) (*data.Frame, error) {
		plan := store.PlanRange(q.Range.From, q.Range.To)
		if !histograms {
			plan = store.StreamsPlan(q.Range.From, q.Range.To)
		}
		f, err := latency(ctx, db, q, plan)
		if err == nil && (len(f.Meta.Notices) > 0) != histograms {
			t.Errorf("%+v: notices %v", q, f.Meta.Notices)
		}
		return f, err
	}
	for _, groupBy := range []string{GroupService, GroupVendor} {
		f, err := latency(context.Background(), db, LatencyQuery{Measure: "tls", Range: all, Step: step, GroupBy: groupBy, TopN: 3})
		if err != nil {
			t.Fatal(err)
		}
		byGroup := map[string]map[int64][]int64{}
		for _, r := range raw {
			g := r.service
			if groupBy == GroupVendor {
				g = r.vendor
			}
			if r.tls > 0 {
				if byGroup[g] == nil {
					byGroup[g] = map[int64][]int64{}
				}
				b := (r.first - first) / int64(step)
				byGroup[g][b] = append(byGroup[g][b], r.tls)
			}
		}
		if len(f.Fields) != 1+3*2 {
			t.Fatalf("%s: %d fields, want time and 3 groups × 2 percentiles", groupBy, len(f.Fields))
		}
		for _, field := range f.Fields[1:] {
			g, p := field.Labels[groupBy], field.Labels["percentile"]
			pct := map[string]float64{"p50": 50, "p95": 95}[p]
			got, want := map[int]float64{}, map[int]float64{}
			for i := 0; i < field.Len(); i++ {
				if v := field.At(i).(*float64); v != nil {
					got[i] = *v
				}
			}
			for b, vs := range byGroup[g] {
				want[int(b)] = nearest(vs, pct)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s %s (-want +got):\n%s", groupBy, g, p, diff)
			}
		}
	}
	f, err := latency(context.Background(), db, LatencyQuery{Measure: "resets", Range: all, Step: 7 * 24 * time.Hour, TopN: 1000})
	if err != nil {
		t.Fatal(err)
	}
	resets, ended := 0.0, 0.0
	for _, r := range raw {
		if r.open == 0 {
			ended++
			resets += float64(r.rst)
		}
	}
	if resets == 0 {
		t.Fatal("the sample has no reset streams to check")
	}
	// The shares, weighted back by their streams, give the resets.
	weeks := map[string]map[int64][2]float64{}
	for _, r := range raw {
		if r.open != 0 {
			continue
		}
		b := (r.first - timecut.Floor(all.From, int64(7*24*time.Hour))) / int64(7*24*time.Hour)
		if weeks[r.service] == nil {
			weeks[r.service] = map[int64][2]float64{}
		}
		w := weeks[r.service][b]
		w[0]++
		w[1] += float64(r.rst)
		weeks[r.service][b] = w
	}
	for _, field := range f.Fields[1:] {
		for i := 0; i < field.Len(); i++ {
			v := field.At(i).(*float64)
			w := weeks[field.Labels[GroupService]][int64(i)]
			if (v == nil) != (w[0] == 0) || v != nil && math.Abs(*v-100*w[1]/w[0]) > 1e-9 {
				t.Errorf("%s week %d: %v, want %v of %v", field.Labels[GroupService], i, v, w[1], w[0])
			}
		}
	}
	// The share of TCP streams with a retransmitted segment, per vendor
	// and week.
	week := int64(7 * 24 * time.Hour)
	f, err = latency(context.Background(), db, LatencyQuery{Measure: "retransmits", Range: all, Step: time.Duration(week), GroupBy: GroupVendor, TopN: 1000})
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ streams, retransmitted float64 }
	tallies := map[string]*tally{}
	anyRetransmitted := false
	for _, r := range sharedtest.Rows(t, db, `SELECT coalesce(nullif(sv.vendor, ''), CASE s.server_name WHEN '' THEN '(unnamed)' ELSE s.server_name END),
		s.first, s.retransmits_up + s.retransmits_down FROM streams s LEFT JOIN services sv ON sv.server_name = s.server_name WHERE s.proto = 6`) {
		k := fmt.Sprint(r[0], " week ", (r[1].(int64)-timecut.Floor(all.From, week))/week)
		if tallies[k] == nil {
			tallies[k] = &tally{}
		}
		tallies[k].streams++
		if r[2].(int64) > 0 {
			tallies[k].retransmitted++
			anyRetransmitted = true
		}
	}
	gotShare, wantShare := map[string]float64{}, map[string]float64{}
	for k, tl := range tallies {
		wantShare[k] = 100 * tl.retransmitted / tl.streams
	}
	for _, field := range f.Fields[1:] {
		for i := 0; i < field.Len(); i++ {
			if v := field.At(i).(*float64); v != nil {
				gotShare[fmt.Sprint(field.Labels[GroupVendor], " week ", i)] = *v
			}
		}
	}
	if diff := cmp.Diff(wantShare, gotShare, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("retransmits (-want +got):\n%s", diff)
	}
	if !anyRetransmitted {
		t.Error("no stream of the sample has a retransmitted segment")
	}
	// By day of month in Tokyo: every month's streams of the same day together.
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	f, err = latency(context.Background(), db, LatencyQuery{Measure: "tls", Range: all, DayOfMonth: tokyo, Percentiles: []float64{90}, TopN: 1000})
	if err != nil {
		t.Fatal(err)
	}
	byDay := map[string]map[int][]int64{}
	for _, r := range raw {
		if r.tls > 0 {
			if byDay[r.service] == nil {
				byDay[r.service] = map[int][]int64{}
			}
			d := time.Unix(0, r.first).In(tokyo).Day() - 1
			byDay[r.service][d] = append(byDay[r.service][d], r.tls)
		}
	}
	if f.Fields[0].Name != "day" || f.Fields[0].Len() != 31 || f.Fields[0].At(30).(int64) != 31 {
		t.Errorf("first field %s of %d", f.Fields[0].Name, f.Fields[0].Len())
	}
	got, want := map[string]float64{}, map[string]float64{}
	for _, field := range f.Fields[1:] {
		for i := 0; i < field.Len(); i++ {
			if v := field.At(i).(*float64); v != nil {
				got[fmt.Sprint(field.Labels[GroupService], " day ", i+1)] = *v
			}
		}
	}
	days := map[int]bool{}
	for g, ds := range byDay {
		for d, vs := range ds {
			want[fmt.Sprint(g, " day ", d+1)] = nearest(vs, 90)
			days[d] = true
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("by day of month (-want +got):\n%s", diff)
	}
	if len(days) < 3 {
		t.Errorf("handshakes on %d days of the month only", len(days))
	}
	for _, bad := range []LatencyQuery{{Measure: "jitter", Range: all, Step: step}, {Measure: "tls", Range: all, Step: step, Percentiles: []float64{0}}} {
		if _, err := Latency(context.Background(), db, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// The histograms answer in whole hours: a finer step is rounded up, and a
// day of month in a zone half an hour off UTC is read from the rows.
func TestLatencyHistogramsKeepToWholeHours(t *testing.T) {
	db := sampleDB(t)
	all := span(rawStreams(t, db))
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	week := Range{From: all.To - int64(7*24*time.Hour), To: all.To}
	hour := Range{From: all.To - int64(time.Hour), To: all.To}
	type answer struct {
		Step     time.Duration
		Notices  int
		Measured bool
	}
	got := map[string]answer{}
	for name, q := range map[string]LatencyQuery{
		"week in 5 minutes":           {Range: week, Step: 5 * time.Minute},
		"an hour in 5 minutes":        {Range: hour, Step: 5 * time.Minute},
		"week in 5 minutes of client": {Range: week, Step: 5 * time.Minute, Filter: Filter{Clients: []string{"10.0.0.2"}}},
		"days in Kolkata":             {Range: all, DayOfMonth: kolkata},
		"days in Tokyo":               {Range: all, DayOfMonth: tokyo},
	} {
		q.Measure = "tls"
		f, err := Latency(context.Background(), db, q)
		if err != nil {
			t.Fatal(err)
		}
		a := answer{Notices: len(f.Meta.Notices), Measured: len(f.Fields) > 1}
		if times, ok := f.Fields[0].At(1).(time.Time); ok {
			a.Step = times.Sub(f.Fields[0].At(0).(time.Time))
		}
		got[name] = a
	}
	want := map[string]answer{
		"week in 5 minutes":           {Step: time.Hour, Notices: 1, Measured: true},
		"an hour in 5 minutes":        {Step: 5 * time.Minute, Measured: true},
		"week in 5 minutes of client": {Step: 5 * time.Minute},
		"days in Kolkata":             {Measured: true},
		"days in Tokyo":               {Notices: 1, Measured: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The options that multiply a frame's series are bounded, each refusal
// naming the bound, before anything is read or held.
func TestSeriesOptionsAreBounded(t *testing.T) {
	db := sampleDB(t)
	first := span(rawStreams(t, db)).From
	hour := Range{From: first, To: first + int64(time.Hour)}
	many := make([]float64, 100)
	for i := range many {
		many[i] = float64(i%99 + 1)
	}
	ctx := context.Background()
	message := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	latency := func(q LatencyQuery) string {
		q.Range, q.Measure, q.Step = hour, "tls", time.Minute
		_, err := Latency(ctx, db, q)
		return message(err)
	}
	usage := func(q UsageQuery) string {
		q.Range, q.Step = hour, time.Minute
		_, err := Usage(ctx, db, q)
		return message(err)
	}
	got := []string{
		latency(LatencyQuery{Percentiles: many}),
		latency(LatencyQuery{Percentiles: []float64{50, 95, 50}}),
		latency(LatencyQuery{TopN: 1001}),
		latency(LatencyQuery{TopN: 50, Percentiles: many[:10]}),
		usage(UsageQuery{TopN: 5000}),
		usage(UsageQuery{TopN: 1000}),
		message(checkValues(500, 2000)),
		message(checkValues(500, 2001)),
	}
	want := []string{
		"latency: 100 percentiles: at most 10",
		"latency: percentile 50 asked for twice",
		"latency: topN 1001: at most 1000",
		"",
		"usage: topN 5000: at most 1000",
		"",
		"",
		"500 series of 2001 steps are more than 1000000 values: choose fewer groups or percentiles, or a longer interval",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
