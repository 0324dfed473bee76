package query

import (
	"context"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/internal/monthdb"
)

// BenchmarkOfficeMonth times every query type as a panel over the month
// asks it, in the office's time zone.
func BenchmarkOfficeMonth(b *testing.B) {
	m := monthdb.Office()
	db := monthdb.OfficeDB(b, m)
	ctx := context.Background()
	loc := m.Location
	month := RangeOf(m.First, m.First.AddDate(0, 1, 0).Add(-time.Second))
	week := RangeOf(time.Date(2026, 3, 23, 0, 0, 0, 0, loc), time.Date(2026, 3, 30, 0, 0, 0, 0, loc))
	day := RangeOf(time.Date(2026, 3, 24, 0, 0, 0, 0, loc), time.Date(2026, 3, 25, 0, 0, 0, 0, loc))
	table := func(r Range, g string) TableQuery { return TableQuery{Range: r, GroupBy: g, Limit: 500} }
	runPanels(b, []panel{
		{"usage/bytes/vendor/month/1d", func() error {
			_, err := Usage(ctx, db, UsageQuery{Metric: MetricBytes, Range: month, Step: 24 * time.Hour, GroupBy: GroupVendor})
			return err
		}},
		{"usage/devices/vendor/week/1h", func() error {
			_, err := Usage(ctx, db, UsageQuery{Metric: MetricDevices, Range: week, Step: time.Hour, GroupBy: GroupVendor})
			return err
		}},
		{"usage/devices/vendor/month/1d", func() error {
			_, err := Usage(ctx, db, UsageQuery{Metric: MetricDevices, Range: month, Step: 24 * time.Hour, GroupBy: GroupVendor})
			return err
		}},
		{"usage/bytes/department/month/1d", func() error {
			_, err := Usage(ctx, db, UsageQuery{Metric: MetricBytes, Range: month, Step: 24 * time.Hour, GroupBy: GroupDepartment})
			return err
		}},
		{"devices/vendor/month", func() error {
			_, err := Devices(ctx, db, table(month, GroupVendor), loc)
			return err
		}},
		{"devices/vendor/30days", func() error {
			// The month less its first day: no whole month.
			_, err := Devices(ctx, db, table(RangeOf(m.First.AddDate(0, 0, 1), m.First.AddDate(0, 1, 0).Add(-time.Second)), GroupVendor), loc)
			return err
		}},
		{"licences/month", func() error {
			_, err := Licences(ctx, db, LicencesQuery{Range: month}, loc)
			return err
		}},
		{"monthOverMonth/vendor", func() error {
			_, err := MonthOverMonth(ctx, db, table(month, GroupVendor), loc)
			return err
		}},
		{"shadowIT/month", func() error {
			_, err := ShadowIT(ctx, db, table(month, ""), loc)
			return err
		}},
		{"latency/tls/vendor/week", func() error {
			_, err := Latency(ctx, db, LatencyQuery{Measure: "tls", Range: week, Step: time.Hour, GroupBy: GroupVendor})
			return err
		}},
		{"latency/tls/vendor/month/dayOfMonth", func() error {
			_, err := Latency(ctx, db, LatencyQuery{Measure: "tls", Range: month, DayOfMonth: loc, GroupBy: GroupVendor})
			return err
		}},
		{"geo/vendor/month", func() error {
			_, err := Geo(ctx, db, GeoQuery{TableQuery: table(month, GroupVendor), Locator: geo.Builtin(), Home: "JP"})
			return err
		}},
		{"serverNames/day", func() error {
			_, err := ServerNames(ctx, db, table(day, ""), loc)
			return err
		}},
		{"serverNames/month", func() error {
			_, err := ServerNames(ctx, db, table(month, ""), loc)
			return err
		}},
		{"streams/month/500", func() error {
			_, err := Streams(ctx, db, table(month, ""))
			return err
		}},
		{"variable/departments/month", func() error {
			_, err := mustList(b, "departments").Load(ctx, db, month)
			return err
		}},
	})
}
