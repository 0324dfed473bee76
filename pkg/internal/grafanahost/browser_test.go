package grafanahost

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/saaslens/saaslens/pkg/plugin"
	"github.com/saaslens/saaslens/pkg/store"
)

// editorRun is what the host page saw of one query run.
type editorRun struct {
	Query map[string]any `json:"query"`
	// Skipped is a run the datasource's filterQuery refused, as Grafana's
	// query runner leaves such queries out.
	Skipped bool          `json:"skipped"`
	Error   string        `json:"error"`
	Frames  []editorFrame `json:"frames"`
}

type editorFrame struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
	Rows   int      `json:"rows"`
}

// editorsResult is scripts/browser/editors.mjs's editors.json.
type editorsResult struct {
	Failure        string   `json:"failure"`
	Console        []string `json:"console"`
	FailedRequests []string `json:"failedRequests"`
	Screenshots    []string `json:"screenshots"`
	Steps          []struct {
		Step     string         `json:"step"`
		Type     string         `json:"type"`
		Name     string         `json:"name"`
		JSONData map[string]any `json:"jsonData"`
		Emitted  map[string]any `json:"emitted"`
		Offered  []string       `json:"offered"`
		// Completions are what Monaco's suggest widget listed.
		Completions []string `json:"completions"`
		// TagKeys and TagValues are what getTagKeys and getTagValues
		// gave, Filters the ad hoc filters a query then ran with.
		TagKeys   []map[string]string `json:"tagKeys"`
		TagValues []map[string]string `json:"tagValues"`
		Filters   []map[string]string `json:"filters"`
		// Errors are a dashboard's panels that failed.
		Errors []string  `json:"errors"`
		Run    editorRun `json:"run"`
		Values struct {
			Error  string   `json:"error"`
			Values []string `json:"values"`
		} `json:"values"`
	} `json:"steps"`
}

