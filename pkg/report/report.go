// Package report writes the monthly SaaS report: one self-contained HTML
// file for the people who never open Grafana — the IT manager reporting to
// management, finance renewing contracts. Every section answers from the
// same query code the panels use (package query), over one calendar month
// of the datasource's zone.
package report

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/saaslens/saaslens/pkg/classify"
	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/query"
)

// Options say which month to report on and how.
type Options struct {
	// Month is any instant of the month reported on, in Location.
	Month    time.Time
	Location *time.Location
	// Lang is "en" or "ja".
	Lang string
	// Home is the office's country (ISO 3166-1 alpha-2): servers
	// elsewhere are abroad. Locator places server addresses.
	Home    string
	Locator geo.Locator
}

// Report is a month's answers, section by section.
type Report struct {
	Month, Previous time.Time // first instants, in the zone
	Location        *time.Location
	Lang            string
	Home            string
	Summary         Summary
	Vendors         []VendorChange
	New, Gone       []string
	Licences        []Licence
	ShadowIT        []Shadow
	MonthEnd        []MonthEnd
	Abroad          []Abroad
	Departments     []Department
	// UsersNamed tells whether the inventory names users: without, user
	// counts are left out rather than shown as 0.
	UsersNamed bool
	Generated  time.Time
}

// Summary is the month at a glance.
type Summary struct {
	Vendors, Devices int
	Users            *int
	Bytes            int64
	// Coverage is the share of the month the captures cover (0..100).
	Coverage float64
}

// VendorChange is a vendor's use this month against last (month over
// month, SaaS use).
type VendorChange struct {
	Vendor                           string
	DevicesLast, DevicesThis         int64
	UsersLast, UsersThis             *int64
	BytesLast, BytesThis, BytesDelta int64
	BytesChangePct                   *float64
}

// Licence is a contract's month.
type Licence struct {
	Vendor, Product, Currency, Renewal string
	Seats, Active, Unused              int64
	Users                              *int64
	Utilisation, CostPerUser           *float64
	CostPerDevice                      *float64
	MonthlyCost                        float64
	DaysSinceUse, DaysToRenewal        *int64
	CancellationCandidate, RenewalDue  bool
}

// Shadow is a vendor, or a domain no catalog knows, used without a
// contract.
type Shadow struct {
	Name, Products, Category string
	Devices, Bytes           int64
	Unclassified, New        bool
	Departments              []string
}

// MonthEnd is a vendor's p95 TLS handshake and server round trip by day
// of the month (ms; NaN where nothing was measured), and whether its
// month end (the last three days) was slower than the rest.
type MonthEnd struct {
	Vendor             string
	TLS, ServerRTT     []float64
	EndTLS, RestTLS    float64
	SlowerAtMonthEnd   bool
	LastDayOfTheMonth  int
	MeasuredDays       int
	EndSlowerByPercent float64
}

// Abroad is what a vendor's servers in a country other than home
// carried.
type Abroad struct {
	Vendor, Country         string
	Bytes, Streams, Servers int64
}

// Department is what a department's devices used: vendors with their
// active users (or devices, when the inventory names no users).
type Department struct {
	Name    string
	Users   int
	Vendors []DepartmentVendor
}

// DepartmentVendor is a vendor's use in a department.
type DepartmentVendor struct {
	Vendor string
	Users  int
	Bytes  int64
}

