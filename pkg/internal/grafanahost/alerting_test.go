package grafanahost

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Each alert rule of provisioning/alerting, evaluated as Grafana's alerting
// would at the end of the sample captures' day: its query runs through the
// backend and answers with what alerting takes as numbers (string labels,
// one number, one row per label set), and its threshold fires for what the
// captures hold: shadow IT vendors, contracts with seats unused; not the
// handshakes of the last hour, nor capture age three minutes after the
// last packet.
func TestAlertRulesEvaluate(t *testing.T) {
	file, err := LoadAlertRules(filepath.Join(repoRoot(), "provisioning", "alerting", "saaslens.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := startHost(t)
	pc, _ := ingested(t, h, onlyTestdata)
	now := time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)

	got := map[string][]string{}
	for _, g := range file.Groups {
		for _, rule := range g.Rules {
			refs := map[string]bool{}
			var firing []string
			var numbers map[string]float64
			for _, d := range rule.Data {
				refs[d.RefID] = true
				if d.DatasourceUID == "__expr__" {
					expr, _ := d.Model["expression"].(string)
					if !refs[expr] || d.Model["type"] != "threshold" {
						t.Errorf("%s: expression %s reads %q, before it or not a threshold", rule.Title, d.RefID, expr)
						continue
					}
					firing = threshold(t, rule.Title, d.Model, numbers)
					continue
				}
				if d.DatasourceUID != pc.DataSourceInstanceSettings.UID {
					t.Errorf("%s: query %s on datasource %q, not the provisioned %q", rule.Title, d.RefID, d.DatasourceUID, pc.DataSourceInstanceSettings.UID)
				}
				model, err := json.Marshal(d.Model)
				if err != nil {
					t.Fatal(err)
				}
				tr := backend.TimeRange{From: now.Add(-time.Duration(d.RelativeTimeRange.From) * time.Second), To: now.Add(-time.Duration(d.RelativeTimeRange.To) * time.Second)}
				r := query(t, h, pc, tr, string(model)).Responses["A"]
				if r.Error != nil {
					t.Fatalf("%s: %v", rule.Title, r.Error)
				}
				numbers = alertNumbers(t, rule.Title, r.Frames)
			}
			if !refs[rule.Condition] {
				t.Errorf("%s: condition %s is none of its queries", rule.Title, rule.Condition)
			}
			if rule.Annotations["summary"] == "" || rule.UID == "" {
				t.Errorf("%s: uid %q, summary %q", rule.Title, rule.UID, rule.Annotations["summary"])
			}
			got[rule.Title] = firing
		}
	}
	want := map[string][]string{
		"New SaaS vendor without a contract this month": {
			"vendor=Box: 3 FIRING", "vendor=Google: 2 FIRING", "vendor=OpenAI: 4 FIRING", "vendor=Slack: 5 FIRING", "vendor=Zoom: 4 FIRING", "vendor=freee: 2 FIRING",
		},
		"Licence utilisation under 50%": {
			"vendor=Cybozu,product=kintone: 5.833 FIRING", "vendor=Microsoft,product=Microsoft 365 E3: 5.333 FIRING", "vendor=Salesforce,product=Sales Cloud: 12 FIRING",
		},
		"TLS handshake p95 per vendor above 500 ms": {
			"vendor=ACME: 27", "vendor=Cybozu: 62", "vendor=Microsoft: 61", "vendor=OpenAI: 32", "vendor=Salesforce: 33", "vendor=Slack: 48", "vendor=Zoom: 25",
		},
		"No capture newer than 30 minutes": {"directory=testdata: 3.03"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("firing at %s (-want +got):\n%s", now, diff)
	}
}

// alertNumbers reads frames as Grafana's alerting reads a table: string
// fields are labels, the one numeric field the value, and no two rows
// may share labels.
func alertNumbers(t *testing.T, rule string, frames data.Frames) map[string]float64 {
	t.Helper()
	if len(frames) != 1 {
		t.Fatalf("%s: %d frames, want one", rule, len(frames))
	}
	f := frames[0]
	var labels []*data.Field
	var value *data.Field
	for _, field := range f.Fields {
		switch {
		case field.Type() == data.FieldTypeString:
			labels = append(labels, field)
		case field.Type().Numeric() && value == nil:
			value = field
		default:
			t.Fatalf("%s: field %s (%s): alerting takes string labels and one number", rule, field.Name, field.Type())
		}
	}
	if value == nil {
		t.Fatalf("%s: no numeric field", rule)
	}
	out := map[string]float64{}
	for i := range f.Rows() {
		var set []string
		for _, l := range labels {
			set = append(set, l.Name+"="+l.At(i).(string))
		}
		key := strings.Join(set, ",")
		if _, dup := out[key]; dup {
			t.Errorf("%s: two rows labelled %s", rule, key)
		}
		v, err := value.FloatAt(i)
		if err != nil {
			t.Fatal(err)
		}
		out[key] = v
	}
	return out
}

// threshold evaluates a threshold expression's gt or lt over numbers:
// each label set with its value, and FIRING when it fires.
func threshold(t *testing.T, rule string, model map[string]any, numbers map[string]float64) []string {
	t.Helper()
	conds, _ := model["conditions"].([]any)
	if len(conds) != 1 {
		t.Fatalf("%s: %d conditions", rule, len(conds))
	}
	ev := conds[0].(map[string]any)["evaluator"].(map[string]any)
	limit := ev["params"].([]any)[0]
	n, ok := limit.(int)
	if !ok {
		t.Fatalf("%s: threshold %v", rule, limit)
	}
	out := []string{}
	for key, v := range numbers {
		line := fmt.Sprintf("%s: %.4g", key, v)
		if ev["type"] == "gt" && v > float64(n) || ev["type"] == "lt" && v < float64(n) {
			line += " FIRING"
		}
		out = append(out, line)
	}
	sort.Strings(out)
	if !slices.Contains([]any{"gt", "lt"}, ev["type"]) {
		t.Fatalf("%s: evaluator %v", rule, ev["type"])
	}
	return out
}
