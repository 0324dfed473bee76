package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/saaslens/saaslens/pkg/classifierhost"
	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/query"
	"github.com/saaslens/saaslens/pkg/report"
)

// Settings are the datasource's jsonData. The JSON names are the interface
// the ConfigEditor, provisioning files and users' API calls rely on; each
// field's want tag says how it must be written, for the message when it is
// not, and the meta resource lists them.
type Settings struct {
	CaptureDirs    []string `json:"captureDirs" want:"a list of directories, like [\"/var/captures\"]"`
	DatabasePath   string   `json:"databasePath" want:"a file path, like \"/var/lib/grafana/saaslens.db\""`
	IngestInterval string   `json:"ingestInterval" want:"a duration in quotes, like \"1m\" (\"0\" turns scheduled ingest off)"`
	StorePackets   *bool    `json:"storePackets" want:"true or false"`
	RetentionDays  int      `json:"retentionDays" want:"a whole number of days (0 keeps everything)"`
	Settle         string   `json:"settle" want:"a duration in quotes, like \"10s\""`
	ContractsFile  string   `json:"contractsFile" want:"a file path, like \"/etc/saaslens/contracts.yaml\""`
	// CatalogFile is the user's own catalog, in the built-in catalog's
	// format; its entries come before the built-in ones.
	CatalogFile string `json:"catalogFile" want:"a file path, like \"/etc/saaslens/catalog.yaml\""`
	// InventoryFile is a CSV naming devices, their users and departments.
	InventoryFile string `json:"inventoryFile" want:"a file path, like \"/etc/saaslens/inventory.csv\""`
	// ClassifierPlugins are the only plugin binaries that run, each with
	// the SHA-256 it must match.
	ClassifierPlugins []classifierhost.Config `json:"classifierPlugins" want:"a list of {\"path\": \"/usr/local/lib/saaslens/classifier\", \"sha256\": \"<hex>\"}"`
	// TimeZone cuts months and days for the licence and shadow IT
	// questions (IANA name, default UTC): an office in Tokyo closes its
	// month at midnight JST.
	TimeZone string `json:"timeZone" want:"an IANA time zone in quotes, like \"Asia/Tokyo\""`
	// HomeCountry (ISO 3166-1 alpha-2) is where the office is: the geo
	// question flags servers elsewhere.
	HomeCountry string `json:"homeCountry" want:"a two-letter country code in quotes, like \"JP\""`
	// GeoDatabase is a MaxMind-format country database used instead of
	// the embedded table.
	GeoDatabase string `json:"geoDatabase" want:"a file path, like \"/usr/share/GeoIP/GeoLite2-Country.mmdb\""`
	// ReportDir is where each month's report is written once the month
	// closes; ReportLanguage its language (en or ja; by timeZone when
	// empty).
	ReportDir      string `json:"reportDir" want:"a directory path, like \"/var/lib/grafana/saaslens-reports\""`
	ReportLanguage string `json:"reportLanguage" want:"en or ja in quotes"`
}

// settingField is one setting: its JSON name, how it must be written, and
// where it goes.
type settingField struct {
	Name string `json:"name"`
	Want string `json:"want"`
	at   int
}

// settingFields are Settings' fields, in order.
var settingFields = func() []settingField {
	t := reflect.TypeFor[Settings]()
	out := make([]settingField, t.NumField())
	for i := range out {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out[i] = settingField{Name: name, Want: f.Tag.Get("want"), at: i}
	}
	return out
}()

// SettingError names the setting at fault, for the health check.
type SettingError struct {
	Setting string
	Problem string
}

func (e *SettingError) Error() string { return e.Setting + ": " + e.Problem }

// config is what a datasource's settings come to.
type config struct {
	Settings
	Ingest   ingest.Config
	Database string
	Location *time.Location
	Home     string
	// Geo places server addresses; an opened geoDatabase is closed with
	// the instance.
	Geo geo.Locator
	// GeoProblem is why the geoDatabase could not be opened.
	GeoProblem error
}

