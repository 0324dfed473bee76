package query

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/store"
)

// unknownOfficeDB is the office fixture with two of its names, under one
// registrable domain, known to no source: as the catalog leaves a SaaS it
// has not heard of.
func unknownOfficeDB(t *testing.T) *sql.DB {
	return changedOfficeDB(t, `UPDATE services SET vendor = '', product = '', category = '', kind = '', source = '', domain = 'unknown-saas.co.jp'
		WHERE server_name IN ('chatgpt.com', 'us02web.zoom.us')`)
}

// changedOfficeDB is the office fixture ingested with the example
// contracts and inventory, then changed by the statements given.
func changedOfficeDB(t *testing.T, change string) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "office.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := ingest.DefaultConfig()
	cfg.Paths = []string{filepath.Join("..", "..", "testdata", "office.pcap.gz")}
	cfg.Contracts = filepath.Join("..", "..", "examples", "contracts.yaml")
	cfg.Inventory = filepath.Join("..", "..", "examples", "inventory.csv")
	cfg.Settle = 0
	svc, err := ingest.NewService(db, cfg, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if change != "" {
		if _, err := db.SQL().Exec(change); err != nil {
			t.Fatal(err)
		}
	}
	r, err := store.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.SQL()
}

// A vendor is new in shadow IT when its service was first used this
// month: a device that fetched its CDN's assets in February did not use
// it then.
func TestShadowITIsNewByFirstUse(t *testing.T) {
	db := changedOfficeDB(t, `INSERT INTO services (server_name, vendor, product, category, kind, source, domain)
		VALUES ('a.slack-edge.com', 'Slack', 'Slack static content', 'cdn', 'infra', 'catalog', 'slack-edge.com');
	CREATE TEMP TABLE february AS SELECT * FROM usage_hourly WHERE server_name = 'app.slack.com' LIMIT 1;
	UPDATE february SET server_name = 'a.slack-edge.com', hour = hour - 40 * 24 * 3600000000000;
	INSERT INTO usage_hourly SELECT * FROM february;`)
	var infraFirst, useFirst int64
	if err := db.QueryRow(`SELECT (SELECT min(hour) FROM usage_hourly WHERE server_name = 'a.slack-edge.com'),
		(SELECT min(hour) FROM usage_hourly WHERE server_name = 'app.slack.com')`).Scan(&infraFirst, &useFirst); err != nil {
		t.Fatal(err)
	}
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if !time.Unix(0, infraFirst).Before(march) || time.Unix(0, useFirst).Before(march) {
		t.Fatalf("Slack's assets first fetched %s, its use first %s: the test wants February and March", time.Unix(0, infraFirst).UTC(), time.Unix(0, useFirst).UTC())
	}
	f, err := ShadowIT(context.Background(), db, TableQuery{Range: RangeOf(march, time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	vendors, _ := f.FieldByName("vendor")
	firstSeen, _ := f.FieldByName("first_seen")
	isNew, _ := f.FieldByName("new_this_month")
	found := false
	for i := 0; i < f.Rows(); i++ {
		if v, _ := vendors.ConcreteAt(i); v != "Slack" {
			continue
		}
		found = true
		seen, _ := firstSeen.ConcreteAt(i)
		if got := seen.(time.Time).UnixNano(); got != useFirst || !isNew.At(i).(bool) {
			t.Errorf("Slack first seen %s, new %v; want %s, new", seen, isNew.At(i), time.Unix(0, useFirst).UTC())
		}
	}
	if !found {
		t.Errorf("no Slack row: %s", tableText(f, nil))
	}
}

// The names no source classifies group by registrable domain: one
// candidate with its names, devices, streams and bytes as the streams
// count them, and when it was first and last seen; shadow IT lists it
// beside the vendors without a contract, marked unclassified.
func TestUnclassifiedNamesAreOneCandidatePerDomain(t *testing.T) {
	db := unknownOfficeDB(t)
	ctx := context.Background()
	// The capture's hours, less than a day: read stream by stream. March:
	// from the totals.
	var day Range
	if err := db.QueryRow(`SELECT min(first), max(last) FROM streams`).Scan(&day.From, &day.To); err != nil {
		t.Fatal(err)
	}
	if store.PlanRange(day.From, day.To).Totals {
		t.Fatalf("the office capture spans %s: the test wants less than a day", time.Duration(day.To-day.From))
	}
	month := RangeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))
	var devices, streams, bytes, first, last int64
	if err := db.QueryRow(`SELECT count(DISTINCT `+deviceOf("s")+`), count(*), sum(bytes_up + bytes_down),
		min(first) / 3600000000000 * 3600000000000, max(first) / 3600000000000 * 3600000000000
		FROM streams s WHERE server_name IN ('chatgpt.com', 'us02web.zoom.us')`).Scan(&devices, &streams, &bytes, &first, &last); err != nil {
		t.Fatal(err)
	}
	if devices < 2 {
		t.Fatalf("the fixture's two names reach %d devices: the test needs more", devices)
	}
	want := []any{"unknown-saas.co.jp", int64(2), "chatgpt.com, us02web.zoom.us", devices, streams, bytes, time.Unix(0, first).UTC(), time.Unix(0, last).UTC()}
	for _, r := range []Range{day, month} {
		f, err := Unclassified(ctx, db, TableQuery{Range: r}, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if f.Rows() != 1 {
			t.Fatalf("%d candidates, want one: %s", f.Rows(), tableText(f, nil))
		}
		got := concreteRow(f, 0)
		for i := range got {
			if tm, ok := got[i].(time.Time); ok {
				got[i] = tm.UTC()
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("range %v: candidate (-want +got):\n%s", r, diff)
		}
	}

	f, err := ShadowIT(ctx, db, TableQuery{Range: month}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i := 0; i < f.Rows(); i++ {
		row := concreteRow(f, i)
		got[row[0].(string)] = ""
		for j, field := range f.Fields {
			switch field.Name {
			case "products", "category", "devices", "unclassified":
				got[row[0].(string)] += fmt.Sprintf("%s=%v ", field.Name, row[j])
			}
		}
	}
	wantRows := map[string]string{
		"Slack":              "products=Slack category=chat devices=5 unclassified=false ",
		"Box":                "products=Box category=storage devices=3 unclassified=false ",
		"freee":              "products=freee category=accounting devices=2 unclassified=false ",
		"Google":             "products=Gmail category=mail devices=2 unclassified=false ",
		"unknown-saas.co.jp": "products=chatgpt.com, us02web.zoom.us category=unknown devices=" + fmt.Sprint(devices) + " unclassified=true ",
	}
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("shadow IT (-want +got):\n%s", diff)
	}
}

// The unclassified variable lists the candidates' domains, with their
// devices, for a dashboard to pick from.
func TestUnclassifiedVariable(t *testing.T) {
	db := unknownOfficeDB(t)
	var devices int64
	if err := db.QueryRow(`SELECT count(DISTINCT ` + deviceOf("s") + `) FROM streams s WHERE server_name IN ('chatgpt.com', 'us02web.zoom.us')`).Scan(&devices); err != nil {
		t.Fatal(err)
	}
	got, err := mustList(t, "unclassified").Load(context.Background(), db, Range{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Choice{{Text: fmt.Sprintf("unknown-saas.co.jp (%d devices)", devices), Value: "unknown-saas.co.jp"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