// The built frontend, loaded as Grafana loads a plugin (dist/module.js
// through SystemJS, with the npm packages of @grafana/* and React as the
// host's shared modules), renders its editors in Chromium, and what a user
// does in them emits the settings and queries the backend answers: every
// call goes through the Bridge to the plugin binary.
func TestEditorsInABrowser(t *testing.T) {
	root := repoRoot()
	required := os.Getenv("SAASLENS_BROWSER_REQUIRED") == "1"
	for _, need := range []struct{ path, how string }{
		{filepath.Join(root, "dist", "module.js"), "npm run build"},
		{filepath.Join(root, "test-output", "browser-host", "host.js"), "npm run build:host"},
		{filepath.Join(root, "node_modules", "playwright-core"), "npm ci"},
		{"/usr/bin/chromium", "apt-get install chromium"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			if required {
				t.Fatalf("%s is missing (%s makes it); SAASLENS_BROWSER_REQUIRED=1", need.path, need.how)
			}
			t.Skipf("%s is missing: run %s (scripts/test.sh does) to drive the editors in a browser", need.path, need.how)
		}
	}

	h := startHost(t)
	pc, dbPath := ingested(t, h, onlyTestdata)
	db, err := store.OpenReader(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var first, last int64
	if err := db.SQL().QueryRow(`SELECT min(first), max(last) FROM streams`).Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	db.Close()
	uid := pc.DataSourceInstanceSettings.UID
	// The settings page shows the provisioned settings as a user's Grafana
	// would (paths as the container sees them); the backend runs on this
	// machine's. The frontend reads no path.
	sources, err := ProvisionedDatasources(filepath.Join(root, "provisioning", "datasources"))
	if err != nil {
		t.Fatal(err)
	}
	jsonData := sources[0].JSONData
	from, to := time.Unix(0, first).Truncate(time.Hour), time.Unix(0, last).Truncate(time.Hour).Add(time.Hour)
	pluginPath := "/public/plugins/" + plugin.ID
	settings, err := json.Marshal(map[string]any{"uid": uid, "pluginId": plugin.ID, "pluginPath": pluginPath,
		"jsonData": jsonData, "from": from.UnixMilli(), "to": to.UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/api/", &Bridge{Host: h, UID: uid, PluginContext: pc})
	mux.Handle(pluginPath+"/", http.StripPrefix(pluginPath+"/", http.FileServer(http.Dir(filepath.Join(root, "dist")))))
	mux.Handle("/systemjs/", http.StripPrefix("/systemjs/", http.FileServer(http.Dir(filepath.Join(root, "node_modules", "systemjs", "dist")))))
	// @grafana/ui's icons, where Grafana's server keeps them.
	mux.Handle("/public/build/img/", http.StripPrefix("/public/build/img/", http.FileServer(http.Dir(filepath.Join(root, "node_modules", "@grafana", "ui", "dist", "public", "img")))))
	mux.HandleFunc("/harness/settings.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(settings)
	})
	mux.HandleFunc("/harness/dashboard/{uid}", func(w http.ResponseWriter, r *http.Request) {
		b, err := dashboardView(strings.TrimSuffix(r.PathValue("uid"), ".json"), uid)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	mux.Handle("/harness/", http.StripPrefix("/harness/", http.FileServer(http.Dir(filepath.Join(root, "test-output", "browser-host")))))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(root, "scripts", "browser", "editors", "index.html"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	out := filepath.Join(root, "test-output", "editors")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "scripts", "browser", "editors.mjs"), srv.URL+"/", out)
	cmd.Dir = root
	output, runErr := cmd.CombinedOutput()
	b, err := os.ReadFile(filepath.Join(out, "editors.json"))
	if err != nil {
		t.Fatalf("editors.mjs: %v, wrote no result: %v\n%s", runErr, err, output)
	}
	var got editorsResult
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", filepath.Join(out, "editors.json"), err)
	}
	if got.Failure != "" || runErr != nil {
		t.Fatalf("editors.mjs: %v: %s\nconsole errors: %q\nfailed requests: %q", runErr, got.Failure, got.Console, got.FailedRequests)
	}
	for _, f := range got.FailedRequests {
		// Grafana's server has the Inter font its theme asks for and the
		// spinner icon, which @grafana/ui's package does not carry: the
		// browser falls back to another font, and the spinner is blank.
		if !strings.Contains(f, "/public/fonts/") && !strings.Contains(f, "/icons/unicons/spinner.svg") {
			t.Errorf("request failed: %s", f)
		}
	}

	var meta plugin.Meta
	callResource(t, h, pc, http.MethodGet, "meta", &meta)
	tr := backend.TimeRange{From: from, To: to}
	var typesRun []string
	var sawFilter, sawSQL, sawAdhoc bool
	var variablesListed, annotationsRun []string
	for _, s := range got.Steps {
		switch s.Step {
		case "config":
			want := map[string]any{}
			for k, v := range jsonData {
				want[k] = v
			}
			want["ingestInterval"] = "5m"
			want["captureDirs"] = []any{"/var/captures/office", "/var/captures/branch"}
			want["retentionDays"] = float64(90)
			want["reportLanguage"] = "ja"
			if diff := cmp.Diff(want, s.JSONData); diff != "" {
				t.Errorf("settings emitted (-want +got):\n%s", diff)
			}
		case "queryType":
			typesRun = append(typesRun, s.Type)
			if s.Emitted["queryType"] != s.Type || s.Run.Query["queryType"] != s.Type {
				t.Errorf("picking %s emitted %v and ran %v", s.Type, s.Emitted, s.Run.Query)
			}
			if s.Type == "sql" {
				// Picked, the SQL type has no SQL yet: nothing runs.
				if !s.Run.Skipped {
					t.Errorf("picking sql ran %v, want it left out until it has SQL", s.Run.Query)
				}
				continue
			}
			checkRunAsBackend(t, h, pc, tr, s.Type, s.Run)
		case "filter":
			sawFilter = true
			var services []struct{ Text, Value string }
			callResource(t, h, pc, http.MethodGet, fmt.Sprintf("services?from=%d&to=%d", from.UnixMilli(), to.UnixMilli()), &services)
			if len(services) == 0 || len(s.Offered) != len(services) || s.Offered[0] != services[0].Text {
				t.Errorf("the services picker offered %q; the backend lists %+v", s.Offered, services)
			} else if want := []any{services[0].Value}; !cmp.Equal(s.Emitted["services"], want) {
				t.Errorf("picking %q emitted services %v, want %v", s.Offered[0], s.Emitted["services"], want)
			}
			checkRunAsBackend(t, h, pc, tr, "filter", s.Run)
		case "sql":
			sawSQL = true
			if raw, _ := s.Emitted["rawSql"].(string); s.Emitted["queryType"] != "sql" || !strings.HasPrefix(raw, "SELECT server_name, count(*) AS streams FROM streams WHERE $__timeFilter(first)") {
				t.Errorf("typing SQL emitted %v", s.Emitted)
			}
			if !slices.ContainsFunc(s.Completions, func(c string) bool { return strings.HasPrefix(c, "streams") }) {
				t.Errorf("completing \"stre\" offered %q, want the streams table", s.Completions)
			}
			checkRunAsBackend(t, h, pc, tr, "sql", s.Run)
			if len(s.Run.Frames) != 1 || s.Run.Frames[0].Rows != 5 {
				t.Errorf("the typed SQL gave %+v, want one frame of 5 rows", s.Run.Frames)
			}
		case "adhoc":
			sawAdhoc = true
			var keys, values []map[string]string
			callResource(t, h, pc, http.MethodGet, "tagKeys", &keys)
			callResource(t, h, pc, http.MethodGet, fmt.Sprintf("tagValues?key=department&from=%d&to=%d", from.UnixMilli(), to.UnixMilli()), &values)
			if !cmp.Equal(keys, s.TagKeys) || !cmp.Equal(values, s.TagValues) || len(values) == 0 {
				t.Errorf("getTagKeys gave %v, getTagValues(department) %v; the backend %v and %v", s.TagKeys, s.TagValues, keys, values)
			}
			want := []any{map[string]any{"key": "department", "operator": "=", "value": s.Filters[0]["value"]}}
			if !slices.ContainsFunc(values, func(v map[string]string) bool { return v["value"] == s.Filters[0]["value"] }) || !cmp.Equal(s.Run.Query["adhocFilters"], want) {
				t.Errorf("the query ran with adhocFilters %v, want %v", s.Run.Query["adhocFilters"], want)
			}
			checkRunAsBackend(t, h, pc, tr, "adhoc", s.Run)
		case "annotation":
			annotationsRun = append(annotationsRun, s.Name)
			if s.Emitted["queryType"] != "annotations" || s.Emitted["events"] != s.Name {
				t.Errorf("picking %s annotations emitted %v", s.Name, s.Emitted)
			}
			checkRunAsBackend(t, h, pc, tr, "annotation "+s.Name, s.Run)
		case "variable":
			variablesListed = append(variablesListed, s.Name)
			if s.Emitted["variable"] != s.Name {
				t.Errorf("picking the %s list emitted %v", s.Name, s.Emitted)
			}
			resp := query(t, h, pc, tr, fmt.Sprintf(`{"queryType":"variable","variable":%q}`, s.Name))
			var want []string
			if frames := resp.Responses["A"].Frames; len(frames) == 1 && len(frames[0].Fields) > 0 {
				for i := range frames[0].Fields[0].Len() {
					v, _ := frames[0].Fields[0].ConcreteAt(i)
					want = append(want, fmt.Sprint(v))
				}
			}
			if s.Values.Error != "" || !cmp.Equal(s.Values.Values, want) {
				t.Errorf("variable %s listed %q (error %q), the backend %q", s.Name, s.Values.Values, s.Values.Error, want)
			}
		}
	}
	var wantTypes, wantVariables []string
	for _, qt := range meta.QueryTypes {
		if !qt.Internal {
			wantTypes = append(wantTypes, qt.Name)
		}
	}
	for _, v := range meta.Variables {
		wantVariables = append(wantVariables, v.Name)
	}
	slices.Sort(typesRun)
	slices.Sort(wantTypes)
	slices.Sort(variablesListed)
	slices.Sort(wantVariables)
	if diff := cmp.Diff(wantTypes, typesRun); diff != "" {
		t.Errorf("query types picked in the browser (-meta +picked):\n%s", diff)
	}
	if diff := cmp.Diff(wantVariables, variablesListed); diff != "" {
		t.Errorf("variable lists picked in the browser (-meta +picked):\n%s", diff)
	}
	slices.Sort(annotationsRun)
	if diff := cmp.Diff([]string{"captureProblems", "coverageGaps", "newVendors"}, annotationsRun); diff != "" {
		t.Errorf("annotation events picked in the browser (-want +picked):\n%s", diff)
	}
	if !sawFilter || !sawSQL || !sawAdhoc {
		t.Errorf("the filter step ran: %v, the SQL step: %v, the ad hoc step: %v", sawFilter, sawSQL, sawAdhoc)
	}
	for _, s := range got.Steps {
		if s.Step == "dashboard" && len(s.Errors) > 0 {
			t.Errorf("dashboard %s: panels failed: %q", s.Name, s.Errors)
		}
	}
	for _, name := range []string{"config-editor", "query-usage", "query-sql-completion", "query-sql-typed", "variable-editor", "annotation-editor",
		"dashboard-saaslens-overview", "dashboard-saaslens-performance", "dashboard-saaslens-licences", "dashboard-saaslens-devices"} {
		if st, err := os.Stat(filepath.Join(out, name+".png")); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s.png: %v", name, err)
		}
	}
	if len(got.Console) > 0 {
		t.Errorf("the page logged errors: %q", got.Console)
	}
}

// dashboardRanges are the ranges the dashboard screenshots show of the
// sample captures: the office's day, and its month for the licences.
var dashboardRanges = map[string][2]time.Time{
	"saaslens-overview":    {time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC), time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)},
	"saaslens-performance": {time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC), time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)},
	"saaslens-devices":     {time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC), time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)},
	"saaslens-licences":    {time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC)},
}