// loadConfig reads and checks a datasource's settings; an error is a
// *SettingError naming the first setting at fault.
func loadConfig(s backend.DataSourceInstanceSettings) (config, error) {
	var c config
	if err := c.Settings.decode(s.JSONData); err != nil {
		return c, err
	}
	var err error
	if c.Ingest, err = c.Settings.ingestConfig(); err != nil {
		return c, err
	}
	c.Location = time.UTC
	if tz := strings.TrimSpace(c.TimeZone); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return c, &SettingError{"timeZone", fmt.Sprintf("%q is not a time zone: write an IANA name like Asia/Tokyo or Europe/Berlin", tz)}
		}
		c.Location = loc
	}
	c.Ingest.TimeZone = c.Location
	if err := c.Ingest.Validate(); err != nil {
		return c, &SettingError{settingOf(err), err.Error()}
	}
	c.Home = strings.ToUpper(strings.TrimSpace(c.HomeCountry))
	if c.Home != "" && !countryCode.MatchString(c.Home) {
		return c, &SettingError{"homeCountry", fmt.Sprintf("%q is not a country code: write two letters (ISO 3166-1), like JP or DE", c.HomeCountry)}
	}
	c.Geo = geo.Builtin()
	if f, err := absolutePath("geoDatabase", c.GeoDatabase); err != nil {
		return c, err
	} else if f != "" {
		// One that cannot be opened leaves the embedded table in use.
		if m, err := geo.OpenMMDB(f); err != nil {
			c.GeoProblem = &SettingError{"geoDatabase", err.Error() + " (the embedded country table is used)"}
		} else {
			c.Geo = m
		}
	}
	if c.ReportDir, err = absolutePath("reportDir", c.ReportDir); err != nil {
		return c, err
	}
	switch c.ReportLanguage {
	case "":
		c.ReportLanguage = report.DefaultLang(c.Location)
	case "en", "ja":
	default:
		return c, &SettingError{"reportLanguage", fmt.Sprintf("%q: want en or ja", c.ReportLanguage)}
	}
	c.Database = strings.TrimSpace(c.DatabasePath)
	switch {
	case c.Database == "":
		c.Database = defaultDatabase(s.UID)
	case !filepath.IsAbs(c.Database):
		return c, &SettingError{"databasePath", fmt.Sprintf("%q is not an absolute path: write the whole path, or leave it empty for the default", c.Database)}
	}
	return c, nil
}

// decode reads jsonData's settings, each by its JSON name; other keys are
// settings of later versions, or Grafana's own.
func (st *Settings) decode(jsonData []byte) error {
	raw := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(jsonData)) > 0 {
		if err := json.Unmarshal(jsonData, &raw); err != nil {
			return &SettingError{"jsonData", "not a JSON object: " + err.Error()}
		}
	}
	for _, f := range settingFields {
		v, ok := raw[f.Name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, reflect.ValueOf(st).Elem().Field(f.at).Addr().Interface()); err != nil {
			return &SettingError{f.Name, fmt.Sprintf("%s is not %s", v, f.Want)}
		}
	}
	return nil
}

