package grafanahost

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"gopkg.in/yaml.v3"
)

// Datasource is a datasource from a provisioning file.
type Datasource struct {
	Name     string         `yaml:"name"`
	UID      string         `yaml:"uid"`
	Type     string         `yaml:"type"`
	JSONData map[string]any `yaml:"jsonData"`
}

// ProvisionedDatasources reads every datasource of the YAML files in dir,
// expanding $VAR and ${VAR} from the environment as Grafana does.
func ProvisionedDatasources(dir string) ([]Datasource, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		return nil, err
	}
	var out []Datasource
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Datasources []Datasource `yaml:"datasources"`
		}
		if err := yaml.Unmarshal([]byte(os.ExpandEnv(string(b))), &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, doc.Datasources...)
	}
	return out, nil
}

// PluginContext is what Grafana sends with every call for the datasource,
// with jsonData as given (the provisioned one, changed by the caller).
func (d Datasource) PluginContext(pluginID string, jsonData map[string]any, updated time.Time) (backend.PluginContext, error) {
	b, err := json.Marshal(jsonData)
	if err != nil {
		return backend.PluginContext{}, err
	}
	return backend.PluginContext{
		OrgID:    1,
		PluginID: pluginID,
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: 1, UID: d.UID, Name: d.Name, Type: d.Type, JSONData: b, Updated: updated,
		},
	}, nil
}

// Dashboard is the part of a dashboard's JSON that decides its queries.
type Dashboard struct {
	File  string
	UID   string `json:"uid"`
	Title string `json:"title"`
	Time  struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Panels      []Panel `json:"panels"`
	Annotations struct {
		List []Annotation `json:"list"`
	} `json:"annotations"`
	Links []struct {
		Title string `json:"title"`
		URL   string `json:"url"`
	} `json:"links"`
}

// Variable is a template variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Current    struct {
		Value any `json:"value"`
	} `json:"current"`
}

// Annotation is one of a dashboard's annotation queries; Grafana's own
// (builtIn) has no target.
type Annotation struct {
	Name       string `json:"name"`
	BuiltIn    int    `json:"builtIn"`
	Enable     bool   `json:"enable"`
	Datasource struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Target json.RawMessage `json:"target"`
}

// Panel is a dashboard panel and its queries.
type Panel struct {
	ID      int               `json:"id"`
	Type    string            `json:"type"`
	Title   string            `json:"title"`
	Targets []json.RawMessage `json:"targets"`
	Panels  []Panel           `json:"panels"` // a row's
	GridPos struct {
		X int `json:"x"`
		Y int `json:"y"`
		W int `json:"w"`
		H int `json:"h"`
	} `json:"gridPos"`
	FieldConfig json.RawMessage `json:"fieldConfig,omitempty"`
}

// LoadDashboards reads the dashboards (*.json) in dir.
func LoadDashboards(dir string) ([]Dashboard, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var d Dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		d.File = f
		out = append(out, d)
	}
	return out, nil
}

// AllPanels flattens rows.
func (d Dashboard) AllPanels() []Panel {
	var out []Panel
	for _, p := range d.Panels {
		if p.Type == "row" {
			out = append(out, p.Panels...)
			continue
		}
		out = append(out, p)
	}
	return out
}

var relative = regexp.MustCompile(`^now(?:-(\d+)([smhdwMy]))?(?:/([smhdwMy]))?$`)

// Range resolves the dashboard's time range at now (now-7d, now-30y, or
// RFC 3339 times).
func (d Dashboard) Range(now time.Time) (backend.TimeRange, error) {
	from, err := resolveTime(d.Time.From, now)
	if err != nil {
		return backend.TimeRange{}, fmt.Errorf("%s: time.from: %w", d.File, err)
	}
	to, err := resolveTime(d.Time.To, now)
	if err != nil {
		return backend.TimeRange{}, fmt.Errorf("%s: time.to: %w", d.File, err)
	}
	return backend.TimeRange{From: from, To: to}, nil
}

func resolveTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	m := relative.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("%q: not now-N<unit> or an RFC 3339 time", s)
	}
	if m[1] == "" {
		return now, nil
	}
	n, _ := strconv.Atoi(m[1])
	switch m[2] {
	case "s":
		return now.Add(-time.Duration(n) * time.Second), nil
	case "m":
		return now.Add(-time.Duration(n) * time.Minute), nil
	case "h":
		return now.Add(-time.Duration(n) * time.Hour), nil
	case "d":
		return now.AddDate(0, 0, -n), nil
	case "w":
		return now.AddDate(0, 0, -7*n), nil
	case "M":
		return now.AddDate(0, -n, 0), nil
	default:
		return now.AddDate(-n, 0, 0), nil
	}
}

