package plugin

import (
	"context"
	"reflect"
	"strings"

	"github.com/saaslens/saaslens/pkg/query"
	"github.com/saaslens/saaslens/pkg/store"
)

// Meta is what the editors need to know of the backend, from the lists the
// backend itself answers by: query types and their options, groupings,
// filters, template variables, raw SQL's macros and tables, and settings.
// The frontend keeps no lists of its own.
type Meta struct {
	// QueryVersion is the query model the backend reads up to.
	QueryVersion int               `json:"queryVersion"`
	QueryTypes   []queryType       `json:"queryTypes"`
	Groupings    []query.Grouping  `json:"groupings"`
	Filters      []filterMeta      `json:"filters"`
	Variables    []variableMeta    `json:"variables"`
	Macros       []query.Macro     `json:"macros"`
	Settings     []settingField    `json:"settings"`
	Tables       []store.Table     `json:"tables"`
	Enums        map[string][]enum `json:"enums"`
	// Defaults are the options' values when a query leaves them out.
	Defaults map[string]any `json:"defaults"`
	// TablesProblem is why Tables is empty: no database yet.
	TablesProblem string `json:"tablesProblem,omitempty"`
}

// filterMeta is one filter: its option's name, its label, and the list
// (a picker resource and variable) its values come from, or its values.
type filterMeta struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	List   string `json:"list,omitempty"`
	Values []enum `json:"values,omitempty"`
}

// variableMeta is a list a template variable may take its values from.
type variableMeta struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description"`
}

// enum is one value an option takes, as an editor shows it.
type enum struct {
	Value       string `json:"value"`
	Label       string `json:"label"`
	Description string `json:"description,omitempty"`
}

// enums are the options whose values are fixed.
var enums = map[string][]enum{
	"metric": {
		{query.MetricBytes, "Bytes", ""}, {query.MetricStreams, "Streams", ""}, {query.MetricClients, "Clients", ""},
		{query.MetricDevices, "Active devices", "Distinct devices: a client MAC where seen, else its address"},
	},
	"measure": {
		{"tls", "TLS handshake", "ClientHello to ServerHello"},
		{"serverRtt", "Server RTT", "SYN to SYN/ACK: the network beyond the capture point"},
		{"clientRtt", "Client RTT", "SYN/ACK to ACK: the client side"},
		{"resets", "Resets", "Share of streams ending in a reset"},
		{"retransmits", "Retransmits", "Share of TCP streams with a retransmitted segment"},
	},
	"view":   {{"time", "Over time", ""}, {"dayOfMonth", "Day of month", "Every month's streams together by calendar day, so month-end slowdowns show"}},
	"format": {{"table", "Table", ""}, {"time_series", "Time series", ""}},
	"signal": {
		{query.SignalNewVendors, "New vendors without a contract", "Devices per SaaS vendor first used this month that no contract covers"},
		{query.SignalLicenceUtilisation, "Licence utilisation", "Active devices against seats per contract this month, in percent"},
		{query.SignalHandshakeP95, "Handshake p95", "95th percentile TLS handshake per vendor over the range, in ms"},
		{query.SignalCaptureAge, "Capture age", "Minutes since each capture directory's newest packet: capture or ingest stalled"},
	},
	"events": {
		{query.EventNewVendors, "New SaaS vendors", "A vendor's first use; shadow IT when no contract covers it"},
		{query.EventCoverageGaps, "Coverage gaps", "Stretches between a capture directory's files with no packets"},
		{query.EventCaptureProblems, "Capture problems", "Files read only up to damage, or not at all"},
	},
	"kinds": {
		{"saas", "SaaS", "Services people use"},
		{"infra", "Infrastructure", "CDNs, certificate checks, updates, telemetry, ads"},
		{query.Unknown, "Unknown", "Names no catalog entry or contract knows"},
	},
}

// defaults are the options' values when a query leaves them out.
var defaults = map[string]any{
	"queryType": "usage", "metric": query.MetricStreams, "topN": query.DefaultTopN, "groupBy": query.GroupService,
	"limit": query.DefaultTableRows, "idleDays": query.DefaultIdleDays, "renewalDays": query.DefaultRenewalDays,
	"measure": query.DefaultMeasure, "percentiles": query.DefaultPercentiles, "view": "time", "format": "table", "variable": "services",
	"events": query.EventNewVendors, "signal": query.SignalNewVendors, "gapMinutes": query.DefaultGapMinutes,
}

// filters are filterOptions' fields, each with the list of the same name
// or, for kinds, its values.
var filters = func() []filterMeta {
	var out []filterMeta
	for _, name := range jsonNames(reflect.TypeFor[filterOptions]()) {
		f := filterMeta{Name: name, Label: strings.ToUpper(name[:1]) + name[1:]}
		if _, ok := query.ListNamed(name); ok {
			f.List = name
		} else {
			f.Values = enums[name]
		}
		out = append(out, f)
	}
	return out
}()

func (d *Datasource) meta(ctx context.Context) Meta {
	m := Meta{QueryVersion: QueryVersion, QueryTypes: queryTypes, Groupings: query.Groupings, Filters: filters, Variables: variables(),
		Macros: query.Macros, Settings: settingFields, Enums: enums, Defaults: defaults, Tables: []store.Table{}}
	db, err := d.readDB()
	if err == nil {
		m.Tables, err = store.Tables(ctx, db.SQL())
	}
	if err != nil {
		m.TablesProblem = err.Error()
	}
	return m
}

func variables() []variableMeta {
	out := make([]variableMeta, len(query.Lists))
	for i, l := range query.Lists {
		out[i] = variableMeta{l.Name, l.Label, l.Description}
	}
	return out
}
