package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

//go:embed report.html.tmpl
var templates embed.FS

var page = template.Must(template.ParseFS(templates, "report.html.tmpl"))

// view is the report as the page shows it: every number formatted in the
// report's language, the charts drawn.
type view struct {
	Lang, Title, Month, Generated, Partial string
	W                                      func(key string, args ...any) string
	Summary                                []fact
	MoMLead                                string
	MoMChart                               template.HTML
	Vendors                                [][]string
	UsersShown                             bool
	New, Gone                              string
	LicenceChart                           template.HTML
	Licences                               []licenceView
	Shadow                                 []shadowView
	MonthEndLead                           string
	HeatStrip, TLSLines                    template.HTML
	Slower                                 []string
	AbroadLead                             string
	HomeSet                                bool
	Abroad                                 [][]string
	DepartmentLead                         string
	Departments                            []departmentView
}

type fact struct{ Label, Value string }

type licenceView struct {
	Cells                 []string
	Cancel, Due, Unused   bool
	CancelNote, RenewNote string
}

type shadowView struct {
	Name, Products, Category, Devices, Bytes, Departments string
	New, Unclassified                                     bool
}

type departmentView struct {
	Name    string
	Vendors []string
}

// HTML writes the report as one self-contained page: no request leaves
// it (styles and charts inline, a Content-Security-Policy that forbids
// loading anything), printable to A4.
func (r *Report) HTML(w io.Writer) error {
	if err := page.Execute(w, r.view()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func (r *Report) view() view {
	w := words{r.Lang}
	v := view{Lang: r.Lang, W: w.t, Title: w.t("title") + " — " + w.month(r.Month), Month: w.month(r.Month),
		Generated: w.t("generated", w.date(r.Generated.In(r.Location))), UsersShown: r.UsersNamed, HomeSet: r.Home != ""}
	if r.Summary.Coverage < 99.5 {
		v.Partial = w.t("partial", w.percent(r.Summary.Coverage))
	}
	v.Summary = []fact{
		{w.t("vendors used"), w.number(int64(r.Summary.Vendors))},
		{w.t("active devices"), w.number(int64(r.Summary.Devices))},
	}
	if r.Summary.Users != nil {
		v.Summary = append(v.Summary, fact{w.t("active users"), w.number(int64(*r.Summary.Users))})
	}
	v.Summary = append(v.Summary, fact{w.t("traffic"), w.bytes(r.Summary.Bytes)}, fact{w.t("coverage"), w.percent(r.Summary.Coverage)})
	r.vendorsView(&v, w)
	r.licencesView(&v, w)
	for _, s := range r.ShadowIT {
		name := s.Name
		v.Shadow = append(v.Shadow, shadowView{Name: name, Products: s.Products, Category: s.Category, Devices: w.number(s.Devices),
			Bytes: w.bytes(s.Bytes), Departments: strings.Join(s.Departments, ", "), New: s.New, Unclassified: s.Unclassified})
	}
	r.monthEndView(&v, w)
	v.AbroadLead = w.t("abroad lead", r.Home)
	for _, a := range r.Abroad {
		v.Abroad = append(v.Abroad, []string{a.Vendor, a.Country, w.bytes(a.Bytes), w.number(a.Streams), w.number(a.Servers)})
	}
	who := w.t("devices word")
	if r.UsersNamed {
		who = w.t("users or devices")
	}
	v.DepartmentLead = w.t("department lead", who)
	for _, d := range r.Departments {
		name := d.Name
		if name == "" {
			name = w.t("no department")
		}
		dv := departmentView{Name: fmt.Sprintf("%s (%s)", name, w.number(int64(d.Users)))}
		for _, x := range d.Vendors {
			dv.Vendors = append(dv.Vendors, fmt.Sprintf("%s %s", x.Vendor, w.number(int64(x.Users))))
		}
		v.Departments = append(v.Departments, dv)
	}
	return v
}

// vendorsShown bounds the month-over-month chart: the largest movers.
const vendorsShown = 12

func (r *Report) vendorsView(v *view, w words) {
	v.MoMLead = w.t("mom lead", w.month(r.Month), w.month(r.Previous))
	var rows []bar
	for i, c := range r.Vendors {
		change := "–"
		if c.BytesChangePct != nil {
			change = w.change(*c.BytesChangePct)
		}
		row := []string{c.Vendor, w.number(c.DevicesLast), w.number(c.DevicesThis)}
		if r.UsersNamed {
			row = append(row, optional(w, c.UsersLast), optional(w, c.UsersThis))
		}
		v.Vendors = append(v.Vendors, append(row, w.bytes(c.BytesLast), w.bytes(c.BytesThis), change))
		if i < vendorsShown {
			rows = append(rows, bar{label: c.Vendor, values: []float64{float64(c.BytesLast), float64(c.BytesThis)},
				notes: []string{"", w.bytes(c.BytesThis)}})
		}
	}
	v.MoMChart = barChart(w.t("mom"), []string{w.month(r.Previous), w.month(r.Month)}, rows, 0, 0, "")
	v.New, v.Gone = joinOrNone(w, r.New), joinOrNone(w, r.Gone)
}

func (r *Report) licencesView(v *view, w words) {
	var rows []bar
	for _, l := range r.Licences {
		use := "–"
		if l.Utilisation != nil {
			use = w.percent(*l.Utilisation)
		}
		perUser := "–"
		if l.CostPerUser != nil {
			perUser = w.money(*l.CostPerUser, l.Currency)
		} else if l.CostPerDevice != nil {
			perUser = w.money(*l.CostPerDevice, l.Currency)
		}
		cells := []string{l.Vendor, l.Product, w.number(l.Seats), w.number(l.Active)}
		if r.UsersNamed {
			cells = append(cells, optional(w, l.Users))
		}
		cells = append(cells, use, w.number(l.Unused), w.money(l.MonthlyCost, l.Currency), perUser, l.Renewal)
		v.Licences = append(v.Licences, licenceView{Cells: cells, Cancel: l.CancellationCandidate, Due: l.RenewalDue, Unused: l.Unused > 0,
			CancelNote: w.t("cancel"), RenewNote: w.t("renewal due")})
		if l.Utilisation != nil {
			rows = append(rows, bar{label: productName(l.Vendor, l.Product), values: []float64{*l.Utilisation}, notes: []string{use}})
		}
	}
	if len(rows) > 0 {
		v.LicenceChart = barChart(w.t("utilisation"), []string{w.t("utilisation")}, rows, 100, 100, w.t("all seats"))
	}
}

func (r *Report) monthEndView(v *view, w words) {
	v.MonthEndLead = w.t("month end lead")
	if len(r.MonthEnd) == 0 {
		return
	}
	days := r.MonthEnd[0].LastDayOfTheMonth
	from := days - monthEndDays + 1
	var tls []line
	for _, m := range r.MonthEnd {
		tls = append(tls, line{label: m.Vendor, values: m.TLS})
		if m.SlowerAtMonthEnd {
			v.Slower = append(v.Slower, w.t("slower by", m.Vendor, w.ms(m.EndTLS), w.ms(m.RestTLS), w.percent(m.EndSlowerByPercent)))
		}
	}
	v.HeatStrip = heatStrip(w.t("tls"), days, tls, from)
	shown := tls[:min(len(tls), 5)]
	v.TLSLines = lineChart(w.t("tls"), "ms", days, shown, from)
}

func optional(w words, n *int64) string {
	if n == nil {
		return "–"
	}
	return w.number(*n)
}

func joinOrNone(w words, list []string) string {
	if len(list) == 0 {
		return w.t("none")
	}
	return strings.Join(list, ", ")
}

// productName names a contract's product as the panels do: "Microsoft 365
// E3", "Slack", "Cybozu kintone".
func productName(vendor, product string) string {
	if strings.HasPrefix(product, vendor) {
		return product
	}
	return vendor + " " + product
}
