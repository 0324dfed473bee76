package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/ingest"
)

func settings(json string) backend.DataSourceInstanceSettings {
	return backend.DataSourceInstanceSettings{UID: "abc", JSONData: []byte(json)}
}

// sameZone compares zones by name.
var sameZone = cmp.Comparer(func(a, b *time.Location) bool {
	return (a == nil) == (b == nil) && (a == nil || a.String() == b.String())
})

func TestLoadConfig(t *testing.T) {
	t.Setenv("GF_PATHS_DATA", "/var/lib/grafana")
	c, err := loadConfig(settings(`{"captureDirs": ["/srv/captures/", "/mnt/office"], "ingestInterval": "5m", "storePackets": false,
		"retentionDays": 90, "settle": "30s", "somethingNewer": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := ingest.DefaultConfig()
	want.Paths = []string{"/srv/captures", "/mnt/office"}
	want.Interval = 5 * time.Minute
	want.PacketRows = false
	want.RetainDays = 90
	want.Settle = 30 * time.Second
	// Without a timeZone, the datasource's months are UTC's, and so are
	// the monthly totals'.
	want.TimeZone = time.UTC
	if diff := cmp.Diff(want, c.Ingest, sameZone); diff != "" {
		t.Errorf("ingest config (-want +got):\n%s", diff)
	}
	if c.Database != filepath.Join("/var/lib/grafana", "saaslens", "abc.db") {
		t.Errorf("default database %s", c.Database)
	}

	c, err = loadConfig(settings(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	want = ingest.DefaultConfig()
	want.TimeZone = time.UTC
	if diff := cmp.Diff(want, c.Ingest, sameZone); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	c, err = loadConfig(settings(`{"timeZone": "Asia/Tokyo"}`))
	if err != nil || c.Ingest.TimeZone != c.Location || c.Location.String() != "Asia/Tokyo" {
		t.Errorf("timeZone Asia/Tokyo: %v, ingest's zone %v, queries' %v", err, c.Ingest.TimeZone, c.Location)
	}
	c, err = loadConfig(settings(`{"ingestInterval": "0"}`))
	if err != nil || c.Ingest.Interval != 0 {
		t.Errorf("interval 0: %v, %s", err, c.Ingest.Interval)
	}
}

func TestLoadConfigNamesTheBadSetting(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`[1]`, `jsonData: not a JSON object: json: cannot unmarshal array into Go value of type map[string]json.RawMessage`},
		{`{"captureDirs": "/srv"}`, `captureDirs: "/srv" is not a list of directories, like ["/var/captures"]`},
		{`{"captureDirs": ["/srv", " "]}`, `captureDirs: entry 2 is empty: name a directory or remove the entry`},
		{`{"captureDirs": ["captures"]}`, `captureDirs: "captures" is not an absolute path: the plugin runs in the Grafana server's working directory, so write the whole path`},
		{`{"ingestInterval": 60}`, `ingestInterval: 60 is not a duration in quotes, like "1m" ("0" turns scheduled ingest off)`},
		{`{"ingestInterval": "hourly"}`, `ingestInterval: "hourly" is not a duration: write it like 30s, 5m or 1h`},
		{`{"ingestInterval": "1ns"}`, `ingestInterval: interval 1ns: at least 1s between runs, or 0 to run only when asked`},
		{`{"timeZone": "Local"}`, `timeZone: time zone: the machine's local zone has no name another process can read; name it, like Asia/Tokyo`},
		{`{"settle": "-5s"}`, `settle: "-5s" is negative`},
		{`{"storePackets": "yes"}`, `storePackets: "yes" is not true or false`},
		{`{"retentionDays": "30"}`, `retentionDays: "30" is not a whole number of days (0 keeps everything)`},
		{`{"retentionDays": -1}`, `retentionDays: -1: must be 0 (keep everything) or a number of days`},
		{`{"timeZone": "Tokyo"}`, `timeZone: "Tokyo" is not a time zone: write an IANA name like Asia/Tokyo or Europe/Berlin`},
		{`{"classifierPlugins": [{"path": "plugin"}]}`, `classifierPlugins: classifier plugin "plugin": not an absolute path`},
		{`{"classifierPlugins": [{"path": "/bin/sh"}]}`, `classifierPlugins: /bin/sh has no sha256: give the binary's checksum (sha256sum /bin/sh), so that only that binary runs`},
		{`{"catalogFile": "catalog.yaml"}`, `catalogFile: "catalog.yaml" is not an absolute path: write the whole path`},
		{`{"catalogFile": ["/etc/c.yaml"]}`, `catalogFile: ["/etc/c.yaml"] is not a file path, like "/etc/saaslens/catalog.yaml"`},
		{`{"inventoryFile": "inventory.csv"}`, `inventoryFile: "inventory.csv" is not an absolute path: write the whole path`},
		{`{"inventoryFile": 3}`, `inventoryFile: 3 is not a file path, like "/etc/saaslens/inventory.csv"`},
		{`{"homeCountry": "Japan"}`, `homeCountry: "Japan" is not a country code: write two letters (ISO 3166-1), like JP or DE`},
		{`{"reportDir": "reports"}`, `reportDir: "reports" is not an absolute path: write the whole path`},
		{`{"reportLanguage": "fr"}`, `reportLanguage: "fr": want en or ja`},
		{`{"databasePath": "saaslens.db"}`, `databasePath: "saaslens.db" is not an absolute path: write the whole path, or leave it empty for the default`},
	} {
		_, err := loadConfig(settings(c.json))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v\nwant %s", c.json, err, c.want)
		}
	}
}

// A geoDatabase that is not one, or is missing, leaves the embedded table
// in use and is named: it does not take the datasource down.
func TestGeoDatabaseMustBeOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(path, []byte("not a MaxMind database"), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{path: "geoDatabase: geo: " + path + ": ", "/nonexistent/country.mmdb": "geoDatabase: geo: /nonexistent/country.mmdb: open /nonexistent/country.mmdb: no such file"} {
		c, err := loadConfig(settings(`{"geoDatabase": "` + p + `"}`))
		if err != nil || c.GeoProblem == nil || !strings.HasPrefix(c.GeoProblem.Error(), want) ||
			!strings.HasSuffix(c.GeoProblem.Error(), "(the embedded country table is used)") || c.Geo.Source() != geo.Builtin().Source() {
			t.Errorf("%s: %v, problem %v", p, err, c.GeoProblem)
		}
	}
	c, err := loadConfig(settings(`{"homeCountry": "jp"}`))
	if err != nil || c.Home != "JP" || c.Geo.Source() != geo.Builtin().Source() {
		t.Errorf("home %q, geo %v, %v", c.Home, c.Geo, err)
	}
}