// Build answers the month's questions from db.
func Build(ctx context.Context, db *sql.DB, o Options) (*Report, error) {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Lang == "" {
		o.Lang = DefaultLang(o.Location)
	}
	if _, ok := messages[o.Lang]; !ok {
		return nil, fmt.Errorf("report: language %q: want en or ja", o.Lang)
	}
	if o.Locator == nil {
		o.Locator = geo.Builtin()
	}
	t := o.Month.In(o.Location)
	month := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, o.Location)
	next := month.AddDate(0, 1, 0)
	r := &Report{Month: month, Previous: month.AddDate(0, -1, 0), Location: o.Location, Lang: o.Lang, Home: o.Home, Generated: time.Now()}
	rng := query.Range{From: month.UnixNano(), To: next.UnixNano() - 1}
	// Who used what is read once: the summary, the departments and shadow
	// IT's departments all count it.
	all, err := uses(ctx, db, rng, o.Location)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	steps := []func() error{
		func() error { return r.summaryAndDepartments(ctx, db, rng, all) },
		func() error { return r.vendorChanges(ctx, db, rng, o) },
		func() error { return r.licences(ctx, db, rng, o) },
		func() error { return r.shadowIT(ctx, db, rng, o, all) },
		func() error { return r.monthEnd(ctx, db, rng, o) },
		func() error { return r.abroad(ctx, db, rng, o) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	return r, nil
}

// use is a device's use of a server name in the month (query.Devices),
// with the name's service.
type use struct {
	device, user, department, name string
	bytes                          int64
	service                        classify.Service
}

// uses reads who used what in the month: devices per server name, each
// name's service as the server names question gives it.
func uses(ctx context.Context, db *sql.DB, rng query.Range, loc *time.Location) ([]use, error) {
	names, err := query.ServerNames(ctx, db, query.TableQuery{Range: rng, Limit: 50000}, loc)
	if err != nil {
		return nil, err
	}
	n := table{names}
	services := map[string]classify.Service{}
	for i := range n.rows() {
		services[n.text("server_name", i)] = classify.Service{Vendor: n.text("vendor", i), Product: n.text("product", i),
			Category: n.text("category", i), Kind: n.text("kind", i)}
	}
	devices, err := query.Devices(ctx, db, query.TableQuery{Range: rng, Limit: 50000}, loc)
	if err != nil {
		return nil, err
	}
	d := table{devices}
	out := make([]use, d.rows())
	for i := range out {
		name := d.text(query.GroupService, i)
		out[i] = use{device: d.text("device_id", i), user: d.text("user", i), department: d.text("department", i), name: name,
			bytes: d.count("bytes", i), service: services[name]}
	}
	return out, nil
}

// summaryAndDepartments counts the month's SaaS use: vendors, devices,
// users and bytes, overall and per department.
func (r *Report) summaryAndDepartments(ctx context.Context, db *sql.DB, rng query.Range, all []use) error {
	cover, err := query.Coverage(ctx, db, rng.From, rng.To+1)
	if err != nil {
		return err
	}
	r.Summary.Coverage = cover
	vendors, devices, users := map[string]bool{}, map[string]bool{}, map[string]bool{}
	type key struct{ department, vendor string }
	who := map[key]map[string]bool{}
	bytes := map[key]int64{}
	deptWho := map[string]map[string]bool{}
	for _, u := range all {
		r.UsersNamed = r.UsersNamed || u.user != ""
		if u.service.Kind != classify.KindSaaS {
			continue
		}
		vendors[u.service.Vendor], devices[u.device] = true, true
		if u.user != "" {
			users[u.user] = true
		}
		r.Summary.Bytes += u.bytes
		k := key{u.department, u.service.Vendor}
		if who[k] == nil {
			who[k] = map[string]bool{}
		}
		if deptWho[u.department] == nil {
			deptWho[u.department] = map[string]bool{}
		}
		person := u.device
		if u.user != "" {
			person = u.user
		}
		who[k][person], deptWho[u.department][person] = true, true
		bytes[k] += u.bytes
	}
	r.Summary.Vendors, r.Summary.Devices = len(vendors), len(devices)
	if r.UsersNamed {
		n := len(users)
		r.Summary.Users = &n
	}
	for name, people := range deptWho {
		d := Department{Name: name, Users: len(people)}
		for k, people := range who {
			if k.department == name {
				d.Vendors = append(d.Vendors, DepartmentVendor{Vendor: k.vendor, Users: len(people), Bytes: bytes[k]})
			}
		}
		sort.Slice(d.Vendors, func(i, j int) bool {
			a, b := d.Vendors[i], d.Vendors[j]
			if a.Users != b.Users {
				return a.Users > b.Users
			}
			return a.Vendor < b.Vendor
		})
		r.Departments = append(r.Departments, d)
	}
	sort.Slice(r.Departments, func(i, j int) bool {
		a, b := r.Departments[i], r.Departments[j]
		if (a.Name == "") != (b.Name == "") {
			return b.Name == ""
		}
		return a.Name < b.Name
	})
	return nil
}

// vendorChanges is month over month per vendor, SaaS use.
func (r *Report) vendorChanges(ctx context.Context, db *sql.DB, rng query.Range, o Options) error {
	f, err := query.MonthOverMonth(ctx, db, query.TableQuery{Range: rng, GroupBy: query.GroupVendor, Limit: 1000}, o.Location)
	if err != nil {
		return err
	}
	t := table{f}
	for i := range t.rows() {
		v := VendorChange{Vendor: t.text(query.GroupVendor, i),
			DevicesLast: t.count("devices_last_month", i), DevicesThis: t.count("devices_this_month", i),
			UsersLast: t.countOrNil("users_last_month", i), UsersThis: t.countOrNil("users_this_month", i),
			BytesLast: t.count("bytes_last_month", i), BytesThis: t.count("bytes_this_month", i),
			BytesDelta: t.count("bytes_change", i), BytesChangePct: t.amountOrNil("bytes_change_pct", i)}
		r.Vendors = append(r.Vendors, v)
		switch {
		case v.BytesLast == 0 && v.BytesThis > 0:
			r.New = append(r.New, v.Vendor)
		case v.BytesThis == 0 && v.BytesLast > 0:
			r.Gone = append(r.Gone, v.Vendor)
		}
	}
	slices.Sort(r.New)
	slices.Sort(r.Gone)
	return nil
}

// licences is each contract's month.
func (r *Report) licences(ctx context.Context, db *sql.DB, rng query.Range, o Options) error {
	f, err := query.Licences(ctx, db, query.LicencesQuery{Range: rng}, o.Location)
	if err != nil {
		return err
	}
	t := table{f}
	for i := range t.rows() {
		if !t.instant("month", i).Equal(r.Month) {
			continue
		}
		r.Licences = append(r.Licences, Licence{Vendor: t.text("vendor", i), Product: t.text("product", i), Currency: t.text("currency", i),
			Renewal: t.text("renewal", i), Seats: t.count("seats", i), Active: t.count("active_devices", i), Unused: t.count("unused_seats", i),
			Users: t.countOrNil("active_users", i), Utilisation: t.amountOrNil("utilisation", i), CostPerUser: t.amountOrNil("cost_per_active_user", i),
			CostPerDevice: t.amountOrNil("cost_per_active_device", i), MonthlyCost: t.amount("monthly_cost", i),
			DaysSinceUse: t.countOrNil("days_since_use", i), DaysToRenewal: t.countOrNil("days_to_renewal", i),
			CancellationCandidate: t.flag("cancellation_candidate", i), RenewalDue: t.flag("renewal_due", i)})
	}
	return nil
}

// shadowIT is what is used without a contract, with the departments of
// the devices that use it.
func (r *Report) shadowIT(ctx context.Context, db *sql.DB, rng query.Range, o Options, all []use) error {
	f, err := query.ShadowIT(ctx, db, query.TableQuery{Range: rng, Limit: 200}, o.Location)
	if err != nil {
		return err
	}
	// A row names a vendor, or the registrable domain of names no source
	// classifies.
	departments := map[string]map[string]bool{}
	for _, u := range all {
		name := u.service.Vendor
		if u.service.Kind == query.Unknown || u.service.Vendor == "" {
			name = classify.Domain(u.name)
		}
		if departments[name] == nil {
			departments[name] = map[string]bool{}
		}
		if u.department != "" {
			departments[name][u.department] = true
		}
	}
	t := table{f}
	for i := range t.rows() {
		s := Shadow{Name: t.text("vendor", i), Products: t.text("products", i), Category: t.text("category", i),
			Devices: t.count("devices", i), Bytes: t.count("bytes", i), Unclassified: t.flag("unclassified", i), New: t.flag("new_this_month", i)}
		for d := range departments[s.Name] {
			s.Departments = append(s.Departments, d)
		}
		slices.Sort(s.Departments)
		r.ShadowIT = append(r.ShadowIT, s)
	}
	return nil
}

// monthEndDays are the days at a month's end compared with the rest.
const monthEndDays = 3

// slowerBy is how much slower a month end's p95 must be than the rest's
// median to be called slower.
const slowerBy = 20.0

// monthEnd is the p95 handshake and server round trip per vendor and day
// of the month, SaaS use, the top vendors by streams measured.
func (r *Report) monthEnd(ctx context.Context, db *sql.DB, rng query.Range, o Options) error {
	series := map[string]*MonthEnd{}
	var order []string
	last := r.Month.AddDate(0, 1, -1).Day()
	for _, measure := range []string{"tls", "serverRtt"} {
		f, err := query.Latency(ctx, db, query.LatencyQuery{Measure: measure, Percentiles: []float64{95}, Range: rng, DayOfMonth: o.Location,
			GroupBy: query.GroupVendor, TopN: 10, Filter: query.Filter{Kinds: []string{query.KindSaaS}}})
		if err != nil {
			return err
		}
		for _, field := range f.Fields[1:] {
			vendor := field.Labels[query.GroupVendor]
			m := series[vendor]
			if m == nil {
				m = &MonthEnd{Vendor: vendor, LastDayOfTheMonth: last}
				series[vendor] = m
				order = append(order, vendor)
			}
			values := make([]float64, last)
			for day := range values {
				values[day] = nan
				if v, ok := field.ConcreteAt(day); ok {
					values[day] = v.(float64)
				}
			}
			if measure == "tls" {
				m.TLS = values
			} else {
				m.ServerRTT = values
			}
		}
	}
	for _, vendor := range order {
		m := series[vendor]
		if m.TLS == nil {
			m.TLS = nanDays(last)
		}
		if m.ServerRTT == nil {
			m.ServerRTT = nanDays(last)
		}
		m.judge(monthEndDays, slowerBy)
		r.MonthEnd = append(r.MonthEnd, *m)
	}
	return nil
}

// abroad is what each vendor's servers outside home carried.
func (r *Report) abroad(ctx context.Context, db *sql.DB, rng query.Range, o Options) error {
	if o.Home == "" {
		return nil
	}
	f, err := query.Geo(ctx, db, query.GeoQuery{TableQuery: query.TableQuery{Range: rng, GroupBy: query.GroupVendor, Limit: 1000},
		Locator: o.Locator, Home: o.Home})
	if err != nil {
		return err
	}
	t := table{f}
	for i := range t.rows() {
		if t.flag("abroad", i) {
			r.Abroad = append(r.Abroad, Abroad{Vendor: t.text(query.GroupVendor, i), Country: t.text("country", i),
				Bytes: t.count("bytes", i), Streams: t.count("streams", i), Servers: t.count("servers", i)})
		}
	}
	return nil
}
