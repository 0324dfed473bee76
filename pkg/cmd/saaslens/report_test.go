package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/internal/monthdb"
)

// report writes a month's report: the month asked for, or the last one the
// captures have passed; contracts given are stored first, as ingest would.
func TestReportCommand(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	m := fixture.Month{Devices: 8, First: time.Date(2026, 2, 20, 0, 0, 0, 0, tokyo), Days: 42, Location: tokyo, Sessions: 4}
	db := monthdb.Build(t, m, tokyo)
	dir := t.TempDir()
	out := filepath.Join(dir, "march.html")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"report", "--db", db, "--month", "2026-03", "--home-country", "jp", "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// The database's zone is Tokyo's: Japanese, by default.
	if !strings.Contains(string(page), "SaaS 利用レポート — 2026年3月") || !strings.Contains(stdout.String(), out+": the report of 2026-03") {
		t.Errorf("report: %s\n%.300s", stdout.String(), page)
	}
	// The last month passed (the captures run into April), in English,
	// to standard output, with contracts stored first.
	contracts := filepath.Join(dir, "contracts.yaml")
	if err := os.WriteFile(contracts, []byte(`contracts:
  - {vendor: Slack, seats: 99, monthly_cost: 1, currency: USD, renewal: 2026-04-20}
  - {vendor: Dropbox, product: Dropbox Business, seats: 10, monthly_cost: 150, currency: USD}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := run([]string{"report", "--db", db, "--lang", "en", "--contracts", contracts, "-o", "-"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	text := stdout.String()
	_, licences, _ := strings.Cut(text, `<section id="licences">`)
	licences, _, _ = strings.Cut(licences, "</section>")
	if !strings.Contains(text, "SaaS report — March 2026") || !strings.Contains(licences, `<td class="n">99</td>`) || strings.Contains(licences, "Cybozu") {
		t.Errorf("the last month with the contracts given: licences %s", licences)
	}
	// Slack renews 20 days after March; Dropbox, never used, could go:
	// each says so in the row under its own.
	rows := strings.Split(licences, "<tr")
	for vendor, flag := range map[string]string{"Slack": "Renews within 60 days", "Dropbox": "Cancellation candidate: no use in the last 30 days"} {
		i := slices.IndexFunc(rows, func(r string) bool { return strings.Contains(r, "<td>"+vendor+"</td>") })
		if i < 0 || i+1 == len(rows) || !strings.Contains(rows[i+1], flag) {
			t.Errorf("%s: no row under its own saying %q in %s", vendor, flag, licences)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--db", db, "--month", "2026-13"}, `saaslens report: month "2026-13": write it as YYYY-MM, like 2026-03`},
		{[]string{"report", "--db", db, "--lang", "fr", "-o", "-"}, `saaslens report: report: language "fr": want en or ja`},
		{[]string{"report", "--db", filepath.Join(dir, "none.db")}, "saaslens report: store: stat " + filepath.Join(dir, "none.db") + ": no such file or directory"},
	} {
		stderr.Reset()
		if code := run(c.args, &stdout, &stderr); code != 1 || strings.TrimSpace(stderr.String()) != c.want {
			t.Errorf("%v: exit %d, %q; want 1, %q", c.args[3:], code, stderr.String(), c.want)
		}
	}
}