// ingestConfig is what the settings ask of ingest, but its time zone.
func (st Settings) ingestConfig() (ingest.Config, error) {
	c := ingest.DefaultConfig()
	for i, d := range st.CaptureDirs {
		d = strings.TrimSpace(d)
		switch {
		case d == "":
			return c, &SettingError{"captureDirs", fmt.Sprintf("entry %d is empty: name a directory or remove the entry", i+1)}
		case !filepath.IsAbs(d):
			return c, &SettingError{"captureDirs", fmt.Sprintf("%q is not an absolute path: the plugin runs in the Grafana server's working directory, so write the whole path", d)}
		}
		c.Paths = append(c.Paths, filepath.Clean(d))
	}
	var err error
	if c.Interval, err = duration("ingestInterval", st.IngestInterval, time.Minute); err != nil {
		return c, err
	}
	if c.Settle, err = duration("settle", st.Settle, c.Settle); err != nil {
		return c, err
	}
	if st.StorePackets != nil {
		c.PacketRows = *st.StorePackets
	}
	if st.RetentionDays < 0 {
		return c, &SettingError{"retentionDays", fmt.Sprintf("%d: must be 0 (keep everything) or a number of days", st.RetentionDays)}
	}
	c.RetainDays = st.RetentionDays
	// Whether these files can be read is for each run to find: one
	// missing or broken leaves ingest and queries going, and health
	// names it.
	if c.Contracts, err = absolutePath("contractsFile", st.ContractsFile); err != nil {
		return c, err
	}
	if c.Catalog, err = absolutePath("catalogFile", st.CatalogFile); err != nil {
		return c, err
	}
	if c.Inventory, err = absolutePath("inventoryFile", st.InventoryFile); err != nil {
		return c, err
	}
	for _, p := range st.ClassifierPlugins {
		if err := p.Check(); err != nil {
			return c, &SettingError{"classifierPlugins", err.Error()}
		}
		// Whoever may edit a datasource would otherwise run any program
		// as the Grafana server's user.
		if p.SHA256 == "" {
			return c, &SettingError{"classifierPlugins", fmt.Sprintf("%s has no sha256: give the binary's checksum (sha256sum %s), so that only that binary runs", p.Path, p.Path)}
		}
		if _, err := os.Stat(p.Path); err != nil {
			return c, &SettingError{"classifierPlugins", fmt.Sprintf("%s cannot be read by the Grafana server: %v", p.Path, err)}
		}
	}
	c.Plugins = st.ClassifierPlugins
	return c, nil
}

// duration reads a Go duration; "" is the default, "0" is zero.
func duration(setting, v string, def time.Duration) (time.Duration, error) {
	if strings.TrimSpace(v) == "" {
		return def, nil
	}
	d, err := query.ParseInterval(v)
	if err != nil && strings.TrimSpace(v) != "0" {
		return 0, &SettingError{setting, fmt.Sprintf("%q is not a duration: write it like 30s, 5m or 1h", v)}
	}
	if d < 0 {
		return 0, &SettingError{setting, fmt.Sprintf("%q is negative", v)}
	}
	return d, nil
}

// defaultDatabase is a file per datasource under Grafana's data directory
// (GF_PATHS_DATA, which Grafana's images set), else under the user's cache
// directory.
func defaultDatabase(uid string) string {
	base := os.Getenv("GF_PATHS_DATA")
	if base == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			base = dir
		} else {
			base = os.TempDir()
		}
	}
	if uid == "" {
		uid = "default"
	}
	return filepath.Join(base, "saaslens", uid+".db")
}

// absolutePath checks an optional file setting: "" when unset, else an
// absolute path.
func absolutePath(setting, path string) (string, error) {
	f := strings.TrimSpace(path)
	if f != "" && !filepath.IsAbs(f) {
		return "", &SettingError{setting, fmt.Sprintf("%q is not an absolute path: write the whole path", f)}
	}
	return f, nil
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// ingestSettings are the settings by the ingest configuration's names
// for them.
var ingestSettings = map[string]string{"interval": "ingestInterval", "settle": "settle", "retain-days": "retentionDays",
	"contracts": "contractsFile", "catalog": "catalogFile", "inventory": "inventoryFile", "time zone": "timeZone",
	"plugins": "classifierPlugins", "paths": "captureDirs"}

// settingOf names the setting err is about.
func settingOf(err error) string {
	var ce *ingest.ConfigError
	if errors.As(err, &ce) {
		if s, ok := ingestSettings[ce.Field]; ok {
			return s
		}
	}
	return "settings"
}
