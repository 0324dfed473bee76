package plugin

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/query"
)

// adhocFilter is one of a dashboard's ad hoc filters, as the frontend's
// applyTemplateVariables puts it into every query it sends: the backend
// applies them, so a panel and an alert rule over its query agree.
type adhocFilter struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Value    string   `json:"value"`
	Values   []string `json:"values,omitempty"`
}

// adhocKeys are the keys a dashboard's ad hoc filter may narrow by, each
// the filter (and list) it stands for.
var adhocKeys = []struct{ Key, Filter string }{
	{"vendor", "vendors"}, {"product", "products"}, {"category", "categories"}, {"service", "services"},
	{"device", "devices"}, {"user", "users"}, {"department", "departments"}, {"client", "clients"},
	{"country", countryFilter}, {"kind", "kinds"},
}

// countryFilter is the server country's: no table holds it, so query
// turns it into the server names reached there (query.ServicesIn) before
// the query type reads its filters, and geo also keeps only its rows.
const countryFilter = "countries"

// adhocOperators are the operators the filters take: Grafana's equality
// and its multi-value "one of"; matching by regular expression or order
// means nothing to these names.
var adhocOperators = map[string]bool{"=": false, "!=": true, "=|": false, "!=|": true}

// conditions turns ad hoc filters into the query's conditions, refusing a
// key or operator it cannot apply rather than showing unfiltered data.
func conditions(filters []adhocFilter) ([]query.Condition, error) {
	var out []query.Condition
	for _, f := range filters {
		filter := ""
		for _, k := range adhocKeys {
			if k.Key == f.Key {
				filter = k.Filter
			}
		}
		if filter == "" {
			keys := make([]string, len(adhocKeys))
			for i, k := range adhocKeys {
				keys[i] = k.Key
			}
			return nil, fmt.Errorf("ad hoc filter %q: unknown key (want %s)", f.Key, strings.Join(keys, ", "))
		}
		exclude, ok := adhocOperators[f.Operator]
		if !ok {
			return nil, fmt.Errorf("ad hoc filter %s %s %q: the operator is not supported (want =, !=, =| or !=|)", f.Key, f.Operator, f.Value)
		}
		values := []string{f.Value}
		if strings.HasSuffix(f.Operator, "|") {
			values = f.Values
		}
		out = append(out, query.Condition{Filter: filter, Values: values, Exclude: exclude})
	}
	return out, nil
}

// filterConditions are the conditions a query type's filters apply: the
// country's are left to resolveCountries, which adds their server names.
func filterConditions(filters []adhocFilter) []query.Condition {
	all, _ := conditions(filters)
	return slices.DeleteFunc(all, func(c query.Condition) bool { return c.Filter == countryFilter })
}

// countryConditions are the conditions on the server country alone.
func countryConditions(filters []adhocFilter) []query.Condition {
	all, _ := conditions(filters)
	return slices.DeleteFunc(all, func(c query.Condition) bool { return c.Filter != countryFilter })
}

// resolveCountries rewrites a query's JSON so that each ad hoc filter on
// the server country is followed by one on the server names reached
// there: every query type then applies it as it applies a service filter.
func resolveCountries(ctx context.Context, db *sql.DB, locator geo.Locator, raw json.RawMessage, filters []adhocFilter) (json.RawMessage, error) {
	out := slices.Clone(filters)
	resolved := false
	for _, c := range countryConditions(filters) {
		names, err := query.ServicesIn(ctx, db, locator, c.Values)
		if err != nil {
			return nil, fmt.Errorf("ad hoc filter on country: %w", err)
		}
		op := "=|"
		if c.Exclude {
			op = "!=|"
		}
		out = append(out, adhocFilter{Key: "service", Operator: op, Values: names})
		resolved = true
	}
	if !resolved {
		return raw, nil
	}
	var q map[string]any
	if err := json.Unmarshal(raw, &q); err != nil {
		return nil, err
	}
	q["adhocFilters"] = out
	return json.Marshal(q)
}

// tagKeys answers getTagKeys: the keys, as Grafana's ad hoc filter lists them.
func tagKeys(w http.ResponseWriter, _ *http.Request) {
	out := make([]map[string]string, len(adhocKeys))
	for i, k := range adhocKeys {
		out[i] = map[string]string{"text": k.Key}
	}
	writeJSON(w, http.StatusOK, out)
}

// tagValues answers getTagValues: the values of a key over the range, from
// the list of the filter it stands for (kinds from its fixed values).
func (d *Datasource) tagValues(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	for _, k := range adhocKeys {
		if k.Key != key {
			continue
		}
		if k.Filter == countryFilter {
			d.serveCountries(w, r)
			return
		}
		if l, ok := query.ListNamed(k.Filter); ok {
			d.serveList(w, r, l)
			return
		}
		var out []query.Choice
		for _, e := range enums[k.Filter] {
			out = append(out, query.Choice{Text: e.Value, Value: e.Value})
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	_, err := conditions([]adhocFilter{{Key: key, Operator: "="}})
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
}

// serveCountries answers the country key's values: the countries servers
// were reached in, most streams first.
func (d *Datasource) serveCountries(w http.ResponseWriter, r *http.Request) {
	db, err := d.readDB()
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	out, err := query.Countries(r.Context(), db.SQL(), d.cfg.Geo)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, out)
}
