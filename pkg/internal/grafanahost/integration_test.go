package grafanahost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
	"github.com/saaslens/saaslens/pkg/plugin"
	"github.com/saaslens/saaslens/pkg/store"
)

func repoRoot() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "..")
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// pluginBinary builds the plugin once for the package's tests.
func pluginBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "saaslens-plugin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "gpx_saaslens_pcap_datasource")
		buildErr = Build(repoRoot(), binary)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func startHost(t *testing.T) *Host {
	t.Helper()
	var logs bytes.Buffer
	h, err := Start(pluginBinary(t), nil, &lockedWriter{w: &logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		if t.Failed() {
			t.Logf("plugin log:\n%s", logs.String())
		}
	})
	return h
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// provisioned is the datasource of provisioning/datasources with its
// container paths swapped for this machine's: the sample captures
// (testdata, and ../shared when present) and a fresh database. settle is
// 0 because a fresh clone's files are all seconds old.
func provisioned(t *testing.T, change func(map[string]any)) (backend.PluginContext, string) {
	t.Helper()
	sources, err := ProvisionedDatasources(filepath.Join(repoRoot(), "provisioning", "datasources"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 1 || sources[0].Type != plugin.ID {
		t.Fatalf("provisioning holds %+v, want one %s datasource", sources, plugin.ID)
	}
	ds := sources[0]
	dirs := []any{filepath.Join(repoRoot(), "testdata")}
	if _, err := os.Stat(sharedtest.Dir()); err == nil {
		dirs = append(dirs, sharedtest.Dir())
	}
	ds.JSONData["captureDirs"] = dirs
	dbPath := filepath.Join(t.TempDir(), "saaslens.db")
	ds.JSONData["databasePath"] = dbPath
	ds.JSONData["reportDir"] = filepath.Join(filepath.Dir(dbPath), "reports")
	ds.JSONData["settle"] = "0s"
	ds.JSONData["contractsFile"] = filepath.Join(repoRoot(), "examples", "contracts.yaml")
	ds.JSONData["inventoryFile"] = filepath.Join(repoRoot(), "examples", "inventory.csv")
	if change != nil {
		change(ds.JSONData)
	}
	pc, err := ds.PluginContext(plugin.ID, ds.JSONData, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return pc, dbPath
}

func callResource(t *testing.T, h *Host, pc backend.PluginContext, method, path string, into any) int {
	t.Helper()
	bare, _, _ := strings.Cut(path, "?")
	resp, err := h.CallResource(context.Background(), &backend.CallResourceRequest{PluginContext: pc, Method: method, Path: bare, URL: path})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if into != nil {
		if err := json.Unmarshal(resp.Body, into); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, resp.Body)
		}
	}
	return resp.Status
}

// ingested is the provisioned datasource (changed by change) after its
// first scheduled ingest has finished: asking its status creates the
// instance, which starts ingesting.
func ingested(t *testing.T, h *Host, change func(map[string]any)) (backend.PluginContext, string) {
	t.Helper()
	started := time.Now()
	pc, dbPath := provisioned(t, change)
	callResource(t, h, pc, http.MethodGet, "status", nil)
	waitForIngest(t, h, pc, started.Add(-time.Second))
	return pc, dbPath
}

// onlyTestdata reads the project's own sample captures alone: what they
// hold is fixed, whether ../shared is there or not.
func onlyTestdata(j map[string]any) { j["captureDirs"] = []any{filepath.Join(repoRoot(), "testdata")} }

// waitForIngest polls the status resource until a run has finished.
func waitForIngest(t *testing.T, h *Host, pc backend.PluginContext, runsAfter time.Time) plugin.Status {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var st plugin.Status
		callResource(t, h, pc, http.MethodGet, "status", &st)
		if st.LastRun != nil && !st.Running && st.LastRun.Start.After(runsAfter) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ingest finished within 3 minutes: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitForReport polls the status resource until the report due after a
// run has been written, or has failed: it is written once the run is
// over.
func waitForReport(t *testing.T, h *Host, pc backend.PluginContext) plugin.Status {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var st plugin.Status
		callResource(t, h, pc, http.MethodGet, "status", &st)
		if st.LastReport != nil {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report written within a minute: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func query(t *testing.T, h *Host, pc backend.PluginContext, tr backend.TimeRange, targets ...string) *backend.QueryDataResponse {
	t.Helper()
	req := &backend.QueryDataRequest{PluginContext: pc}
	for i, target := range targets {
		var m map[string]any
		if err := json.Unmarshal([]byte(target), &m); err != nil {
			t.Fatal(err)
		}
		qt, _ := m["queryType"].(string)
		req.Queries = append(req.Queries, backend.DataQuery{RefID: fmt.Sprint(string(rune('A' + i))), QueryType: qt,
			JSON: []byte(target), TimeRange: tr, Interval: time.Minute, MaxDataPoints: 1000})
	}
	resp, err := h.QueryData(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The plugin as Grafana runs it: provisioned, it ingests the sample
// captures on its own schedule, then answers health, every query type and
// every resource with what the database holds.
func TestPluginAsGrafanaRunsIt(t *testing.T) {
	h := startHost(t)
	started := time.Now()
	pc, dbPath := provisioned(t, nil)
	health, err := h.CheckHealth(context.Background(), pc) // creates the instance, which starts ingesting
	if err != nil {
		t.Fatal(err)
	}
	st := waitForIngest(t, h, pc, started.Add(-time.Second))
	if st.LastRun.Error != "" || st.Captures["ok"] == 0 {
		t.Fatalf("first ingest: %+v", st)
	}
	health, err = h.CheckHealth(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenReader(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var captures, damaged, unreadable, streams, services int64
	var first, last int64
	if err := db.SQL().QueryRow(`SELECT (SELECT count(*) FROM captures), (SELECT count(*) FROM captures WHERE status = 'damaged'),
		(SELECT count(*) FROM captures WHERE status = 'unreadable'),
		(SELECT count(*) FROM streams), (SELECT count(DISTINCT server_name) FROM streams), (SELECT min(first) FROM streams), (SELECT max(last) FROM streams)`).
		Scan(&captures, &damaged, &unreadable, &streams, &services, &first, &last); err != nil {
		t.Fatal(err)
	}
	if damaged == 0 {
		t.Fatal("testdata/truncated.pcap should be stored as damaged")
	}
	wantHealth := fmt.Sprintf("SaaSLens: %d capture files (%d damaged, %d unreadable), %d streams, %d services in %s; latest problem: ",
		captures, damaged, unreadable, streams, services, dbPath)
	if health.Status != backend.HealthStatusOk || !strings.HasPrefix(health.Message, wantHealth) {
		t.Errorf("health %s %q, want OK %q…", health.Status, health.Message, wantHealth)
	}

	all := backend.TimeRange{From: time.Unix(0, first), To: time.Unix(0, last)}
	resp := query(t, h, pc, all,
		`{"queryType":"usage","metric":"streams","topN":5}`,
		`{"queryType":"serverNames","limit":10000}`,
		`{"queryType":"streams","limit":10000}`,
		`{"queryType":"sql","format":"table","rawSql":"SELECT count(*) AS n FROM streams WHERE $__timeFilter(first)"}`,
		`{"queryType":"variable","variable":"services"}`,
		`{"queryType":"sql","rawSql":"ATTACH DATABASE '/var/lib/grafana/grafana.db' AS g"}`,
		`{"queryType":"nonsense"}`,
		`{"queryType":"serverNames","groupBy":"vendor","kinds":["saas"],"limit":1000}`,
		`{"queryType":"monthOverMonth","groupBy":"vendor"}`,
	)
	for _, ref := range []string{"A", "B", "C", "D", "E"} {
		if r := resp.Responses[ref]; r.Error != nil || len(r.Frames) != 1 {
			t.Fatalf("query %s: %v (%d frames)", ref, r.Error, len(r.Frames))
		}
		if f := resp.Responses[ref].Frames[0]; f.Meta == nil || f.Meta.ExecutedQueryString == "" {
			t.Errorf("query %s: no executed query string", ref)
		}
	}
	// usage: the series add up to every stream that started in the range.
	usage := resp.Responses["A"].Frames[0]
	if usage.Fields[0].Type() != data.FieldTypeTime || len(usage.Fields) != 7 {
		t.Errorf("usage: %d fields (want time, 5 services, other), first %s", len(usage.Fields), usage.Fields[0].Type())
	}
	total := 0.0
	for _, f := range usage.Fields[1:] {
		for i := 0; i < f.Len(); i++ {
			total += f.At(i).(float64)
		}
	}
	if int64(total) != streams {
		t.Errorf("usage series sum to %v streams, want %d", total, streams)
	}
	// serverNames: one row per name stored, accesses summing to the streams.
	names := resp.Responses["B"].Frames[0]
	nameField, _ := names.FieldByName("server_name")
	accesses, _ := names.FieldByName("accesses")
	var gotNames []string
	sum := int64(0)
	for i := 0; i < names.Rows(); i++ {
		gotNames = append(gotNames, *nameField.At(i).(*string))
		sum += *accesses.At(i).(*int64)
	}
	if sum != streams || int64(len(gotNames)) != services {
		t.Errorf("serverNames: %d names, %d accesses; want %d, %d", len(gotNames), sum, services, streams)
	}
	if _, err := os.Stat(sharedtest.Dir()); err == nil {
		for _, c := range sharedtest.Captures(t) {
			for _, n := range append(append([]string{}, c.TLSNames...), c.QUICNames...) {
				if !slices.Contains(gotNames, n) {
					t.Errorf("%s: server name %s (per tshark) not among the plugin's", c.File, n)
				}
			}
		}
	}
	if rows := resp.Responses["C"].Frames[0].Rows(); int64(rows) != streams {
		t.Errorf("streams: %d rows, want %d", rows, streams)
	}
	if n := resp.Responses["D"].Frames[0].Fields[0].At(0).(*int64); *n != streams {
		t.Errorf("sql count: %d, want %d", *n, streams)
	}
	if r := resp.Responses["F"]; r.Error == nil || !strings.Contains(r.Error.Error(), "ATTACH is not allowed") || r.Status != backend.StatusBadRequest {
		t.Errorf("ATTACH: %v %v", r.Status, r.Error)
	}
	if r := resp.Responses["G"]; r.Error == nil || !strings.Contains(r.Error.Error(), `unknown query type "nonsense"`) {
		t.Errorf("unknown query type: %v", r.Error)
	}
	if r := resp.Responses["I"]; r.Error != nil || len(r.Frames) != 1 || len(r.Frames[0].Meta.Notices) != 1 {
		t.Errorf("monthOverMonth: %v", r.Error)
	}
	// Vendors of SaaS use: what the services table says, summed.
	var wantVendors []string
	rows, err := db.SQL().Query(`SELECT DISTINCT sv.vendor FROM streams s JOIN services sv ON sv.server_name = s.server_name WHERE sv.kind = 'saas' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		wantVendors = append(wantVendors, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if r := resp.Responses["H"]; r.Error != nil {
		t.Errorf("serverNames by vendor: %v", r.Error)
	} else {
		vendorField, _ := r.Frames[0].FieldByName("vendor")
		var gotVendors []string
		for i := 0; vendorField != nil && i < vendorField.Len(); i++ {
			gotVendors = append(gotVendors, *vendorField.At(i).(*string))
		}
		slices.Sort(gotVendors)
		if diff := cmp.Diff(wantVendors, gotVendors); diff != "" || len(gotVendors) == 0 {
			t.Errorf("SaaS vendors (-want +got):\n%s", diff)
		}
	}

	// Resources: pickers, status, ingest now.
	var services2 []struct{ Text, Value string }
	if code := callResource(t, h, pc, http.MethodGet, "services", &services2); code != http.StatusOK || int64(len(services2)) != services {
		t.Errorf("services resource: %d, %d entries; want 200, %d", code, len(services2), services)
	}
	// Products as grouping by product names them, for the product filter.
	var products []struct{ Text, Value string }
	if code := callResource(t, h, pc, http.MethodGet, "products", &products); code != http.StatusOK ||
		!slices.ContainsFunc(products, func(c struct{ Text, Value string }) bool { return c.Value == "Microsoft Teams" }) {
		t.Errorf("products resource: %d, %v; want Microsoft Teams among them", code, products)
	}
	var clients []struct{ Text, Value string }
	if code := callResource(t, h, pc, http.MethodGet, fmt.Sprintf("clients?from=%d&to=%d", first/1e6, last/1e6+1), &clients); code != http.StatusOK || len(clients) == 0 {
		t.Errorf("clients resource: %d, %d entries", code, len(clients))
	}
	// What the editors learn of the backend: its query types, and the
	// tables of this database for raw SQL.
	var meta plugin.Meta
	if code := callResource(t, h, pc, http.MethodGet, "meta", &meta); code != http.StatusOK {
		t.Errorf("meta resource: %d", code)
	}
	streamsColumns := ""
	for _, tb := range meta.Tables {
		if tb.Name == "streams" {
			streamsColumns = strings.Join(tb.Columns, ",")
		}
	}
	if len(meta.QueryTypes) != 14 || len(meta.Filters) != 9 || len(meta.Macros) != 8 || !strings.Contains(streamsColumns, ",server_name,") || meta.TablesProblem != "" {
		t.Errorf("meta: %d query types, %d filters, %d macros, streams columns %q, %s", len(meta.QueryTypes), len(meta.Filters), len(meta.Macros), streamsColumns, meta.TablesProblem)
	}
	var bad map[string]string
	if code := callResource(t, h, pc, http.MethodGet, "clients?from=x&to=1", &bad); code != http.StatusBadRequest || !strings.Contains(bad["error"], "Unix milliseconds") {
		t.Errorf("bad range: %d %v", code, bad)
	}
	before := time.Now()
	var accepted map[string]string
	if code := callResource(t, h, pc, http.MethodPost, "ingest", &accepted); code != http.StatusAccepted {
		t.Errorf("POST ingest: %d %v", code, accepted)
	}
	st = waitForIngest(t, h, pc, before)
	if st.LastRun.Error != "" || st.LastRun.Files != 0 {
		t.Errorf("second run (nothing new): %+v", st.LastRun)
	}
	truncated := filepath.Join(repoRoot(), "testdata", "truncated.pcap")
	want := plugin.FileProblem{Path: truncated, Status: "damaged", Error: truncated + ": offset 252: reading packet record: unexpected EOF"}
	if !slices.Contains(st.Problems, want) {
		t.Errorf("status problems %+v do not hold %+v", st.Problems, want)
	}
	if h.Exited() {
		t.Fatal("the plugin process exited")
	}
}

// goldenNow is "now" for the dashboards' relative time ranges in
// TestEveryDashboardPanelHasData, so that their answers can be golden.
var goldenNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

var update = flag.Bool("update", false, "rewrite the golden responses in testdata/golden")

// Every panel of every bundled dashboard gets, over the sample captures
// and with the dashboard's own time range and variables, the frames its
// panel type needs; and, over testdata and the shared captures, exactly
// the response in testdata/golden (go test -update rewrites them; read
// the diff before committing it).
func TestEveryDashboardPanelHasData(t *testing.T) {
	h := startHost(t)
	pc, _ := ingested(t, h, nil)
	dashboards, err := LoadDashboards(filepath.Join(repoRoot(), "provisioning", "dashboards"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dashboards) == 0 {
		t.Fatal("no dashboards")
	}
	var includes struct {
		Includes []struct{ Type, Path string } `json:"includes"`
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(), "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &includes); err != nil {
		t.Fatal(err)
	}
	for _, d := range dashboards {
		listed := false
		for _, inc := range includes.Includes {
			listed = listed || inc.Type == "dashboard" && filepath.Base(inc.Path) == filepath.Base(d.File)
		}
		if !listed {
			t.Errorf("%s is not in plugin.json includes", d.File)
		}
		// Grafana proxies /api/datasources/uid/<uid>/resources/<path> to
		// the plugin.
		resources := "/api/datasources/uid/" + pc.DataSourceInstanceSettings.UID + "/resources/"
		for _, l := range d.Links {
			path, ok := strings.CutPrefix(l.URL, resources)
			if !ok {
				t.Errorf("%s: link %q goes to %s, not to this datasource's resources", d.Title, l.Title, l.URL)
				continue
			}
			bare, _, _ := strings.Cut(path, "?")
			resp, err := h.CallResource(context.Background(), &backend.CallResourceRequest{PluginContext: pc, Method: http.MethodGet, Path: bare, URL: path})
			if err != nil || resp.Status != http.StatusOK {
				t.Errorf("%s: link %q: %v %+v", d.Title, l.Title, err, resp)
			}
		}
		tr, err := d.Range(goldenNow)
		if err != nil {
			t.Fatal(err)
		}
		values := d.CurrentValues(pc.DataSourceInstanceSettings.UID)
		// The variables' own queries answer too, as the dashboard loads.
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			resp := query(t, h, pc, tr, string(v.Query))
			for _, r := range resp.Responses {
				if r.Error != nil || len(r.Frames) == 0 || r.Frames[0].Rows() == 0 {
					t.Errorf("%s: variable %s: %v", d.Title, v.Name, r.Error)
				}
			}
		}
		for _, p := range d.AllPanels() {
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no queries", d.Title, p.Title)
			}
			for _, target := range p.Targets {
				q, err := Interpolate(target, values)
				if err != nil {
					t.Fatal(err)
				}
				resp := query(t, h, pc, tr, string(q))
				r := resp.Responses["A"]
				if r.Error != nil {
					t.Errorf("%s: panel %q: %v", d.Title, p.Title, r.Error)
					continue
				}
				if err := CheckFrames(p.Type, r.Frames); err != nil {
					t.Errorf("%s: panel %q (%s): %v", d.Title, p.Title, p.Type, err)
				}
				checkGolden(t, fmt.Sprintf("%s-%d.json", strings.TrimSuffix(filepath.Base(d.File), ".json"), p.ID), r.Frames)
			}
		}
	}
}

// What goes wrong where captures live keeps the plugin answering, and
// health says what is wrong.
func TestFaultsAreReportedNotFatal(t *testing.T) {
	h := startHost(t)
	dir := t.TempDir()
	captures := filepath.Join(dir, "captures")
	if err := os.MkdirAll(captures, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"truncated.pcap", "rotated-0.pcap"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(), "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(captures, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A link to a capture that is gone (the tests run as root in CI, so a
	// file without read permission would still be read).
	if err := os.Symlink(filepath.Join(dir, "gone.pcap"), filepath.Join(captures, "stuck.pcap")); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	pc, dbPath := provisioned(t, func(j map[string]any) { j["captureDirs"] = []any{captures} })
	callResource(t, h, pc, http.MethodGet, "status", nil)
	st := waitForIngest(t, h, pc, started.Add(-time.Second))
	if len(st.Unread) != 1 || !strings.HasSuffix(st.Unread[0].Path, "stuck.pcap") {
		t.Errorf("unread: %+v", st.Unread)
	}
	health, err := h.CheckHealth(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	if health.Status != backend.HealthStatusOk || !strings.Contains(health.Message, "(1 damaged, 0 unreadable)") ||
		!strings.Contains(health.Message, "1 files could not be read and will be tried again, e.g. "+filepath.Join(captures, "stuck.pcap")) {
		t.Errorf("health with a damaged file and a dangling link: %s %s", health.Status, health.Message)
	}

	// The capture directory disappears (an unmounted share).
	if err := os.RemoveAll(captures); err != nil {
		t.Fatal(err)
	}
	health, err = h.CheckHealth(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	want := "captureDirs: " + captures + " does not exist (or is not mounted into the Grafana server)"
	if health.Status != backend.HealthStatusError || !strings.HasPrefix(health.Message, want) {
		t.Errorf("health without the directory: %s %q, want error %q…", health.Status, health.Message, want)
	}
	before := time.Now()
	callResource(t, h, pc, http.MethodPost, "ingest", nil)
	waitForIngest(t, h, pc, before)
	resp := query(t, h, pc, backend.TimeRange{From: time.Unix(0, 0), To: time.Now()}, `{"queryType":"serverNames"}`)
	if r := resp.Responses["A"]; r.Error != nil || r.Frames[0].Rows() == 0 {
		t.Errorf("queries after the directory went: %v", r.Error)
	}

	// A database that cannot be written: ingest is off, health says why,
	// queries say there is nothing to read yet.
	blocker := filepath.Join(dir, "a-file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pc2, _ := provisioned(t, func(j map[string]any) { j["databasePath"] = filepath.Join(blocker, "saaslens.db") })
	pc2.DataSourceInstanceSettings.UID, pc2.DataSourceInstanceSettings.ID = "other", 2
	health, err = h.CheckHealth(context.Background(), pc2)
	if err != nil {
		t.Fatal(err)
	}
	if health.Status != backend.HealthStatusError || !strings.Contains(health.Message, "databasePath: cannot create the directory of "+filepath.Join(blocker, "saaslens.db")) ||
		!strings.Contains(health.Message, "(scheduled ingest is off)") {
		t.Errorf("health with an unwritable database: %s %q", health.Status, health.Message)
	}
	resp = query(t, h, pc2, backend.TimeRange{From: time.Unix(0, 0), To: time.Now()}, `{"queryType":"usage"}`)
	if r := resp.Responses["A"]; r.Error == nil || !strings.Contains(r.Error.Error(), "no database at") {
		t.Errorf("query without a database: %v", r.Error)
	}
	_ = dbPath

	// Another program's database is neither written nor read: raw SQL
	// cannot reach its tables.
	grafanaDB := filepath.Join(dir, "grafana.db")
	foreign, err := sql.Open("sqlite", grafanaDB)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`CREATE TABLE user (login TEXT, password TEXT)`, `INSERT INTO user VALUES ('admin', 'secret')`, `CREATE TABLE dashboard (data TEXT)`} {
		if _, err := foreign.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	foreign.Close()
	pc7, _ := provisioned(t, func(j map[string]any) { j["databasePath"] = grafanaDB })
	pc7.DataSourceInstanceSettings.UID, pc7.DataSourceInstanceSettings.ID = "seventh", 7
	health, err = h.CheckHealth(context.Background(), pc7)
	if err != nil {
		t.Fatal(err)
	}
	notOurs := "databasePath: store: " + grafanaDB + ": not a SaaSLens database: it holds tables SaaSLens never made (dashboard, user); choose another file"
	if health.Status != backend.HealthStatusError || !strings.HasPrefix(health.Message, notOurs+" (scheduled ingest is off)") {
		t.Errorf("health on another program's database: %s %q", health.Status, health.Message)
	}
	resp = query(t, h, pc7, backend.TimeRange{From: time.Unix(0, 0), To: time.Now()}, `{"queryType":"sql","rawSql":"SELECT login, password FROM user"}`)
	if r := resp.Responses["A"]; r.Error == nil || r.Error.Error() != notOurs || len(r.Frames) != 0 {
		t.Errorf("raw SQL on another program's database: %v %v", r.Error, r.Frames)
	}
	if _, err := os.Stat(grafanaDB + "-wal"); err == nil {
		t.Error("another program's database was switched to WAL")
	}

	// A contracts file with a mistake is named with its line.
	contracts := filepath.Join(dir, "contracts.yaml")
	if err := os.WriteFile(contracts, []byte("contracts:\n  - vendor: Slack\n    seats: -3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pc4, _ := provisioned(t, func(j map[string]any) { j["contractsFile"] = contracts })
	pc4.DataSourceInstanceSettings.UID, pc4.DataSourceInstanceSettings.ID = "fourth", 4
	health, err = h.CheckHealth(context.Background(), pc4)
	if err != nil {
		t.Fatal(err)
	}
	if want := "contractsFile: " + contracts + ":3: seats: must be 0 or more (ingest and queries go on with the version last read, or without it)"; health.Status != backend.HealthStatusError || !strings.HasPrefix(health.Message, want) {
		t.Errorf("health with bad contracts: %s %q, want %q…", health.Status, health.Message, want)
	}

	// So is a catalog file with a mistake.
	catalog := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(catalog, []byte("entries:\n  - {vendor: ACME, product: Wiki, category: wiki, kind: saas, patterns: [wiki.acme.example]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pc5, _ := provisioned(t, func(j map[string]any) { j["catalogFile"] = catalog })
	pc5.DataSourceInstanceSettings.UID, pc5.DataSourceInstanceSettings.ID = "fifth", 5
	health, err = h.CheckHealth(context.Background(), pc5)
	if err != nil {
		t.Fatal(err)
	}
	if want := "catalogFile: " + catalog + `:2: category: "wiki" is not one of the known categories (ingest and queries go on with the version last read, or without it)`; health.Status != backend.HealthStatusError || !strings.HasPrefix(health.Message, want) {
		t.Errorf("health with a bad catalog: %s %q, want %q…", health.Status, health.Message, want)
	}

	// Files that are missing are named too, and neither ingest nor the
	// queries stop: a licences panel says why it has no contracts.
	missing := filepath.Join(dir, "missing")
	started = time.Now()
	pc6, _ := provisioned(t, func(j map[string]any) {
		j["captureDirs"] = []any{filepath.Join(repoRoot(), "testdata")}
		j["contractsFile"], j["inventoryFile"] = filepath.Join(missing, "contracts.yaml"), filepath.Join(missing, "inventory.csv")
	})
	pc6.DataSourceInstanceSettings.UID, pc6.DataSourceInstanceSettings.ID = "sixth", 6
	callResource(t, h, pc6, http.MethodGet, "status", nil)
	waitForIngest(t, h, pc6, started.Add(-time.Second))
	health, err = h.CheckHealth(context.Background(), pc6)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"contractsFile: contracts: stat " + filepath.Join(missing, "contracts.yaml") + ": no such file or directory (ingest and queries go on",
		"inventoryFile: inventory: stat " + filepath.Join(missing, "inventory.csv") + ": no such file or directory (ingest and queries go on",
		"Stored so far: 12 capture files",
	} {
		if health.Status != backend.HealthStatusError || !strings.Contains(health.Message, want) {
			t.Errorf("health with missing files: %s %q, want …%s…", health.Status, health.Message, want)
		}
	}
	resp = query(t, h, pc6, backend.TimeRange{From: time.Unix(0, 0), To: time.Now()}, `{"queryType":"licences"}`)
	if r := resp.Responses["A"]; r.Error != nil || len(r.Frames) != 1 || !slices.ContainsFunc(r.Frames[0].Meta.Notices, func(n data.Notice) bool {
		return n.Severity == data.NoticeSeverityWarning && n.Text == "no contracts to answer from: contractsFile: contracts: stat "+filepath.Join(missing, "contracts.yaml")+": no such file or directory"
	}) {
		t.Errorf("licences without the contracts file: %v %+v", r.Error, r.Frames)
	}
	resp = query(t, h, pc6, backend.TimeRange{From: time.Unix(0, 0), To: time.Now()}, `{"queryType":"serverNames"}`)
	if r := resp.Responses["A"]; r.Error != nil || r.Frames[0].Rows() == 0 {
		t.Errorf("queries without the contracts file: %v", r.Error)
	}

	// A bad setting names itself.
	pc3, _ := provisioned(t, func(j map[string]any) { j["ingestInterval"] = "often" })
	pc3.DataSourceInstanceSettings.UID, pc3.DataSourceInstanceSettings.ID = "third", 3
	health, err = h.CheckHealth(context.Background(), pc3)
	if err != nil {
		t.Fatal(err)
	}
	if want := `ingestInterval: "often" is not a duration: write it like 30s, 5m or 1h`; health.Status != backend.HealthStatusError || health.Message != want {
		t.Errorf("health with a bad interval: %s %q, want %q", health.Status, health.Message, want)
	}
	if h.Exited() {
		t.Fatal("the plugin process exited")
	}
}

// A database deleted while the plugin runs is noticed: health says so,
// the plugin makes it anew from the captures on disk, and says which
// captures could not come back.
func TestDeletedDatabaseIsMadeAnew(t *testing.T) {
	h := startHost(t)
	captures := t.TempDir()
	for _, name := range []string{"tunnels.pcap", "vlan-qinq.pcap", "lan.pcap.gz"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(), "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(captures, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pc, dbPath := ingested(t, h, func(j map[string]any) { j["captureDirs"] = []any{captures} })
	streams := func() int64 {
		t.Helper()
		resp := query(t, h, pc, backend.TimeRange{From: time.Unix(0, 0), To: time.Now()}, `{"queryType":"sql","rawSql":"SELECT count(*) AS n FROM streams"}`)
		r := resp.Responses["A"]
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		return *r.Frames[0].Fields[0].At(0).(*int64)
	}
	before := streams()
	lanStreams := int64(3)
	if err := os.Remove(filepath.Join(captures, "lan.pcap.gz")); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	health, err := h.CheckHealth(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	deleted := "databasePath: store: " + dbPath + ": the database file was deleted or replaced while in use (deleted)"
	if health.Status != backend.HealthStatusError || !strings.Contains(health.Message, deleted+"; it is being made anew from the captures on disk") {
		t.Errorf("health after the deletion: %s %q", health.Status, health.Message)
	}
	// The next run notices, and the run after it, over the new database,
	// turns health back to OK.
	callResource(t, h, pc, http.MethodPost, "ingest", nil)
	deadline := time.Now().Add(time.Minute)
	for health.Status != backend.HealthStatusOk && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if health, err = h.CheckHealth(context.Background(), pc); err != nil {
			t.Fatal(err)
		}
	}
	lost := "it was made anew from the captures on disk, but 1 captures it held are no longer on disk and their rows are lost (" + filepath.Join(captures, "lan.pcap.gz") + ")"
	if health.Status != backend.HealthStatusOk || !strings.Contains(health.Message, deleted) || !strings.Contains(health.Message, lost) {
		t.Errorf("health once made anew: %s %q", health.Status, health.Message)
	}
	if _, err := os.Stat(dbPath); err != nil {
		t.Fatalf("no database after the run: %v", err)
	}
	if got := streams(); got != before-lanStreams {
		t.Errorf("%d streams after the database was made anew, want %d (%d less those of the capture gone)", got, before-lanStreams, before)
	}
}

// Changed settings make Grafana replace the instance; the old one is
// disposed seconds later, while the new one already wants to ingest. The
// new one waits for the database and then runs.
func TestSettingsChangeHandsTheDatabaseOver(t *testing.T) {
	h := startHost(t)
	pc, _ := ingested(t, h, nil)
	changed := time.Now()
	pc.DataSourceInstanceSettings.Updated = changed
	var j map[string]any
	if err := json.Unmarshal(pc.DataSourceInstanceSettings.JSONData, &j); err != nil {
		t.Fatal(err)
	}
	j["retentionDays"] = 3650
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	pc.DataSourceInstanceSettings.JSONData = b
	st := waitForIngest(t, h, pc, changed.Add(-time.Second))
	if st.LastRun.Error != "" {
		t.Errorf("the new instance's first run: %s", st.LastRun.Error)
	}
	health, err := h.CheckHealth(context.Background(), pc)
	if err != nil || health.Status != backend.HealthStatusOk {
		t.Errorf("health after the change: %v %+v", err, health)
	}
	keys := make([]string, 0, len(j))
	for k := range j {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"captureDirs", "contractsFile", "databasePath", "homeCountry", "ingestInterval", "inventoryFile", "reportDir", "retentionDays", "settle", "storePackets", "timeZone"}, keys); diff != "" {
		t.Errorf("provisioned settings (-want +got):\n%s", diff)
	}
}

// The example classifier plugin, built and run as the settings say: its
// answers come before the contracts and the catalog; a binary whose
// checksum is not the configured one never runs, and its names fall back.
func TestClassifierPluginAsConfigured(t *testing.T) {
	h := startHost(t)
	pluginDir := t.TempDir()
	bin := filepath.Join(pluginDir, "classifier-csv")
	build := exec.Command("go", "build", "-o", bin, "./examples/classifier-csv")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	tenants := "pattern,vendor,product,category\nacme.cybozu.com,Cybozu,kintone (ACME),productivity\n"
	if err := os.WriteFile(filepath.Join(pluginDir, "tenants.csv"), []byte(tenants), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	captures := t.TempDir()
	office, err := os.ReadFile(filepath.Join(repoRoot(), "testdata", "office.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(captures, "office.pcap.gz"), office, 0o644); err != nil {
		t.Fatal(err)
	}
	products := func(pc backend.PluginContext) map[string]string {
		t.Helper()
		resp := query(t, h, pc, backend.TimeRange{From: time.Unix(0, 0), To: time.Now()}, `{"queryType":"serverNames","limit":100}`)
		r := resp.Responses["A"]
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		names, _ := r.Frames[0].FieldByName("server_name")
		vendors, _ := r.Frames[0].FieldByName("vendor")
		prods, _ := r.Frames[0].FieldByName("product")
		out := map[string]string{}
		for i := 0; i < names.Len(); i++ {
			n := *names.At(i).(*string)
			if n == "acme.cybozu.com" || n == "wiki.acme.internal" || n == "teams.microsoft.com" {
				out[n] = *vendors.At(i).(*string) + " / " + *prods.At(i).(*string)
			}
		}
		return out
	}
	for _, c := range []struct {
		uid, sha string
		want     map[string]string
		health   string
	}{
		{"with-plugin", hex.EncodeToString(sum[:]), map[string]string{
			"acme.cybozu.com":     "Cybozu / kintone (ACME)",
			"wiki.acme.internal":  "Internal / wiki.acme",
			"teams.microsoft.com": "Microsoft / Microsoft Teams",
		}, "SaaSLens: 1 capture files"},
		{"wrong-checksum", strings.Repeat("0", 64), map[string]string{
			"acme.cybozu.com":     "Cybozu / kintone",
			"wiki.acme.internal":  "ACME / Internal wiki", // the provisioned example contracts
			"teams.microsoft.com": "Microsoft / Microsoft Teams",
		}, "last ingest failed: store: classify: classifier plugin " + bin + ": checksum does not match: the binary's SHA-256 is " + hex.EncodeToString(sum[:])},
	} {
		t.Run(c.uid, func(t *testing.T) {
			started := time.Now()
			pc, _ := provisioned(t, func(j map[string]any) {
				j["captureDirs"] = []any{captures}
				j["classifierPlugins"] = []any{map[string]any{"path": bin, "sha256": c.sha}}
			})
			pc.DataSourceInstanceSettings.UID = c.uid
			callResource(t, h, pc, http.MethodGet, "status", nil)
			waitForIngest(t, h, pc, started.Add(-time.Second))
			if diff := cmp.Diff(c.want, products(pc)); diff != "" {
				t.Errorf("vendor / product (-want +got):\n%s", diff)
			}
			health, err := h.CheckHealth(context.Background(), pc)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(health.Message, c.health) {
				t.Errorf("health %s %q, want …%s…", health.Status, health.Message, c.health)
			}
		})
	}
}

// volatileFields change from run to run (when a file was ingested, how
// long it took), so golden responses leave them out.
var volatileFields = map[string]bool{"ingested_time": true, "ingested_at": true, "ingest_ns": true, "elapsed": true}

// checkGolden compares frames, as JSON, with testdata/golden/name. Paths
// of this machine read $REPO and $SHARED, and the SQL each frame ran is
// left out: the answer is what is golden, not how it was found. Only with
// the shared captures present: without them the answers are others.
func checkGolden(t *testing.T, name string, frames data.Frames) {
	t.Helper()
	if _, err := os.Stat(sharedtest.Dir()); err != nil {
		return
	}
	var out bytes.Buffer
	for _, f := range frames {
		stable := data.NewFrame(f.Name)
		if f.Meta != nil {
			meta := *f.Meta
			meta.ExecutedQueryString = ""
			stable.Meta = &meta
		}
		for _, field := range f.Fields {
			if volatileFields[field.Name] {
				zeroed := data.NewFieldFromFieldType(field.Type(), field.Len())
				zeroed.Name, zeroed.Labels, zeroed.Config = field.Name, field.Labels, field.Config
				field = zeroed
			}
			stable.Fields = append(stable.Fields, field)
		}
		b, err := data.FrameToJSON(stable, data.IncludeAll)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Indent(&out, b, "", " "); err != nil {
			t.Fatal(err)
		}
		out.WriteString("\n")
	}
	var paths []string
	for dir, name := range map[string]string{sharedtest.Dir(): "$SHARED", repoRoot(): "$REPO"} {
		paths = append(paths, filepath.Clean(dir), name)
		if real, err := filepath.EvalSymlinks(dir); err == nil && real != filepath.Clean(dir) {
			paths = append(paths, real, name)
		}
	}
	got := strings.NewReplacer(paths...).Replace(out.String())
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v (go test ./pkg/internal/grafanahost -run TestEveryDashboardPanelHasData -update writes it)", name, err)
		return
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from its golden response (-want +got):\n%s", name, diff)
	}
}

// Two months of generated captures: once ingest has passed March's end,
// March's report is in reportDir and the report resource serves it; a
// month named in the request is made on demand, a malformed one refused.
func TestMonthlyReportIsWrittenAndServed(t *testing.T) {
	h := startHost(t)
	captures := t.TempDir()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	m := fixture.Month{Devices: 4, First: time.Date(2026, 2, 16, 0, 0, 0, 0, tokyo), Days: 48, Location: tokyo, Sessions: 2}
	if _, err := m.WriteMonth(captures); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	pc, dbPath := provisioned(t, func(j map[string]any) {
		j["captureDirs"] = []any{captures}
		j["timeZone"] = "Asia/Tokyo"
		j["reportLanguage"] = "en"
	})
	callResource(t, h, pc, http.MethodGet, "status", nil)
	waitForIngest(t, h, pc, started.Add(-time.Second))
	st := waitForReport(t, h, pc)
	written := filepath.Join(filepath.Dir(dbPath), "reports", "saaslens-2026-03.html")
	if st.LastReport == nil || st.LastReport.Path != written || st.LastReport.Error != "" {
		t.Fatalf("status after ingest: last report %+v, want %s written", st.LastReport, written)
	}
	page, err := os.ReadFile(written)
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(filepath.Dir(written)); err != nil || len(entries) != 1 {
		t.Errorf("reportDir holds %v (%v), want March's report alone", entries, err)
	}
	get := func(path string) (int, string, []byte) {
		t.Helper()
		bare, _, _ := strings.Cut(path, "?")
		resp, err := h.CallResource(context.Background(), &backend.CallResourceRequest{PluginContext: pc, Method: http.MethodGet, Path: bare, URL: path})
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var kind string
		if v := resp.Headers["Content-Type"]; len(v) > 0 {
			kind = v[0]
		}
		return resp.Status, kind, resp.Body
	}
	status, kind, body := get("report")
	if status != http.StatusOK || kind != "text/html; charset=utf-8" || !bytes.Equal(body, page) {
		t.Errorf("GET report: %d %q, %d bytes; want 200 HTML, the %d bytes written", status, kind, len(body), len(page))
	}
	status, _, body = get("report?month=2026-02")
	if status != http.StatusOK || !bytes.Contains(body, []byte("February 2026")) {
		t.Errorf("GET report?month=2026-02: %d, February 2026 in the page: %t", status, bytes.Contains(body, []byte("February 2026")))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(written), "saaslens-2026-02.html")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a report made on demand is written too: %v", err)
	}
	status, _, body = get("report?month=March")
	if want := `{"error":"month \"March\": write it as YYYY-MM, like 2026-03"}`; status != http.StatusBadRequest || strings.TrimSpace(string(body)) != want {
		t.Errorf("GET report?month=March: %d %s, want 400 %s", status, body, want)
	}
	health, err := h.CheckHealth(context.Background(), pc)
	if err != nil || health.Status != backend.HealthStatusOk {
		t.Errorf("health: %v %+v", err, health)
	}

	// A reportDir that cannot be made is the health check's error; ingest
	// goes on.
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	pc.DataSourceInstanceSettings.Updated = changed
	var j map[string]any
	if err := json.Unmarshal(pc.DataSourceInstanceSettings.JSONData, &j); err != nil {
		t.Fatal(err)
	}
	j["reportDir"] = filepath.Join(blocker, "reports")
	if pc.DataSourceInstanceSettings.JSONData, err = json.Marshal(j); err != nil {
		t.Fatal(err)
	}
	waitForIngest(t, h, pc, changed.Add(-time.Second))
	st = waitForReport(t, h, pc)
	if st.LastRun.Error != "" || st.LastReport == nil {
		t.Fatalf("status with reportDir under a file: run %+v, report %+v", st.LastRun, st.LastReport)
	}
	wantErr := "reportDir: the report for 2026-03 could not be written: mkdir " + blocker + ": not a directory"
	if st.LastReport.Error != wantErr {
		t.Errorf("report error %q, want %q", st.LastReport.Error, wantErr)
	}
	if health, err = h.CheckHealth(context.Background(), pc); err != nil || health.Status != backend.HealthStatusError || !strings.Contains(health.Message, wantErr) {
		t.Errorf("health with reportDir under a file: %v %s %q", err, health.Status, health.Message)
	}
}