// dashboardView is a bundled dashboard as the host page draws it: its
// time series and table panels with their targets, the variables at their
// current values.
func dashboardView(dashboardUID, datasourceUID string) ([]byte, error) {
	dashboards, err := LoadDashboards(filepath.Join(repoRoot(), "provisioning", "dashboards"))
	if err != nil {
		return nil, err
	}
	rng, ok := dashboardRanges[dashboardUID]
	for _, d := range dashboards {
		if d.UID != dashboardUID || !ok {
			continue
		}
		values := d.CurrentValues(datasourceUID)
		type panel struct {
			Title       string            `json:"title"`
			Type        string            `json:"type"`
			GridPos     any               `json:"gridPos"`
			FieldConfig json.RawMessage   `json:"fieldConfig,omitempty"`
			Targets     []json.RawMessage `json:"targets"`
		}
		var panels []panel
		for _, p := range d.AllPanels() {
			if p.Type != "timeseries" && p.Type != "table" {
				continue
			}
			out := panel{Title: p.Title, Type: p.Type, GridPos: p.GridPos, FieldConfig: p.FieldConfig}
			for _, target := range p.Targets {
				q, err := Interpolate(target, values)
				if err != nil {
					return nil, err
				}
				out.Targets = append(out.Targets, q)
			}
			panels = append(panels, out)
		}
		return json.Marshal(map[string]any{"title": d.Title, "from": rng[0].UnixMilli(), "to": rng[1].UnixMilli(), "panels": panels})
	}
	return nil, fmt.Errorf("no dashboard %q with a range to show", dashboardUID)
}

