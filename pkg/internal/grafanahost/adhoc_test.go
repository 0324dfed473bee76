package grafanahost

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/saaslens/saaslens/pkg/plugin"
)

// A dashboard-wide ad hoc filter "department = Sales" narrows every panel
// of the bundled dashboards that reads filters exactly as the panel's own
// departments filter would, and the panels it cannot narrow (a contract's
// seats, raw SQL) say so. The backend applies it, so an alert rule over
// the same query sees the same.
func TestAdhocFilterNarrowsEveryPanel(t *testing.T) {
	h := startHost(t)
	pc, _ := ingested(t, h, nil)

	var keys []map[string]string
	callResource(t, h, pc, http.MethodGet, "tagKeys", &keys)
	var gotKeys []string
	for _, k := range keys {
		gotKeys = append(gotKeys, k["text"])
	}
	if diff := cmp.Diff([]string{"vendor", "product", "category", "service", "device", "user", "department", "client", "country", "kind"}, gotKeys); diff != "" {
		t.Errorf("tag keys (-want +got):\n%s", diff)
	}
	var departments []struct{ Text, Value string }
	callResource(t, h, pc, http.MethodGet, "tagValues?key=department", &departments)
	if !slices.ContainsFunc(departments, func(c struct{ Text, Value string }) bool { return c.Value == "Sales" }) {
		t.Fatalf("tag values of department: %+v, want Sales among them", departments)
	}
	var meta plugin.Meta
	callResource(t, h, pc, http.MethodGet, "meta", &meta)
	readsFilters := map[string]bool{}
	for _, qt := range meta.QueryTypes {
		readsFilters[qt.Name] = slices.Contains(qt.Options, "departments")
	}

	dashboards, err := LoadDashboards(filepath.Join(repoRoot(), "provisioning", "dashboards"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dashboards {
		if !slices.ContainsFunc(d.Templating.List, func(v Variable) bool { return v.Type == "adhoc" }) {
			t.Errorf("%s: no ad hoc filter variable", d.Title)
		}
	}
	panels := panelQueries(t, dashboards, pc.DataSourceInstanceSettings.UID)
	sales := []any{map[string]any{"key": "department", "operator": "=", "value": "Sales"}}
	narrowed, noted := 0, 0
	for _, p := range panels {
		plain := frames(t, p.name, query(t, h, pc, p.tr, string(p.raw)))
		adhoc := frames(t, p.name+" with department = Sales", query(t, h, pc, p.tr, with(t, p.model, "adhocFilters", sales)))
		if !readsFilters[p.model["queryType"].(string)] {
			if len(adhoc) != 1 || adhoc[0].Meta == nil || len(adhoc[0].Meta.Notices) == 0 {
				t.Errorf("%s: an ad hoc filter it cannot apply leaves no notice", p.name)
			} else {
				noted++
			}
			continue
		}
		if own, ok := p.model["departments"]; ok && !cmp.Equal(own, []any{"*"}) {
			t.Fatalf("%s: departments %v; the test wants them at All", p.name, own)
		}
		want := frames(t, p.name+" with departments [Sales]", query(t, h, pc, p.tr, with(t, p.model, "departments", []any{"Sales"})))
		if diff := cmp.Diff(frameValues(t, want), frameValues(t, adhoc)); diff != "" {
			t.Errorf("%s: the ad hoc filter against the panel's own filter (-own +adhoc):\n%s", p.name, diff)
		}
		if !cmp.Equal(frameValues(t, plain), frameValues(t, adhoc)) {
			narrowed++
		}
	}
	if narrowed < 10 || noted == 0 {
		t.Errorf("department = Sales changed %d panels and was noted on %d: the sample captures should show both", narrowed, noted)
	}

	// A server country keeps what was served from there: geo's rows of
	// that country, and in every other panel the services reached at
	// servers there, as geo places them.
	var countries []struct{ Text, Value string }
	callResource(t, h, pc, http.MethodGet, "tagValues?key=country", &countries)
	if len(countries) < 2 {
		t.Fatalf("tag values of country: %+v", countries)
	}
	country := countries[0].Value
	all := backend.TimeRange{From: goldenNow.AddDate(-30, 0, 0), To: goldenNow}
	var served []any
	geoRows := frames(t, "geo by service", query(t, h, pc, all, `{"queryType":"geo","groupBy":"service","limit":50000}`))[0]
	for i := range geoRows.Rows() {
		if geoRows.Fields[1].At(i) == country && !slices.Contains(served, geoRows.Fields[0].At(i)) {
			served = append(served, geoRows.Fields[0].At(i))
		}
	}
	byCountry := []any{map[string]any{"key": "country", "operator": "=", "value": country}}
	checked := 0
	for _, p := range panels {
		name := fmt.Sprintf("%s with country = %s", p.name, country)
		if !readsFilters[p.model["queryType"].(string)] {
			continue
		}
		adhoc := frames(t, name, query(t, h, pc, all, with(t, p.model, "adhocFilters", byCountry)))
		if p.model["queryType"] == "geo" {
			c, _ := adhoc[0].FieldByName("country")
			for i := range adhoc[0].Rows() {
				if c.At(i) != country {
					t.Errorf("%s: a row of %v", name, c.At(i))
				}
			}
			continue
		}
		if own, ok := p.model["services"]; ok && !cmp.Equal(own, []any{"*"}) {
			t.Fatalf("%s: services %v; the test wants them at All", name, own)
		}
		want := frames(t, name, query(t, h, pc, all, with(t, p.model, "services", served)))
		if diff := cmp.Diff(frameValues(t, want), frameValues(t, adhoc)); diff != "" {
			t.Errorf("%s against the services served from there (-services +adhoc):\n%s", name, diff)
		}
		checked++
	}
	if checked < 10 || len(served) == 0 {
		t.Errorf("country = %s: %d panels checked, %d services served from there", country, checked, len(served))
	}

	// What cannot be applied is refused, not ignored.
	for _, bad := range []map[string]any{
		{"key": "colour", "operator": "=", "value": "red"},
		{"key": "vendor", "operator": "=~", "value": "Micro.*"},
	} {
		r := query(t, h, pc, backend.TimeRange{From: goldenNow.Add(-time.Hour), To: goldenNow},
			with(t, map[string]any{"queryType": "usage"}, "adhocFilters", []any{bad})).Responses["A"]
		if r.Error == nil || r.Status != backend.StatusBadRequest {
			t.Errorf("ad hoc filter %v: %v (status %d), want it refused", bad, r.Error, r.Status)
		}
	}
}

// panelQuery is one query of a bundled dashboard's panel, its variables
// at their current values, with the dashboard's range.
type panelQuery struct {
	name  string
	raw   json.RawMessage
	model map[string]any
	tr    backend.TimeRange
}

func panelQueries(t *testing.T, dashboards []Dashboard, datasourceUID string) []panelQuery {
	t.Helper()
	var out []panelQuery
	for _, d := range dashboards {
		tr, err := d.Range(goldenNow)
		if err != nil {
			t.Fatal(err)
		}
		values := d.CurrentValues(datasourceUID)
		for _, p := range d.AllPanels() {
			for _, target := range p.Targets {
				q, err := Interpolate(target, values)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(q, &m); err != nil {
					t.Fatal(err)
				}
				out = append(out, panelQuery{name: fmt.Sprintf("%s: panel %q", d.Title, p.Title), raw: q, model: m, tr: tr})
			}
		}
	}
	return out
}

func with(t *testing.T, m map[string]any, key string, value any) string {
	t.Helper()
	c := map[string]any{}
	for k, v := range m {
		c[k] = v
	}
	c[key] = value
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func frames(t *testing.T, name string, resp *backend.QueryDataResponse) data.Frames {
	t.Helper()
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatalf("%s: %v", name, r.Error)
	}
	return r.Frames
}

// frameValues is what a panel draws of frames: field names and values,
// without the executed SQL, whose conditions come in another order.
func frameValues(t *testing.T, frames data.Frames) []string {
	t.Helper()
	var out []string
	for _, f := range frames {
		c := *f
		c.Meta = nil
		b, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}
