package grafanahost

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/saaslens/saaslens/pkg/plugin"
)

// Every bundled dashboard marks new SaaS vendors, gaps in capture
// coverage and damaged or unreadable files, and each annotation query
// answers, over the sample captures, with the frame Grafana turns into
// annotations: time, timeEnd, title, text, tags.
func TestDashboardAnnotations(t *testing.T) {
	h := startHost(t)
	pc, _ := ingested(t, h, onlyTestdata)
	dashboards, err := LoadDashboards(filepath.Join(repoRoot(), "provisioning", "dashboards"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, d := range dashboards {
		tr, err := d.Range(goldenNow)
		if err != nil {
			t.Fatal(err)
		}
		values := d.CurrentValues(pc.DataSourceInstanceSettings.UID)
		var names []string
		for _, a := range d.Annotations.List {
			if a.BuiltIn == 1 {
				continue
			}
			names = append(names, a.Name)
			if a.Datasource.Type != plugin.ID || !a.Enable {
				t.Errorf("%s: annotation %q: datasource %+v, enabled %v", d.Title, a.Name, a.Datasource, a.Enable)
			}
			q, err := Interpolate(a.Target, values)
			if err != nil {
				t.Fatal(err)
			}
			r := query(t, h, pc, tr, string(q)).Responses["A"]
			if r.Error != nil || len(r.Frames) != 1 {
				t.Fatalf("%s: annotation %q: %v (%d frames)", d.Title, a.Name, r.Error, len(r.Frames))
			}
			events := annotationEvents(t, r.Frames[0])
			if prev, ok := got[a.Name]; ok && !cmp.Equal(prev, events) {
				t.Errorf("%s: annotation %q differs from another dashboard's", d.Title, a.Name)
			}
			got[a.Name] = events
		}
		if diff := cmp.Diff([]string{"New SaaS vendors", "Capture coverage gaps", "Capture problems"}, names); diff != "" {
			t.Errorf("%s: annotations (-want +got):\n%s", d.Title, diff)
		}
	}
	// Coverage gaps over controlled files are pkg/query's test: the sample
	// captures leave none of ten minutes.
	want := map[string][]string{
		"New SaaS vendors": {
			"2026-03-02T09:00:00Z New SaaS vendor: ACME | First use of Internal wiki [new vendor,productivity]",
			"2026-03-02T09:00:00Z New SaaS vendor: Box (no contract) | First use of Box. No contract covers it: shadow IT. [new vendor,storage,shadow IT]",
			"2026-03-02T09:00:00Z New SaaS vendor: Cybozu | First use of kintone [new vendor,productivity]",
			"2026-03-02T09:00:00Z New SaaS vendor: Microsoft | First use of Microsoft 365 E3, Exchange Online, Microsoft Teams [new vendor,office-suite,mail,chat]",
			"2026-03-02T09:00:00Z New SaaS vendor: OpenAI (no contract) | First use of ChatGPT. No contract covers it: shadow IT. [new vendor,ai,shadow IT]",
			"2026-03-02T09:00:00Z New SaaS vendor: Salesforce | First use of Sales Cloud [new vendor,crm]",
			"2026-03-02T09:00:00Z New SaaS vendor: Slack (no contract) | First use of Slack. No contract covers it: shadow IT. [new vendor,chat,shadow IT]",
			"2026-03-02T09:00:00Z New SaaS vendor: Zoom (no contract) | First use of Zoom. No contract covers it: shadow IT. [new vendor,meetings,shadow IT]",
			"2026-03-02T10:00:00Z New SaaS vendor: Google (no contract) | First use of Gmail. No contract covers it: shadow IT. [new vendor,mail,shadow IT]",
			"2026-03-02T11:00:00Z New SaaS vendor: freee (no contract) | First use of freee. No contract covers it: shadow IT. [new vendor,accounting,shadow IT]",
		},
		"Capture coverage gaps": nil,
		"Capture problems": {
			"2026-03-02T09:00:00Z Damaged capture: truncated.pcap | testdata/truncated.pcap: offset 252: reading packet record: unexpected EOF. The 3 packets before the damage were kept. [capture damaged]",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("annotations over testdata (-want +got):\n%s", diff)
	}
}

// annotationEvents is each row as Grafana shows it, after checking the
// frame has the fields it maps, with their types.
func annotationEvents(t *testing.T, f *data.Frame) []string {
	t.Helper()
	types := map[string]data.FieldType{"time": data.FieldTypeTime, "timeEnd": data.FieldTypeNullableTime,
		"title": data.FieldTypeString, "text": data.FieldTypeString, "tags": data.FieldTypeString}
	var names []string
	for _, field := range f.Fields {
		names = append(names, field.Name)
		if types[field.Name] != field.Type() {
			t.Errorf("annotation field %s is %s, want %s", field.Name, field.Type(), types[field.Name])
		}
	}
	if diff := cmp.Diff([]string{"time", "timeEnd", "title", "text", "tags"}, names); diff != "" {
		t.Fatalf("annotation fields (-want +got):\n%s", diff)
	}
	var out []string
	for i := range f.Rows() {
		at := f.Fields[0].At(i).(time.Time).UTC().Format(time.RFC3339)
		if end := f.Fields[1].At(i).(*time.Time); end != nil {
			at += "/" + end.UTC().Format(time.RFC3339)
		}
		text := f.Fields[3].At(i).(string)
		// Paths are this machine's; the file name says which.
		text = strings.ReplaceAll(text, repoRoot()+"/", "")
		out = append(out, fmt.Sprintf("%s %s | %s [%s]", at, f.Fields[2].At(i), text, f.Fields[4].At(i)))
	}
	return out
}
