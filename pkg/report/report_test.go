package report

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/classify"
	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/internal/monthdb"
	"github.com/saaslens/saaslens/pkg/query"
	"github.com/saaslens/saaslens/pkg/store"
)

var (
	monthOnce sync.Once
	monthPath string
	monthDir  string
)

// TestMain removes the database the tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	if monthDir != "" {
		os.RemoveAll(monthDir)
	}
	os.Exit(code)
}

// twoMonths is a 16-device office in Tokyo from the middle of February
// to the first days of April: March whole, and February to compare with;
// built once for the package's tests.
func twoMonths(t *testing.T) (fixture.Month, *sql.DB) {
	t.Helper()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	m := fixture.Month{Devices: 16, First: time.Date(2026, 2, 16, 0, 0, 0, 0, tokyo), Days: 48, Location: tokyo, Sessions: 10}
	monthOnce.Do(func() {
		if monthDir, err = os.MkdirTemp("", "saaslens-report"); err != nil {
			t.Fatal(err)
		}
		monthPath = monthdb.BuildIn(t, monthDir, m, tokyo)
	})
	if monthPath == "" {
		t.Fatal("the month's database could not be built")
	}
	r, err := store.OpenReader(monthPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return m, r.SQL()
}

func march(m fixture.Month) time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, m.Location) }

