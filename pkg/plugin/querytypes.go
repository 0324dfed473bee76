package plugin

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/query"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// A query type is one kind of panel query. Each declares, once, its name,
// what it answers, the options it reads (its options struct: the JSON a
// panel saves) and how it answers; the dispatch, its error message and the
// meta resource the editors read all come from queryTypes.
type queryType struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description"`
	// Frame is what it returns: "timeseries" (wide, a time field and a
	// field per series) or "table".
	Frame string `json:"frame"`
	// Options are the JSON names of the options it reads; Groupings the
	// groupings its groupBy takes, when not all.
	Options   []string `json:"options"`
	Groupings []string `json:"groupings,omitempty"`
	// Internal types are not offered to panels: the variable and
	// annotation editors'.
	Internal bool `json:"internal,omitempty"`
	answer   func(ctx context.Context, d *Datasource, db *sql.DB, raw json.RawMessage, dq backend.DataQuery) (*data.Frame, error)
}

// kind builds a query type whose options are O.
func kind[O any](name, label, description, frame string, run func(context.Context, *Datasource, *sql.DB, O, backend.DataQuery) (*data.Frame, error)) queryType {
	var zero O
	return queryType{Name: name, Label: label, Description: description, Frame: frame, Options: jsonNames(reflect.TypeOf(zero)),
		answer: func(ctx context.Context, d *Datasource, db *sql.DB, raw json.RawMessage, dq backend.DataQuery) (*data.Frame, error) {
			var o O
			if err := json.Unmarshal(raw, &o); err != nil {
				return nil, fmt.Errorf("%s options: %w", name, err)
			}
			return run(ctx, d, db, o, dq)
		}}
}

// internal keeps the type from the panel editor.
func (t queryType) internal() queryType {
	t.Internal = true
	return t
}

// groupedBy narrows the type's groupings to those keep keeps: a devices
// row is already a device, so it groups by what, not by who.
func (t queryType) groupedBy(keep func(query.Grouping) bool) queryType {
	for _, g := range query.Groupings {
		if keep(g) {
			t.Groupings = append(t.Groupings, g.Value)
		}
	}
	return t
}

// jsonNames lists a struct's JSON field names, those of embedded structs
// included.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonNames(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" && f.Tag.Get("meta") != "-" {
			out = append(out, name)
		}
	}
	return out
}

// filterOptions narrow a query: lists of values, empty or holding "*" (a
// template variable at "All") narrowing nothing. Every query type that
// narrows takes them all.
type filterOptions struct {
	Services []string `json:"services"`
	Clients  []string `json:"clients"`
	// Devices as device_id names them: the MAC where seen, else the
	// address.
	Devices    []string `json:"devices"`
	Vendors    []string `json:"vendors"`
	Products   []string `json:"products"`
	Categories []string `json:"categories"`
	Kinds      []string `json:"kinds"`
	// As the inventory names them.
	Users       []string `json:"users"`
	Departments []string `json:"departments"`
	// The dashboard's, not an option a panel sets: query has checked them.
	AdhocFilters []adhocFilter `json:"adhocFilters" meta:"-"`
}

func (f filterOptions) filter() query.Filter {
	conds := filterConditions(f.AdhocFilters)
	return query.Filter{Services: f.Services, Clients: f.Clients, Devices: f.Devices, Vendors: f.Vendors, Products: f.Products,
		Categories: f.Categories, Kinds: f.Kinds, Users: f.Users, Departments: f.Departments, Conditions: conds}
}

// tableOptions are a table query's: what a row is, how many rows, filters.
type tableOptions struct {
	GroupBy string `json:"groupBy"`
	Limit   int    `json:"limit"`
	filterOptions
}

func (o tableOptions) table(dq backend.DataQuery) query.TableQuery {
	return query.TableQuery{Range: rangeOf(dq), Filter: o.filter(), GroupBy: o.GroupBy, Limit: min(o.Limit, maxTableRows)}
}

// listOptions are the options of a table query whose rows are fixed.
type listOptions struct {
	Limit int `json:"limit"`
	filterOptions
}

type usageOptions struct {
	Metric  string `json:"metric"`
	TopN    int    `json:"topN"`
	GroupBy string `json:"groupBy"`
	filterOptions
}

type latencyOptions struct {
	Measure     string    `json:"measure"`
	Percentiles []float64 `json:"percentiles"`
	// View is time (default) or dayOfMonth: every month's streams by
	// their calendar day (in timeZone), for month-end slowdowns.
	View    string `json:"view"`
	GroupBy string `json:"groupBy"`
	TopN    int    `json:"topN"`
	filterOptions
}

type licencesOptions struct {
	// Days without use that make a contract a cancellation candidate,
	// and days ahead in which a renewal is due (0: defaults).
	IdleDays    int `json:"idleDays"`
	RenewalDays int `json:"renewalDays"`
}

type sqlOptions struct {
	RawSQL string `json:"rawSql"`
	Format string `json:"format"`
}

// alertOptions are an alert signal's: which, and the filters that narrow
// the vendors it reads.
type alertOptions struct {
	Signal string `json:"signal"`
	filterOptions
}

// annotationsOptions are an annotation query's: which events, and for
// coverage gaps the shortest one marked.
type annotationsOptions struct {
	Events     string `json:"events"`
	GapMinutes int    `json:"gapMinutes"`
}

type variableOptions struct {
	Variable string `json:"variable"`
}

