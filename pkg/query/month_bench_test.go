package query

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/classify"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/internal/monthdb"
	"github.com/saaslens/saaslens/pkg/inventory"
	"github.com/saaslens/saaslens/pkg/store"
)

// officeMonth is March 2026 of a 500-device office in Tokyo. Sessions per
// device and working day come from SAASLENS_BENCH_MONTH_SESSIONS; the
// default, 870, makes about 10 million streams.
func officeMonth() fixture.Month {
	sessions := 870
	if v, err := strconv.Atoi(os.Getenv("SAASLENS_BENCH_MONTH_SESSIONS")); err == nil && v > 0 {
		sessions = v
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		panic(err) // time/tzdata is linked into the plugin; tests have the system's
	}
	return fixture.Month{Devices: 500, First: time.Date(2026, 3, 1, 0, 0, 0, 0, tokyo), Days: 31, Location: tokyo, Sessions: sessions}
}

// officeMonthDB builds (once per machine: it takes minutes) the month
// straight into a store, with contracts for the licensed services and an
// inventory naming every device's department, and classifies its names.
func officeMonthDB(b *testing.B, m fixture.Month) *sql.DB {
	b.Helper()
	return cachedDB(b, fmt.Sprintf("saaslens-month-bench-v1-%d-%d.db", m.Devices, m.Sessions), m.Location, func(db *store.DB) string {
		cfg := flow.DefaultConfig()
		names, err := classify.CatalogAddressNames()
		if err != nil {
			b.Fatal(err)
		}
		cfg.NameByAddress = names.Name
		ctx := context.Background()
		if err := m.Store(ctx, db, cfg); err != nil {
			b.Fatal(err)
		}
		officeMonthContracts(b, db, m)
		var streams int64
		if err := db.SQL().QueryRow(`SELECT count(*) FROM streams`).Scan(&streams); err != nil {
			b.Fatal(err)
		}
		return fmt.Sprintf("%d streams of %d devices", streams, m.Devices)
	})
}

// officeMonthContracts saves the office's contracts and inventory, and
// classifies its names.
func officeMonthContracts(b testing.TB, db *store.DB, m fixture.Month) {
	ctx := context.Background()
	contracts, err := classify.ParseContracts("contracts.yaml", []byte(strings.ReplaceAll(monthdb.Contracts, "seats: 16", "seats: 400")))
	if err != nil {
		b.Fatal(err)
	}
	c, err := classify.Builtin(classify.Config{Contracts: contracts})
	if err != nil {
		b.Fatal(err)
	}
	var entries []inventory.Entry
	for _, d := range m.DeviceList() {
		entries = append(entries, inventory.Entry{Key: fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", d.MAC[0], d.MAC[1], d.MAC[2], d.MAC[3], d.MAC[4], d.MAC[5]),
			Device: strings.ToUpper(d.Host), Department: d.Department})
	}
	if err := db.SaveContracts(ctx, contracts); err != nil {
		b.Fatal(err)
	}
	if err := db.SaveInventory(ctx, entries); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ClassifyNames(ctx, c); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL().Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOfficeMonth times every query type as a panel over the month
// asks it, in the office's time zone.
func BenchmarkOfficeMonth(b *testing.B) {
	m := officeMonth()
	db := officeMonthDB(b, m)
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