// Interpolate replaces $name and ${name} in a panel target as Grafana's
// frontend does before the query reaches the backend: a multi-value
// variable in a JSON list becomes its values as list entries; the
// datasource variable names the datasource uid.
func Interpolate(target json.RawMessage, values map[string][]string) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal(target, &v); err != nil {
		return nil, err
	}
	v = interpolate(v, values)
	return json.Marshal(v)
}

func interpolate(v any, values map[string][]string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = interpolate(e, values)
		}
		return x
	case []any:
		var out []any
		for _, e := range x {
			if s, ok := e.(string); ok {
				if name, whole := variableName(s); whole {
					if vals, ok := values[name]; ok {
						for _, val := range vals {
							out = append(out, val)
						}
						continue
					}
				}
			}
			out = append(out, interpolate(e, values))
		}
		return out
	case string:
		for name, vals := range values {
			joined := strings.Join(vals, ",")
			x = strings.ReplaceAll(x, "${"+name+"}", joined)
			x = strings.ReplaceAll(x, "$"+name, joined)
		}
		return x
	}
	return v
}

func variableName(s string) (string, bool) {
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		return s[2 : len(s)-1], true
	}
	if strings.HasPrefix(s, "$") && !strings.HasPrefix(s, "$__") {
		return s[1:], true
	}
	return "", false
}

// CurrentValues are the variables' values as a dashboard opens: the
// current selection, with All as the variable's allValue.
func (d Dashboard) CurrentValues(datasourceUID string) map[string][]string {
	out := map[string][]string{}
	for _, v := range d.Templating.List {
		if v.Type == "datasource" {
			out[v.Name] = []string{datasourceUID}
			continue
		}
		var vals []string
		switch c := v.Current.Value.(type) {
		case string:
			vals = []string{c}
		case []any:
			for _, e := range c {
				vals = append(vals, fmt.Sprint(e))
			}
		}
		if slices.Contains(vals, "$__all") && v.AllValue != "" {
			vals = []string{v.AllValue}
		}
		out[v.Name] = vals
	}
	return out
}

// CheckFrames tells whether frames give a panel of type panelType
// something to draw: a time series panel a time field and a number field
// with values, a table or bar chart rows, a stat a number. Anything less
// is the "No data" a user would see.
func CheckFrames(panelType string, frames data.Frames) error {
	rows := 0
	hasTime, hasNumber := false, false
	for _, f := range frames {
		n, _ := f.RowLen()
		rows += n
		for _, field := range f.Fields {
			if field.Type().Time() {
				hasTime = true
			}
			if field.Type().Numeric() {
				for i := 0; i < field.Len(); i++ {
					if v, ok := field.ConcreteAt(i); ok && fmt.Sprint(v) != "0" {
						hasNumber = true
						break
					}
				}
			}
		}
	}
	if rows == 0 {
		return fmt.Errorf("no rows: the panel would show No data")
	}
	switch panelType {
	case "timeseries":
		if !hasTime || !hasNumber {
			return fmt.Errorf("a time series panel needs a time field and a number field with a value other than 0 (time: %v, number: %v)", hasTime, hasNumber)
		}
	case "stat", "gauge", "bargauge", "barchart", "piechart":
		if !hasNumber {
			return fmt.Errorf("a %s panel needs a number field", panelType)
		}
	}
	return nil
}

// AlertRules is the part of Grafana's alert rule provisioning file that
// decides what each rule asks and when it fires.
type AlertRules struct {
	APIVersion int `yaml:"apiVersion"`
	Groups     []struct {
		Name     string `yaml:"name"`
		Folder   string `yaml:"folder"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			UID       string `yaml:"uid"`
			Title     string `yaml:"title"`
			Condition string `yaml:"condition"`
			Data      []struct {
				RefID             string `yaml:"refId"`
				DatasourceUID     string `yaml:"datasourceUid"`
				RelativeTimeRange struct {
					From, To int64
				} `yaml:"relativeTimeRange"`
				Model map[string]any `yaml:"model"`
			} `yaml:"data"`
			NoDataState string            `yaml:"noDataState"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// LoadAlertRules reads an alert rule provisioning file.
func LoadAlertRules(path string) (AlertRules, error) {
	var rules AlertRules
	b, err := os.ReadFile(path)
	if err != nil {
		return rules, err
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		return rules, fmt.Errorf("%s: %w", path, err)
	}
	return rules, nil
}
