package plugin

import (
	"context"
	"encoding/json"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/internal/golden"
	"github.com/saaslens/saaslens/pkg/store"
)

// Each query type's options are its options struct's JSON names, which is
// what the meta resource tells the editors; the dispatch knows them all
// and names them when asked for another.
func TestQueryTypesDeclareTheirOptions(t *testing.T) {
	filters := []string{"services", "clients", "devices", "vendors", "products", "categories", "kinds", "users", "departments"}
	with := func(own ...string) []string { return append(own, filters...) }
	want := map[string][]string{
		"usage":          with("metric", "topN", "groupBy"),
		"latency":        with("measure", "percentiles", "view", "groupBy", "topN"),
		"licences":       {"idleDays", "renewalDays"},
		"shadowIT":       with("limit"),
		"unclassified":   with("limit"),
		"monthOverMonth": with("groupBy", "limit"),
		"devices":        with("groupBy", "limit"),
		"geo":            with("groupBy", "limit"),
		"serverNames":    with("groupBy", "limit"),
		"streams":        with("limit"),
		"sql":            {"rawSql", "format"},
		"alert":          with("signal"),
		"variable":       {"variable"},
		"annotations":    {"events", "gapMinutes"},
	}
	got := map[string][]string{}
	var names []string
	for _, qt := range queryTypes {
		got[qt.Name] = qt.Options
		names = append(names, qt.Name)
		if qt.Label == "" || qt.Description == "" || (qt.Frame != "table" && qt.Frame != "timeseries") {
			t.Errorf("%s: label %q, description %q, frame %q", qt.Name, qt.Label, qt.Description, qt.Frame)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	if qt, err := queryTypeNamed(""); err != nil || qt.Name != "usage" {
		t.Errorf("no type: %s, %v", qt.Name, err)
	}
	if _, err := queryTypeNamed("pie"); err == nil || err.Error() != `unknown query type "pie": want `+strings.Join(names, ", ") {
		t.Errorf("an unknown type: %v", err)
	}
}

// The filters the meta resource offers are the filter options, each with
// the list its picker loads, or its values.
func TestFiltersHaveTheirLists(t *testing.T) {
	var got []string
	for _, f := range filters {
		source := f.List
		if source == "" {
			for _, v := range f.Values {
				source += v.Value + " "
			}
		}
		got = append(got, f.Name+": "+strings.TrimSpace(source))
	}
	want := []string{"services: services", "clients: clients", "devices: devices", "vendors: vendors", "products: products",
		"categories: categories", "kinds: saas infra unknown", "users: users", "departments: departments"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var settings []string
	for _, s := range settingFields {
		if s.Want == "" {
			t.Errorf("setting %s says nothing of how to write it", s.Name)
		}
		settings = append(settings, s.Name)
	}
	if diff := cmp.Diff([]string{"captureDirs", "databasePath", "ingestInterval", "storePackets", "retentionDays", "settle", "contractsFile",
		"catalogFile", "inventoryFile", "classifierPlugins", "timeZone", "homeCountry", "geoDatabase", "reportDir", "reportLanguage"}, settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}

var updateMeta = flag.Bool("update", false, "rewrite src/testdata/meta.json, the meta the frontend's tests read")

// The frontend's tests read the meta resource as the backend answers it,
// over a new database: src/testdata/meta.json is rewritten from it (-update)
// and fails to match when the backend's lists change without it.
func TestMetaFixtureIsTheBackends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	d := &Datasource{cfg: config{Database: path}}
	defer d.closeReader()
	got, err := json.MarshalIndent(d.meta(context.Background()), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden.File(t, filepath.Join("..", "..", "src", "testdata", "meta.json"), got, *updateMeta, "go test ./pkg/plugin -run TestMetaFixture -update")
}
