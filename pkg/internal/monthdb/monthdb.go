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
	"strings"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
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
	dir := t.TempDir()
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
