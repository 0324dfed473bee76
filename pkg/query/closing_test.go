package query

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/internal/monthdb"
	"github.com/saaslens/saaslens/pkg/store"
)

// The daily and monthly totals hold the closed days; the others are read
// from the hourly totals. Every question that reads them answers the same
// with no day closed, with the month closed halfway, and with every day
// closed.
func TestAnswersDoNotDependOnTheDaysClosed(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	m := fixture.Month{Devices: 12, First: time.Date(2026, 3, 16, 0, 0, 0, 0, tokyo), Days: 21, Location: tokyo, Sessions: 6}
	path := monthdb.Build(t, m, tokyo)
	// Questions on a reader, as the datasource asks them; days closed on
	// the writer.
	writer, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	db, err := store.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	// Nothing closed yet: as if no run had closed a day.
	for _, q := range []string{`DELETE FROM client_usage_daily`, `DELETE FROM client_usage_monthly`,
		fmt.Sprintf(`UPDATE rollup_zone SET closed = %d`, int64(math.MinInt64))} {
		if _, err := writer.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	at := func(month time.Month, day int) int64 {
		return time.Date(2026, month, day, 0, 0, 0, 0, tokyo).UnixNano()
	}
	months := Range{From: at(3, 1), To: at(5, 1) - 1}
	days := Range{From: at(3, 20), To: at(4, 2) - 1}
	week := Range{From: at(3, 23), To: at(3, 30) - 1}
	table := func(r Range, group string) TableQuery { return TableQuery{Range: r, GroupBy: group, Limit: 1000} }
	questions := []struct {
		name string
		ask  func() (*data.Frame, error)
	}{
		{"usage bytes per department, daily", func() (*data.Frame, error) {
			return Usage(ctx, db.SQL(), UsageQuery{Metric: MetricBytes, Range: months, Step: 24 * time.Hour, GroupBy: GroupDepartment})
		}},
		{"usage devices per vendor, daily", func() (*data.Frame, error) {
			return Usage(ctx, db.SQL(), UsageQuery{Metric: MetricDevices, Range: months, Step: 24 * time.Hour, GroupBy: GroupVendor})
		}},
		{"usage clients per service, daily", func() (*data.Frame, error) {
			return Usage(ctx, db.SQL(), UsageQuery{Metric: MetricStreams, Range: days, Step: 24 * time.Hour, Filter: Filter{Departments: []string{"Sales"}}})
		}},
		{"usage devices per vendor, hourly", func() (*data.Frame, error) {
			return Usage(ctx, db.SQL(), UsageQuery{Metric: MetricDevices, Range: week, Step: time.Hour, GroupBy: GroupVendor})
		}},
		{"devices per vendor, the months", func() (*data.Frame, error) { return Devices(ctx, db.SQL(), table(months, GroupVendor), tokyo) }},
		{"devices per vendor, days", func() (*data.Frame, error) { return Devices(ctx, db.SQL(), table(days, GroupVendor), tokyo) }},
		{"licences", func() (*data.Frame, error) { return Licences(ctx, db.SQL(), LicencesQuery{Range: months}, tokyo) }},
		{"month over month", func() (*data.Frame, error) { return MonthOverMonth(ctx, db.SQL(), table(months, GroupVendor), tokyo) }},
		{"server names, the months", func() (*data.Frame, error) { return ServerNames(ctx, db.SQL(), table(months, ""), tokyo) }},
		{"server names, days", func() (*data.Frame, error) { return ServerNames(ctx, db.SQL(), table(days, GroupVendor), tokyo) }},
		{"shadow IT", func() (*data.Frame, error) { return ShadowIT(ctx, db.SQL(), table(months, ""), tokyo) }},
	}
	answers := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, q := range questions {
			f, err := q.ask()
			if err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			if f.Rows() == 0 {
				t.Fatalf("%s: no rows", q.name)
			}
			out[q.name] = tableText(f, nil)
		}
		for _, name := range []string{"clients", "devices", "departments", "users"} {
			l, _ := ListNamed(name)
			choices, err := l.Load(ctx, db.SQL(), days)
			if err != nil {
				t.Fatalf("list %s: %v", name, err)
			}
			out["list "+name] = fmt.Sprint(choices)
		}
		return out
	}
	none := answers()
	var daily int
	for _, until := range []int64{at(3, 27), math.MaxInt64} {
		if err := writer.CloseDays(ctx, until); err != nil {
			t.Fatal(err)
		}
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM client_usage_daily`).Scan(&daily); err != nil {
			t.Fatal(err)
		}
		if daily == 0 {
			t.Fatalf("closing until %d built no daily rows", until)
		}
		if diff := cmp.Diff(none, answers()); diff != "" {
			t.Errorf("closed until %s, the answers differ from none closed (-none +closed):\n%s", time.Unix(0, min(until, at(5, 1))).In(tokyo), diff)
		}
	}
	if !strings.Contains(none["licences"], "Microsoft") {
		t.Errorf("licences without Microsoft: %s", none["licences"])
	}
}
