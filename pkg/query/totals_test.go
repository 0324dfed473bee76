package query

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
	"github.com/saaslens/saaslens/pkg/store"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// From a day on, serverNames and geo answer from the hourly totals. Over a
// range that no stream crosses, "started in the range" and "active in it"
// are the same streams, so the totals must give the streams' answer: the
// same rows, the same values, for each grouping and with a filter; first
// and last seen are the hours the first and last of those streams started.
func TestTotalsAnswerAsTheStreams(t *testing.T) {
	m, db := generatedMonth(t)
	ctx := context.Background()
	// A week from a Monday's midnight in Tokyo (15:00 UTC, a whole hour),
	// when the office sleeps.
	from := m.First.AddDate(0, 0, 7)
	r := Range{From: from.UnixNano(), To: from.AddDate(0, 0, 7).UnixNano() - 1}
	var crossing, inside int
	if err := db.QueryRow(`SELECT count(CASE WHEN (first < ?1 AND last >= ?1) OR (first <= ?2 AND last > ?2) THEN 1 END),
		count(CASE WHEN first >= ?1 AND first <= ?2 THEN 1 END) FROM streams`, r.From, r.To).Scan(&crossing, &inside); err != nil {
		t.Fatal(err)
	}
	if crossing != 0 || inside < 500 {
		t.Fatalf("%d streams cross the range's edges and %d start in it: the comparison needs none and many", crossing, inside)
	}
	if p := store.PlanRange(r.From, r.To); !p.Totals || p.From != r.From || p.To != r.To+1 {
		t.Fatalf("a week answers from the hours [%d, %d) (%v), want [%d, %d)", p.From, p.To, p.Totals, r.From, r.To+1)
	}
	streamsPlan := store.StreamsPlan(r.From, r.To)
	filters := map[string]Filter{"": {}, "vendors": {Vendors: []string{"Microsoft", "Slack"}}}
	for _, group := range []string{"", GroupVendor, GroupCategory} {
		for fname, filter := range filters {
			q := TableQuery{Range: r, GroupBy: group, Filter: filter, Limit: 1000}
			name := fmt.Sprintf("group %q, filter %s", group, fname)

			totals, err := ServerNames(ctx, db, q, m.Location)
			if err != nil {
				t.Fatal(err)
			}
			if !hasNotice(totals, store.TotalsNotice) {
				t.Errorf("%s: serverNames over a week does not say it read the totals", name)
			}
			streams, err := serverNames(ctx, db, q, streamsPlan)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{"first_seen": true, "last_seen": true}
			if got, want := tableText(totals, seen), tableText(streams, seen); got != want {
				t.Errorf("%s: serverNames from the totals\n%s\nfrom the streams\n%s", name, got, want)
			}
			if got, want := seenText(t, totals), startedHours(t, streams, db, q); got != want {
				t.Errorf("%s: first and last seen from the totals\n%s\nwant the hours the streams started\n%s", name, got, want)
			}

			if group == "" {
				totals, err = ShadowIT(ctx, db, q, m.Location)
				if err != nil {
					t.Fatal(err)
				}
				if !hasNotice(totals, store.TotalsNotice) {
					t.Errorf("%s: shadowIT over a week does not say it read the totals", name)
				}
				streams, err = shadowIT(ctx, db, q, m.Location, streamsPlan)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := tableText(totals, nil), tableText(streams, nil); got != want || totals.Rows() == 0 && fname == "" {
					t.Errorf("%s: shadowIT from the totals\n%s\nfrom the streams\n%s", name, got, want)
				}
			}

			gq := GeoQuery{TableQuery: q, Locator: geo.Builtin(), Home: "JP"}
			totals, err = Geo(ctx, db, gq)
			if err != nil {
				t.Fatal(err)
			}
			if !hasNotice(totals, store.TotalsNotice) {
				t.Errorf("%s: geo over a week does not say it read the totals", name)
			}
			streams, err = geoOf(ctx, db, gq, streamsPlan)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tableText(totals, nil), tableText(streams, nil); got != want || totals.Rows() == 0 {
				t.Errorf("%s: geo from the totals\n%s\nfrom the streams\n%s", name, got, want)
			}
		}
	}
	// Grouped by department, geo needs each stream's client: the streams answer.
	f, err := Geo(ctx, db, GeoQuery{TableQuery: TableQuery{Range: r, GroupBy: GroupDepartment}, Locator: geo.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	if hasNotice(f, store.TotalsNotice) {
		t.Error("geo per department read the totals per server, which have no clients")
	}
	// A day less a nanosecond is read stream by stream.
	if store.PlanRange(r.From, r.From+int64(24*time.Hour)-2).Totals {
		t.Error("a range under a day reads the totals")
	}
}

func hasNotice(f *data.Frame, text string) bool {
	if f.Meta == nil {
		return false
	}
	for _, n := range f.Meta.Notices {
		if n.Text == text {
			return true
		}
	}
	return false
}

// tableText is f's rows, one a line, without the columns in skip.
func tableText(f *data.Frame, skip map[string]bool) string {
	var b strings.Builder
	for i := range f.Rows() {
		for j, v := range concreteRow(f, i) {
			if !skip[f.Fields[j].Name] {
				fmt.Fprintf(&b, "%s=%v ", f.Fields[j].Name, v)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// seenText is each row's name, first and last seen, one a line.
func seenText(t *testing.T, f *data.Frame) string {
	t.Helper()
	var b strings.Builder
	for i := range f.Rows() {
		row := concreteRow(f, i)
		fmt.Fprintf(&b, "%v %v %v\n", row[0], row[fieldIndex(t, f, "first_seen")], row[fieldIndex(t, f, "last_seen")])
	}
	return b.String()
}

func fieldIndex(t *testing.T, f *data.Frame, name string) int {
	t.Helper()
	for i, field := range f.Fields {
		if field.Name == name {
			return i
		}
	}
	t.Fatalf("no field %s in %s", name, f.Name)
	return -1
}

// startedHours is, for each row of f, its name and the hours its first
// and last streams started, read from the streams that started in q's
// range, grouped as q groups.
func startedHours(t *testing.T, f *data.Frame, db *sql.DB, q TableQuery) string {
	t.Helper()
	group, err := groupExpr(q.GroupBy, "s")
	if err != nil {
		t.Fatal(err)
	}
	filter, args := q.Filter.where("s")
	rows, err := db.Query(`SELECT `+group+`, min(s.first) / 3600000000000 * 3600000000000, max(s.first) / 3600000000000 * 3600000000000
		FROM streams s LEFT JOIN services sv ON sv.server_name = s.server_name
		WHERE s.first >= ? AND s.first <= ?`+filter+` GROUP BY 1`, append([]any{q.Range.From, q.Range.To}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	hours := map[string][2]int64{}
	for rows.Next() {
		var name string
		var first, last int64
		if err := rows.Scan(&name, &first, &last); err != nil {
			t.Fatal(err)
		}
		hours[name] = [2]int64{first, last}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range f.Rows() {
		name := fmt.Sprint(concreteRow(f, i)[0])
		h, ok := hours[name]
		if !ok {
			t.Fatalf("%s: no stream started in the range", name)
		}
		fmt.Fprintf(&b, "%s %v %v\n", name, time.Unix(0, h[0]).UTC(), time.Unix(0, h[1]).UTC())
	}
	return b.String()
}

// ClientTotals gives, stretch by stretch, the hourly totals' sums per
// client and name, from the monthly totals for the months of Tokyo (the
// zone they are cut in) a stretch holds whole or holds all the data of,
// and the daily ones for whole UTC days where those allow: here stretches cut at Tokyo's times, one of three working hours,
// one of two whole UTC days, and months cut at Tokyo's midnight (15:00
// UTC); then the months themselves, and two stretches holding a month
// each with days and hours on either side.
func TestClientTotalsSumAsTheHourlyOnes(t *testing.T) {
	m, db := generatedMonth(t)
	hour, day := int64(time.Hour), int64(24*time.Hour)
	start := m.First.UnixNano()
	if start%day == 0 || (start+9*hour)%day != 0 {
		t.Fatalf("the month starts at %s: the cuts need a start 9 hours before a UTC midnight", m.First)
	}
	month := func(y int, mo time.Month, d, h int) int64 {
		return time.Date(y, mo, d, h, 0, 0, 0, m.Location).UnixNano()
	}
	for _, c := range []struct {
		// The second day's 10:00 and 13:00 in Tokyo, then the fourth and
		// sixth UTC midnights after the start.
		cuts []int64
		// How many parts read the monthly and the daily totals, and the
		// daily ones without the monthly.
		monthly, daily, onlyDaily int
	}{
		// The first stretch holds all of February's data (none), the last
		// all of April's (to the 5th).
		{[]int64{start - 40*day - 3*hour, start + 34*hour, start + 37*hour, start + 9*hour + 3*day, start + 9*hour + 5*day,
			m.First.AddDate(0, 1, 0).UnixNano()}, 2, 4, 4},
		{[]int64{month(2026, 3, 1, 0), month(2026, 4, 1, 0), month(2026, 5, 1, 0)}, 2, 0, 2},
		// February and March, and days after; then days and May.
		{[]int64{month(2026, 2, 20, 3), month(2026, 4, 3, 10), month(2026, 5, 2, 0)}, 2, 2, 2},
		// All of March's data (from the 16th), and days after; then days.
		{[]int64{month(2026, 3, 10, 5), month(2026, 4, 3, 10), month(2026, 4, 20, 0)}, 1, 2, 2},
		// All of March's and April's data.
		{[]int64{month(2026, 3, 10, 5), month(2026, 4, 20, 0)}, 1, 0, 1},
	} {
		var stretch strings.Builder
		stretch.WriteString("CASE")
		for i, c := range c.cuts[1:] {
			fmt.Fprintf(&stretch, " WHEN hour < %d THEN %d", c, i)
		}
		stretch.WriteString(" END")
		sums := func(from string) string {
			return `SELECT ` + stretch.String() + `, client, client_mac, server_name, sum(streams), sum(packets_up), sum(packets_down), sum(bytes_up), sum(bytes_down)
			FROM ` + from + ` GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`
		}
		want := sharedtest.Rows(t, db, sums(fmt.Sprintf("client_usage_hourly WHERE hour >= %d AND hour < %d", c.cuts[0], c.cuts[len(c.cuts)-1])))
		stretches := map[any]int{}
		for _, r := range want {
			stretches[r[0]]++
		}
		if len(stretches) != len(c.cuts)-1 || len(want) < 200 {
			t.Fatalf("sums per stretch %v: the comparison needs some in each", stretches)
		}
		plan := store.HoursPlan(c.cuts[0], c.cuts[len(c.cuts)-1])
		tokyo, err := plan.InZone(context.Background(), db, m.Location)
		if err != nil {
			t.Fatal(err)
		}
		for _, months := range []*store.Plan{&plan, &tokyo} {
			source := months.ClientTotals(c.cuts...)
			got := sharedtest.Rows(t, db, sums(source))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sums from %s (-hourly +clientTotals):\n%s", source, diff)
			}
			monthly, daily := strings.Count(source, "client_usage_monthly"), strings.Count(source, "client_usage_daily")
			wantMonthly, wantDaily := c.monthly, c.daily
			if months == &plan {
				wantMonthly, wantDaily = 0, c.onlyDaily
			}
			if monthly != wantMonthly || daily != wantDaily {
				t.Errorf("%d parts read the monthly totals and %d the daily ones, want %d and %d:\n%s", monthly, daily, wantMonthly, wantDaily, source)
			}
		}
	}
}

// Active devices and clients in steps of hours, counted from the hours the
// daily totals keep, are those counted from the streams: per step and
// vendor, over a week cut at Tokyo's midnight (its first nine hours from
// the hourly totals), in steps of one hour and of three; and in steps of
// a day over those UTC days, from each client's day's list of vendors.
func TestActivePerHourAsTheStreams(t *testing.T) {
	m, db := generatedMonth(t)
	from := m.First.AddDate(0, 0, 7)
	r := Range{From: from.UnixNano(), To: from.AddDate(0, 0, 7).UnixNano() - 1}
	group, err := groupExpr(GroupVendor, "s")
	if err != nil {
		t.Fatal(err)
	}
	for _, metric := range []string{MetricDevices, MetricClients} {
		who := deviceOf("s")
		if metric == MetricClients {
			who = "s.client"
		}
		for _, step := range []time.Duration{time.Hour, 3 * time.Hour, 24 * time.Hour} {
			r := r
			if step == 24*time.Hour {
				// Whole UTC days, which the steps are.
				r = Range{From: timecut.Floor(r.From, int64(step)), To: timecut.Floor(r.To, int64(step)) + int64(step) - 1}
			}
			want := map[string]float64{}
			for _, row := range sharedtest.Rows(t, db, fmt.Sprintf(`SELECT s.first / %[1]d * %[1]d, %[2]s, count(DISTINCT %[3]s)
				FROM streams s LEFT JOIN services sv ON sv.server_name = s.server_name
				WHERE s.first >= %[4]d AND s.first <= %[5]d AND %[3]s IS NOT NULL GROUP BY 1, 2`, int64(step), group, who, r.From, r.To)) {
				want[fmt.Sprintf("%s %s", time.Unix(0, row[0].(int64)).UTC().Format(time.DateTime), row[1])] = float64(row[2].(int64))
			}
			f, err := Usage(context.Background(), db, UsageQuery{Metric: metric, Range: r, Step: step, GroupBy: GroupVendor, TopN: 1000})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, field := range f.Fields[1:] {
				for i := range field.Len() {
					if v := field.At(i).(float64); v != 0 {
						got[fmt.Sprintf("%s %s", f.Fields[0].At(i).(time.Time).Format(time.DateTime), field.Labels[GroupVendor])] = v
					}
				}
			}
			if len(want) < 60 {
				t.Fatalf("%s per %s: %d steps and vendors with a device, the comparison needs many", metric, step, len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s per %s (-streams +usage):\n%s", metric, step, diff)
			}
		}
	}
}

// Licences, month over month, shadow IT, server names and devices read
// the monthly totals when they are cut in the query's zone, and give what
// the daily and hourly ones give: asked in a twin zone, the same clock all
// year under another name, they read those. The generated days run from
// 16 March to 5 April in Tokyo; in Berlin (Paris its twin), daylight
// saving time starts on 29 March.
func TestMonthlyTotalsAnswerAsTheDailyOnes(t *testing.T) {
	for _, zones := range [][2]string{{"Asia/Tokyo", "Asia/Seoul"}, {"Europe/Berlin", "Europe/Paris"}} {
		t.Run(zones[0], func(t *testing.T) { monthlyAnswersAsDaily(t, zones[0], zones[1]) })
	}
}

// monthlyAnswersAsDaily asks in zone, which the monthly totals are cut in,
// and in twin, which keeps zone's clock under another name.
func monthlyAnswersAsDaily(t *testing.T, zone, twin string) {
	m, db := generatedMonthCutIn(t, zone)
	ctx := context.Background()
	cut, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	other, err := time.LoadLocation(twin)
	if err != nil {
		t.Fatal(err)
	}
	at := func(month time.Month, day, hour int) time.Time {
		return time.Date(2026, month, day, hour, 0, 0, 0, cut)
	}
	r := RangeOf(m.First.AddDate(0, 0, -20), m.First.AddDate(0, 1, 0))
	devices := func(r Range, filter Filter) func(loc *time.Location) (*data.Frame, error) {
		return func(loc *time.Location) (*data.Frame, error) {
			return Devices(ctx, db, TableQuery{Range: r, GroupBy: GroupVendor, Filter: filter}, loc)
		}
	}
	for _, c := range []struct {
		name  string
		query func(loc *time.Location) (*data.Frame, error)
	}{
		{"licences", func(loc *time.Location) (*data.Frame, error) {
			return Licences(ctx, db, LicencesQuery{Range: r}, loc)
		}},
		{"monthOverMonth", func(loc *time.Location) (*data.Frame, error) {
			return MonthOverMonth(ctx, db, TableQuery{Range: r, GroupBy: GroupVendor}, loc)
		}},
		{"monthOverMonth per department", func(loc *time.Location) (*data.Frame, error) {
			return MonthOverMonth(ctx, db, TableQuery{Range: r, GroupBy: GroupDepartment}, loc)
		}},
		{"shadowIT", func(loc *time.Location) (*data.Frame, error) {
			return ShadowIT(ctx, db, TableQuery{Range: r}, loc)
		}},
		{"serverNames", func(loc *time.Location) (*data.Frame, error) {
			return ServerNames(ctx, db, TableQuery{Range: r}, loc)
		}},
		{"serverNames per vendor of two vendors", func(loc *time.Location) (*data.Frame, error) {
			return ServerNames(ctx, db, TableQuery{Range: r, GroupBy: GroupVendor, Filter: Filter{Vendors: []string{"Microsoft", "Slack"}}}, loc)
		}},
		// March and the first days of April; March alone; March and April
		// with a day before (its last nine hours from the hourly totals).
		{"devices", devices(RangeOf(at(2, 26, 0), at(4, 3, 10)), Filter{})},
		{"devices in March", devices(RangeOf(at(3, 1, 0), at(4, 1, 0).Add(-time.Nanosecond)), Filter{})},
		{"devices of two vendors", devices(RangeOf(at(2, 28, 0), at(5, 1, 0)), Filter{Vendors: []string{"Microsoft", "Slack"}})},
		// From the 14th of March to the 20th of April: all of both
		// months' data.
		{"devices over the data", devices(RangeOf(at(3, 14, 0), at(4, 20, 0)), Filter{})},
	} {
		monthly, err := c.query(cut)
		if err != nil {
			t.Fatal(err)
		}
		daily, err := c.query(other)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(monthly.Meta.ExecutedQueryString, "client_usage_monthly") || strings.Contains(daily.Meta.ExecutedQueryString, "client_usage_monthly") {
			t.Fatalf("%s: %s's answer does not read the monthly totals, or %s's does", c.name, zone, twin)
		}
		got, want := tableText(monthly, nil), tableText(daily, nil)
		if got != want || monthly.Rows() < 2 {
			t.Errorf("%s from the monthly totals\n%s\nfrom the daily ones\n%s", c.name, got, want)
		}
	}
}