// checkRunAsBackend asks the backend the query the editor ran and compares
// the frames: the browser's run went through DataSourceWithBackend, the
// Bridge and the plugin, and must show what the plugin answers.
func checkRunAsBackend(t *testing.T, h *Host, pc backend.PluginContext, tr backend.TimeRange, step string, run editorRun) {
	t.Helper()
	if run.Skipped {
		t.Errorf("%s: the browser did not run %v", step, run.Query)
		return
	}
	if run.Error != "" {
		t.Errorf("%s: the run in the browser failed: %s", step, run.Error)
		return
	}
	q, err := json.Marshal(run.Query)
	if err != nil {
		t.Fatal(err)
	}
	resp := query(t, h, pc, tr, string(q))
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Errorf("%s: the backend refuses %s: %v", step, q, r.Error)
		return
	}
	var want []editorFrame
	for _, f := range r.Frames {
		ef := editorFrame{Name: f.Name, Rows: f.Rows()}
		for _, field := range f.Fields {
			ef.Fields = append(ef.Fields, field.Name)
		}
		want = append(want, ef)
	}
	if diff := cmp.Diff(want, run.Frames); diff != "" {
		t.Errorf("%s: frames in the browser against the backend's for %s (-backend +browser):\n%s", step, q, diff)
	}
}