// Every section answers as the matching query type's frame over March:
// the report is the panels' answers, not a second implementation of them.
func TestSectionsAreTheQueriesAnswers(t *testing.T) {
	m, db := twoMonths(t)
	ctx := context.Background()
	loc := m.Location
	r, err := Build(ctx, db, Options{Month: march(m), Location: loc, Lang: "en", Home: "JP", Locator: geo.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	rng := query.Range{From: march(m).UnixNano(), To: march(m).AddDate(0, 1, 0).UnixNano() - 1}

	// Month over month, per vendor.
	mom, err := query.MonthOverMonth(ctx, db, query.TableQuery{Range: rng, GroupBy: query.GroupVendor, Limit: 1000}, loc)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for i := range mom.Rows() {
		row := rowOf(mom, i)
		want = append(want, fmt.Sprint(row["vendor"], row["devices_last_month"], row["devices_this_month"], row["bytes_last_month"], row["bytes_this_month"]))
	}
	for _, v := range r.Vendors {
		got = append(got, fmt.Sprint(v.Vendor, v.DevicesLast, v.DevicesThis, v.BytesLast, v.BytesThis))
	}
	check(t, "month over month", want, got)

	// Licences: March's row of each contract.
	lic, err := query.Licences(ctx, db, query.LicencesQuery{Range: rng}, loc)
	if err != nil {
		t.Fatal(err)
	}
	want, got = nil, nil
	for i := range lic.Rows() {
		row := rowOf(lic, i)
		want = append(want, fmt.Sprint(row["vendor"], row["product"], row["seats"], row["active_devices"], row["unused_seats"], row["cancellation_candidate"]))
	}
	for _, l := range r.Licences {
		got = append(got, fmt.Sprint(l.Vendor, l.Product, l.Seats, l.Active, l.Unused, l.CancellationCandidate))
	}
	check(t, "licences", want, got)

	// Shadow IT.
	shadow, err := query.ShadowIT(ctx, db, query.TableQuery{Range: rng, Limit: 200}, loc)
	if err != nil {
		t.Fatal(err)
	}
	want, got = nil, nil
	for i := range shadow.Rows() {
		row := rowOf(shadow, i)
		want = append(want, fmt.Sprint(row["vendor"], row["devices"], row["bytes"], row["new_this_month"]))
	}
	for _, s := range r.ShadowIT {
		got = append(got, fmt.Sprint(s.Name, s.Devices, s.Bytes, s.New))
	}
	check(t, "shadow IT", want, got)

	// Servers abroad.
	g, err := query.Geo(ctx, db, query.GeoQuery{TableQuery: query.TableQuery{Range: rng, GroupBy: query.GroupVendor, Limit: 1000}, Locator: geo.Builtin(), Home: "JP"})
	if err != nil {
		t.Fatal(err)
	}
	want, got = nil, nil
	for i := range g.Rows() {
		if row := rowOf(g, i); row["abroad"] == true {
			want = append(want, fmt.Sprint(row["vendor"], row["country"], row["bytes"], row["streams"]))
		}
	}
	for _, a := range r.Abroad {
		got = append(got, fmt.Sprint(a.Vendor, a.Country, a.Bytes, a.Streams))
	}
	check(t, "servers abroad", want, got)

	// Month end: the p95 handshake by day of the month.
	lat, err := query.Latency(ctx, db, query.LatencyQuery{Measure: "tls", Percentiles: []float64{95}, Range: rng, DayOfMonth: loc,
		GroupBy: query.GroupVendor, TopN: 10, Filter: query.Filter{Kinds: []string{query.KindSaaS}}})
	if err != nil {
		t.Fatal(err)
	}
	want, got = nil, nil
	for _, f := range lat.Fields[1:] {
		var days []string
		for d := range f.Len() {
			if v, ok := f.ConcreteAt(d); ok {
				days = append(days, fmt.Sprintf("%d:%.3f", d+1, v))
			}
		}
		want = append(want, f.Labels[query.GroupVendor]+" "+strings.Join(days, " "))
	}
	for _, me := range r.MonthEnd {
		var days []string
		for d, v := range me.TLS {
			if !math.IsNaN(v) {
				days = append(days, fmt.Sprintf("%d:%.3f", d+1, v))
			}
		}
		got = append(got, me.Vendor+" "+strings.Join(days, " "))
	}
	check(t, "month end", want, got)
}

// The generator knows the answers: March's SaaS users per vendor and
// department, that every service slows in the month's last three days,
// and that nothing is new in March (February has all of it).
func TestReportTellsWhatTheMonthHeld(t *testing.T) {
	m, db := twoMonths(t)
	r, err := Build(context.Background(), db, Options{Month: march(m), Location: m.Location, Lang: "en", Home: "JP"})
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := classify.Builtin(classify.Config{})
	if err != nil {
		t.Fatal(err)
	}
	devices := m.DeviceList()
	users := map[string]map[int]bool{}     // vendor → devices in March
	perDept := map[string]map[string]int{} // department → vendor → devices
	all := map[int]bool{}
	for _, s := range m.SessionList() {
		c := catalog.Classify(s.Name)
		if s.Start.In(m.Location).Month() != time.March || c.Kind != classify.KindSaaS {
			continue
		}
		if users[c.Vendor] == nil {
			users[c.Vendor] = map[int]bool{}
		}
		users[c.Vendor][s.Device] = true
		all[s.Device] = true
	}
	for vendor, ds := range users {
		for d := range ds {
			dept := devices[d].Department
			if perDept[dept] == nil {
				perDept[dept] = map[string]int{}
			}
			perDept[dept][vendor]++
		}
	}
	if r.Summary.Vendors != len(users) || r.Summary.Devices != len(all) || r.Summary.Users != nil {
		t.Errorf("summary: %d vendors, %d devices, users %v; want %d, %d, none (the inventory names no users)",
			r.Summary.Vendors, r.Summary.Devices, r.Summary.Users, len(users), len(all))
	}
	gotDept := map[string]map[string]int{}
	for _, d := range r.Departments {
		gotDept[d.Name] = map[string]int{}
		for _, v := range d.Vendors {
			gotDept[d.Name][v.Vendor] = v.Users
		}
	}
	if diff := cmp.Diff(perDept, gotDept); diff != "" {
		t.Errorf("devices per department and vendor (-generator +report):\n%s", diff)
	}
	var slower []string
	for _, me := range r.MonthEnd {
		if me.SlowerAtMonthEnd {
			slower = append(slower, me.Vendor)
		}
		if me.LastDayOfTheMonth != 31 {
			t.Errorf("%s: March has %d days", me.Vendor, me.LastDayOfTheMonth)
		}
	}
	if len(slower) == 0 || len(slower) != len(r.MonthEnd) {
		t.Errorf("slower at month end: %v of %d vendors; the generator slows every one", slower, len(r.MonthEnd))
	}
	if len(r.New) != 0 || len(r.Gone) != 0 {
		t.Errorf("new %v, gone %v; February had every vendor March has", r.New, r.Gone)
	}
	if r.Summary.Coverage <= 0 || r.Summary.Coverage >= 100 {
		t.Errorf("coverage %.1f%%: the generator captures working hours only", r.Summary.Coverage)
	}
}

// The page shows each section's numbers, formatted for its language, and
// loads nothing: a Content-Security-Policy forbids it, and it holds no
// script, link or remote image.
func TestPageShowsTheSections(t *testing.T) {
	m, db := twoMonths(t)
	for _, lang := range []string{"en", "ja"} {
		r, err := Build(context.Background(), db, Options{Month: march(m), Location: m.Location, Lang: lang, Home: "JP"})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := r.HTML(&b); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		section := func(id string) string {
			_, rest, ok := strings.Cut(page, `<section id="`+id+`"`)
			if !ok {
				t.Fatalf("%s: no section %s", lang, id)
			}
			body, _, _ := strings.Cut(rest, "</section>")
			return html.UnescapeString(body)
		}
		w := words{lang}
		wants := map[string][]string{
			"summary":          {w.number(int64(r.Summary.Devices)), w.bytes(r.Summary.Bytes)},
			"month-over-month": {r.Vendors[0].Vendor, w.bytes(r.Vendors[0].BytesThis), w.month(r.Previous)},
			"licences":         {"Cybozu", w.money(28800, "JPY"), productName("Microsoft", "Microsoft 365 E3")},
			"shadow-it":        {r.ShadowIT[0].Name, w.number(r.ShadowIT[0].Devices)},
			"month-end":        {r.MonthEnd[0].Vendor, w.ms(r.MonthEnd[0].EndTLS)},
			"abroad":           {r.Abroad[0].Vendor, w.bytes(r.Abroad[0].Bytes)},
			"departments":      {r.Departments[0].Name},
		}
		for id, texts := range wants {
			body := section(id)
			for _, text := range texts {
				if !strings.Contains(body, text) {
					t.Errorf("%s: section %s lacks %q", lang, id, text)
				}
			}
		}
		if !strings.Contains(page, `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`) {
			t.Errorf("%s: no Content-Security-Policy forbidding loads", lang)
		}
		if loads := regexp.MustCompile(`(?i)<script|<link|<img|<iframe|src="http|url\(`).FindAllString(page, -1); len(loads) > 0 {
			t.Errorf("%s: the page would load %v", lang, loads)
		}
	}
	if _, err := Build(context.Background(), db, Options{Month: march(m), Lang: "fr"}); err == nil || err.Error() != `report: language "fr": want en or ja` {
		t.Errorf("an unknown language: %v", err)
	}
}

// In a real browser (Debian's Chromium through playwright-core, as the
// frontend's browser tests), the report makes no request, prints to A4
// with a page per section, and its first page is kept as a screenshot in
// test-output/report/.
func TestPrintsInABrowser(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "scripts", "browser", "report.mjs")
	for _, need := range []string{"/usr/bin/chromium", filepath.Join(root, "node_modules", "playwright-core")} {
		if _, err := os.Stat(need); err != nil {
			t.Skipf("no %s (scripts/setup.sh installs Chromium, npm ci playwright-core): %v", need, err)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node:", err)
	}
	m, db := twoMonths(t)
	r, err := Build(context.Background(), db, Options{Month: march(m), Location: m.Location, Lang: "en", Home: "JP"})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "test-output", "report")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(out, "saaslens-2026-03.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.HTML(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command("node", script, file, out)
	cmd.Dir = root
	text, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, text)
	}
	var got struct {
		Requests, Violations []string
		Pages                int
		Screenshot           string
	}
	if err := json.Unmarshal(text[bytes.LastIndexByte(bytes.TrimSpace(text), '\n')+1:], &got); err != nil {
		t.Fatalf("%v in %s", err, text)
	}
	sections := strings.Count(pageOf(t, r), "<section ") - 1 // the summary shares the first page
	if len(got.Requests) > 0 || len(got.Violations) > 0 || got.Pages < sections {
		t.Errorf("requests %v, CSP violations %v, %d pages for %d page-starting sections", got.Requests, got.Violations, got.Pages, sections)
	}
	if info, err := os.Stat(got.Screenshot); err != nil || info.Size() < 10000 {
		t.Errorf("screenshot %s: %v", got.Screenshot, err)
	}
	t.Logf("%d pages; first page: %s", got.Pages, got.Screenshot)
}

func pageOf(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// rowOf is a frame's row by column name, cells as concrete values.
func rowOf(f *data.Frame, i int) map[string]any {
	row := map[string]any{}
	for _, field := range f.Fields {
		if v, ok := field.ConcreteAt(i); ok {
			row[field.Name] = v
		}
	}
	return row
}

func check(t *testing.T, what string, want, got []string) {
	t.Helper()
	sort.Strings(want)
	sort.Strings(got)
	if len(want) == 0 {
		t.Errorf("%s: the query answers nothing; the comparison needs rows", what)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-query +report):\n%s", what, diff)
	}
}