func rangeOf(dq backend.DataQuery) query.Range {
	return query.RangeOf(dq.TimeRange.From, dq.TimeRange.To)
}

// queryTypes are the query types, in the order the editor offers them.
var queryTypes = []queryType{
	kind("usage", "Usage", "A metric per service over time", "timeseries",
		func(ctx context.Context, d *Datasource, db *sql.DB, o usageOptions, dq backend.DataQuery) (*data.Frame, error) {
			r := rangeOf(dq)
			return query.Usage(ctx, db, query.UsageQuery{Metric: o.Metric, Range: r, TopN: o.TopN, Filter: o.filter(), GroupBy: o.GroupBy,
				Step: timecut.Step(r.From, r.To, dq.Interval, dq.MaxDataPoints)})
		}),
	kind("latency", "Latency", "Handshake and round-trip percentiles, resets, retransmissions", "timeseries", answerLatency),
	kind("licences", "Licences", "Active devices and users against seats per contract and month", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o licencesOptions, dq backend.DataQuery) (*data.Frame, error) {
			frame, err := query.Licences(ctx, db, query.LicencesQuery{Range: rangeOf(dq), IdleDays: o.IdleDays, RenewalDays: o.RenewalDays}, d.cfg.Location)
			if err == nil {
				d.noteContractsProblem(frame)
			}
			return frame, err
		}),
	kind("shadowIT", "Shadow IT", "SaaS in use that no contract covers, and names no catalog knows", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o listOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.ShadowIT(ctx, db, tableOptions{Limit: o.Limit, filterOptions: o.filterOptions}.table(dq), d.cfg.Location)
		}),
	kind("unclassified", "Unclassified", "Names no catalog knows, by registrable domain: what to name next", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o listOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.Unclassified(ctx, db, tableOptions{Limit: o.Limit, filterOptions: o.filterOptions}.table(dq), d.cfg.Location)
		}),
	kind("monthOverMonth", "Month over month", "The range's last month against the one before", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o tableOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.MonthOverMonth(ctx, db, o.table(dq), d.cfg.Location)
		}),
	kind("devices", "Devices", "Which devices use each service: first and last use, days active", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o tableOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.Devices(ctx, db, o.table(dq), d.cfg.Location)
		}).groupedBy(func(g query.Grouping) bool { return !g.ByDevice }),
	kind("geo", "Servers abroad", "Streams and bytes per service and server country; outside the home country flagged", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o tableOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.Geo(ctx, db, query.GeoQuery{TableQuery: o.table(dq), Locator: d.cfg.Geo, Home: d.cfg.Home, Countries: countryConditions(o.AdhocFilters)})
		}),
	kind("serverNames", "Server names", "One row per service: accesses, bytes, clients", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o tableOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.ServerNames(ctx, db, o.table(dq), d.cfg.Location)
		}),
	kind("streams", "Streams", "One row per stream, as in the tutorial", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o listOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.Streams(ctx, db, tableOptions{Limit: o.Limit, filterOptions: o.filterOptions}.table(dq))
		}),
	kind("sql", "SQL", "Your own SQL over the SaaSLens tables", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o sqlOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.RunSQL(ctx, db, query.SQLQuery{Text: o.RawSQL, Format: o.Format, Range: rangeOf(dq), Interval: dq.Interval})
		}),
	kind("alert", "Alert signal", "A number per label set for alert rules: new vendors without a contract, licence utilisation, handshake p95, capture age", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o alertOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.Signal(ctx, db, query.SignalQuery{Signal: o.Signal, Range: rangeOf(dq), Filter: o.filter()}, d.cfg.Location)
		}),
	kind("variable", "Variable", "A template variable's values", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o variableOptions, dq backend.DataQuery) (*data.Frame, error) {
			return variable(ctx, db, o.Variable, rangeOf(dq))
		}).internal(),
	kind("annotations", "Annotations", "Events marked on a dashboard's time series: new SaaS vendors, gaps in capture coverage, damaged or unreadable capture files", "table",
		func(ctx context.Context, d *Datasource, db *sql.DB, o annotationsOptions, dq backend.DataQuery) (*data.Frame, error) {
			return query.Annotations(ctx, db, query.AnnotationsQuery{Range: rangeOf(dq), Events: o.Events, GapMinutes: o.GapMinutes})
		}).internal(),
}

func answerLatency(ctx context.Context, d *Datasource, db *sql.DB, o latencyOptions, dq backend.DataQuery) (*data.Frame, error) {
	r := rangeOf(dq)
	lq := query.LatencyQuery{Measure: o.Measure, Percentiles: o.Percentiles, Range: r, Filter: o.filter(), GroupBy: o.GroupBy, TopN: o.TopN,
		Step: timecut.Step(r.From, r.To, dq.Interval, dq.MaxDataPoints)}
	switch o.View {
	case "", "time":
	case "dayOfMonth":
		lq.DayOfMonth = d.cfg.Location
	default:
		return nil, fmt.Errorf("latency: view %q: want time or dayOfMonth", o.View)
	}
	return query.Latency(ctx, db, lq)
}

// queryTypeNamed finds a query type by name; "" is usage.
func queryTypeNamed(name string) (queryType, error) {
	if name == "" {
		name = "usage"
	}
	names := make([]string, len(queryTypes))
	for i, t := range queryTypes {
		if t.Name == name {
			return t, nil
		}
		names[i] = t.Name
	}
	return queryType{}, fmt.Errorf("unknown query type %q: want %s", name, strings.Join(names, ", "))
}
