// Package monthdb builds the database of a generated office month
// (fixture.Month) as a datasource would: its captures ingested with the
// office's contracts and an inventory naming each device's department,
// the monthly totals cut in a zone. The questions' tests and the report's
// read it.
package monthdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/classify"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/inventory"
	"github.com/saaslens/saaslens/pkg/store"
)

// Contracts are the generated office's contracts.
const Contracts = `contracts:
  - {vendor: Microsoft, product: Microsoft 365 E3, seats: 20, monthly_cost: 720, currency: USD}
  - {vendor: Cybozu, product: kintone, seats: 16, monthly_cost: 28800, currency: JPY}
  - {vendor: Salesforce, product: Sales Cloud, seats: 10, monthly_cost: 1650, currency: USD}
  - {vendor: Slack, seats: 16, monthly_cost: 140, currency: USD}
  - {vendor: Zoom, seats: 16, monthly_cost: 250, currency: USD}
  - {vendor: Box, seats: 16, monthly_cost: 240, currency: USD}
  - {vendor: freee, seats: 5, monthly_cost: 9800, currency: JPY}
`

// Inventory is m's inventory: each device's MAC, its host name upper-cased
// and its department, no users.
func Inventory(m fixture.Month) string {
	var inv strings.Builder
	inv.WriteString("mac,device,user,department\n")
	for _, d := range m.DeviceList() {
		fmt.Fprintf(&inv, "%02x:%02x:%02x:%02x:%02x:%02x,%s,,%s\n", d.MAC[0], d.MAC[1], d.MAC[2], d.MAC[3], d.MAC[4], d.MAC[5], strings.ToUpper(d.Host), d.Department)
	}
	return inv.String()
}

// Build writes m's captures and ingests them into a new database in a
// test's temporary directory, its monthly totals cut in rollup, and
// returns the database's path.
func Build(t testing.TB, m fixture.Month, rollup *time.Location) string {
	t.Helper()
	return BuildIn(t, t.TempDir(), m, rollup)
}

// BuildIn is Build into dir.
func BuildIn(t testing.TB, dir string, m fixture.Month, rollup *time.Location) string {
	t.Helper()
	captures := filepath.Join(dir, "captures")
	if err := os.Mkdir(captures, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteMonth(captures); err != nil {
		t.Fatal(err)
	}
	contracts, inventory := filepath.Join(dir, "contracts.yaml"), filepath.Join(dir, "inventory.csv")
	for path, text := range map[string]string{contracts: Contracts, inventory: Inventory(m)} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "month.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.DefaultConfig()
	cfg.Paths, cfg.Contracts, cfg.Inventory, cfg.Settle, cfg.TimeZone = []string{captures}, contracts, inventory, 0, rollup
	svc, err := ingest.NewService(db, cfg, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Run(context.Background())
	svc.Close()
	db.Close()
	if err != nil || rep.Count("ok") == 0 || rep.Count("ok") != len(rep.Files) {
		t.Fatalf("ingest: %v %+v", err, rep)
	}
	return path
}

// Open builds m's database and opens it for reading until the test ends.
func Open(t testing.TB, m fixture.Month, rollup *time.Location) *sql.DB {
	t.Helper()
	r, err := store.OpenReader(Build(t, m, rollup))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.SQL()
}

// Office is March 2026 of a 500-device office in Tokyo. Sessions per
// device and working day come from SAASLENS_BENCH_MONTH_SESSIONS; the
// default, 870, makes about 10 million streams.
func Office() fixture.Month {
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

// OfficeDB builds (once per machine: it takes minutes) the month
// straight into a store, with contracts for the licensed services and an
// inventory naming every device's department, and classifies its names.
func OfficeDB(b *testing.B, m fixture.Month) *sql.DB {
	b.Helper()
	return Cached(b, fmt.Sprintf("saaslens-month-bench-v1-%d-%d.db", m.Devices, m.Sessions), m.Location, func(db *store.DB) string {
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
		// As the run that ingested the month would.
		if err := db.CloseAllDays(ctx); err != nil {
			b.Fatal(err)
		}
		officeContracts(b, db, m)
		var streams int64
		if err := db.SQL().QueryRow(`SELECT count(*) FROM streams`).Scan(&streams); err != nil {
			b.Fatal(err)
		}
		return fmt.Sprintf("%d streams of %d devices", streams, m.Devices)
	})
}

// officeContracts saves the office's contracts and inventory, and
// classifies its names.
func officeContracts(b testing.TB, db *store.DB, m fixture.Month) {
	ctx := context.Background()
	contracts, err := classify.ParseContracts("contracts.yaml", []byte(strings.ReplaceAll(Contracts, "seats: 16", "seats: 400")))
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

// Cached opens the benchmark database named name in the temporary
// directory, read-only; when it is absent, build fills a new store first
// (it takes minutes, so once per machine) and says what it built.
func Cached(b *testing.B, name string, zone *time.Location, build func(db *store.DB) string) *sql.DB {
	b.Helper()
	path := filepath.Join(os.TempDir(), name)
	// As the datasource's ingest would, with its timeZone.
	open := func(path string) *store.DB {
		db, err := store.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.SetRollupZone(context.Background(), zone); err != nil {
			b.Fatal(err)
		}
		return db
	}
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".building"
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		db := open(tmp)
		start := time.Now()
		built := build(db)
		db.Close()
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		b.Logf("built %s in %s at %s", built, time.Since(start).Round(time.Second), path)
	} else {
		// One cached by an older build takes this one's migrations.
		open(path).Close()
	}
	r, err := store.OpenReader(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r.SQL()
}
