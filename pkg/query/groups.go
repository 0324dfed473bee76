package query

import (
	"fmt"
	"slices"
	"strings"
)

// Groupings of a usage or server names query: what one series or row is.
const (
	GroupService  = "service" // the server name
	GroupVendor   = "vendor"
	GroupProduct  = "product"
	GroupCategory = "category"
)

// Unknown is the category (and kind) of a name no source classifies; such
// names keep their server name as vendor and product.
const Unknown = "unknown"

// serviceOf is the service column of the table aliased t: its server name.
func serviceOf(t string) string {
	return `CASE ` + t + `.server_name WHEN '' THEN '` + Unnamed + `' ELSE ` + t + `.server_name END`
}

// groupExpr is the SQL of grouping g over the table aliased t joined to
// services as sv.
func groupExpr(g, t string) (string, error) {
	unknown := `coalesce(sv.vendor, '') = ''`
	switch g {
	case GroupService, "":
		return serviceOf(t), nil
	case GroupVendor:
		return `CASE WHEN ` + unknown + ` THEN ` + serviceOf(t) + ` ELSE sv.vendor END`, nil
	case GroupProduct:
		return `CASE WHEN ` + unknown + ` THEN ` + serviceOf(t) + ` WHEN instr(sv.product, sv.vendor) = 1 THEN sv.product ELSE sv.vendor || ' ' || sv.product END`, nil
	case GroupCategory:
		return `CASE WHEN ` + unknown + ` THEN '` + Unknown + `' ELSE sv.category END`, nil
	}
	return "", fmt.Errorf("group by %q: want service, vendor, product or category", g)
}

// Filter narrows a query; empty lists do not narrow, nor does a list
// holding All (a template variable's "All").
type Filter struct {
	Services   []string // server names
	Clients    []string
	Vendors    []string
	Categories []string
	Kinds      []string // saas, infra, unknown
}

// All in a filter list means no narrowing.
const All = "*"

func narrowing(list []string) []string {
	if slices.Contains(list, All) {
		return nil
	}
	return list
}

// narrowingClients is the client filter, unless it is All.
func (f Filter) narrowingClients() []string { return narrowing(f.Clients) }

// needsServices tells whether the filter reads the services table.
func (f Filter) needsServices() bool {
	return len(narrowing(f.Vendors))+len(narrowing(f.Categories))+len(narrowing(f.Kinds)) > 0
}

// where returns the filter's SQL conditions (each starting with AND) over
// the table aliased t joined to services as sv, and their arguments.
func (f Filter) where(t string) (string, []any) {
	var sb strings.Builder
	var args []any
	add := func(column string, values []string, value func(string) string) {
		values = narrowing(values)
		if len(values) == 0 {
			return
		}
		sb.WriteString(" AND " + column + " IN (" + placeholders(len(values)) + ")")
		for _, v := range values {
			args = append(args, value(v))
		}
	}
	same := func(s string) string { return s }
	add(t+".server_name", f.Services, func(s string) string {
		if s == Unnamed {
			return ""
		}
		return s
	})
	add(t+".client", f.Clients, same)
	add(`coalesce(nullif(sv.vendor, ''), `+serviceOf(t)+`)`, f.Vendors, same)
	add(`coalesce(nullif(sv.category, ''), '`+Unknown+`')`, f.Categories, same)
	add(`coalesce(nullif(sv.kind, ''), '`+Unknown+`')`, f.Kinds, same)
	return sb.String(), args
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// joinServices joins the services table when grouping or filtering needs it.
func joinServices(t, group string, f Filter) string {
	if (group == GroupService || group == "") && !f.needsServices() {
		return ""
	}
	return ` LEFT JOIN services sv ON sv.server_name = ` + t + `.server_name`
}
