package plugin

import (
	"context"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/saaslens/saaslens/pkg/query"
)

func TestAdhocFiltersBecomeConditions(t *testing.T) {
	got, err := conditions([]adhocFilter{
		{Key: "department", Operator: "=", Value: "Sales"},
		{Key: "vendor", Operator: "!=", Value: "Microsoft"},
		{Key: "service", Operator: "=|", Values: []string{"slack.com", "zoom.us"}},
		{Key: "kind", Operator: "!=|", Values: []string{"infra", "unknown"}},
		{Key: "country", Operator: "!=", Value: "US"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []query.Condition{
		{Filter: "departments", Values: []string{"Sales"}},
		{Filter: "vendors", Values: []string{"Microsoft"}, Exclude: true},
		{Filter: "services", Values: []string{"slack.com", "zoom.us"}},
		{Filter: "kinds", Values: []string{"infra", "unknown"}, Exclude: true},
		{Filter: "countries", Values: []string{"US"}, Exclude: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// No table holds the country: the filters leave it to resolveCountries.
	filters := []adhocFilter{{Key: "vendor", Operator: "=", Value: "Slack"}, {Key: "country", Operator: "=", Value: "JP"}}
	if diff := cmp.Diff([]query.Condition{{Filter: "vendors", Values: []string{"Slack"}}}, filterConditions(filters)); diff != "" {
		t.Errorf("filter conditions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]query.Condition{{Filter: "countries", Values: []string{"JP"}}}, countryConditions(filters)); diff != "" {
		t.Errorf("country conditions (-want +got):\n%s", diff)
	}
	for _, c := range []struct {
		f    adhocFilter
		want string
	}{
		{adhocFilter{Key: "colour", Operator: "=", Value: "red"}, `ad hoc filter "colour": unknown key (want vendor, product, category, service, device, user, department, client, country, kind)`},
		{adhocFilter{Key: "vendor", Operator: "=~", Value: "Micro.*"}, `ad hoc filter vendor =~ "Micro.*": the operator is not supported (want =, !=, =| or !=|)`},
	} {
		if _, err := conditions([]adhocFilter{c.f}); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %s", c.f, err, c.want)
		}
	}
	// Every key stands for a filter the query package applies.
	for _, k := range adhocKeys {
		found := k.Filter == countryFilter
		for _, name := range query.FilterNames {
			found = found || name == k.Filter
		}
		if !found {
			t.Errorf("key %s: no filter %s", k.Key, k.Filter)
		}
	}
	if diff := cmp.Diff(query.FilterNames, jsonNames(reflectFilterOptions())); diff != "" {
		t.Errorf("query.FilterNames against filterOptions (-query +plugin):\n%s", diff)
	}
}

func reflectFilterOptions() reflect.Type { return reflect.TypeFor[filterOptions]() }

// A query saved by a newer frontend is refused with what to do, not
// answered as if its options meant what they meant before.
func TestQueryFromANewerModelIsRefused(t *testing.T) {
	d := &Datasource{}
	r := d.query(context.Background(), backend.DataQuery{RefID: "A", JSON: []byte(`{"queryType":"usage","version":3}`)})
	want := "the query was saved by a newer SaaSLens (query version 3; this one reads up to 2): update the plugin"
	if r.Error == nil || r.Error.Error() != want || r.Status != backend.StatusBadRequest {
		t.Errorf("%v (status %d), want %s", r.Error, r.Status, want)
	}
	r = d.query(context.Background(), backend.DataQuery{RefID: "A", JSON: []byte(`{"queryType":"usage","adhocFilters":[{"key":"colour","operator":"=","value":"red"}]}`)})
	if r.Error == nil || r.Status != backend.StatusBadRequest {
		t.Errorf("an ad hoc filter on an unknown key: %v (status %d)", r.Error, r.Status)
	}
}
