package query

import (
	"context"
	"database/sql"
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
	// Groupings by the device a stream came from, named by the inventory
	// (inventory.Load) or DHCP, and by its user and department.
	GroupDevice     = "device"
	GroupUser       = "user"
	GroupDepartment = "department"
)

// Grouping is one grouping as an editor offers it; ByDevice ones read the
// inventory (a devices row is already a device, and takes none of them).
type Grouping struct {
	Value       string `json:"value"`
	Label       string `json:"label"`
	Description string `json:"description,omitempty"`
	ByDevice    bool   `json:"byDevice,omitempty"`
}

// Groupings are the groupings, in the order editors offer them.
var Groupings = []Grouping{
	{GroupService, "Server name", "", false},
	{GroupVendor, "Vendor", "", false},
	{GroupProduct, "Product", "", false},
	{GroupCategory, "Category", "", false},
	{GroupDevice, "Device", "The inventory or DHCP name, else MAC or address", true},
	{GroupUser, "User", "As the inventory file names them", true},
	{GroupDepartment, "Department", "As the inventory file names them", true},
}

// NoUser and NoDepartment stand for devices the inventory does not name.
const (
	NoUser       = "(no user)"
	NoDepartment = "(no department)"
)

// inventoryOf is the inventory column c of the device of the row aliased
// t, joined as im (by MAC) and ia (by address): the MAC's entry first.
func inventoryOf(c string) string {
	return `coalesce(nullif(im.` + c + `, ''), nullif(ia.` + c + `, ''), '')`
}

// deviceNameOf names the device of the row aliased t: its inventory name,
// else its DHCP host name (d joined by MAC), else its MAC or address.
func deviceNameOf(t string) string {
	return `coalesce(nullif(` + inventoryOf("device") + `, ''), nullif(d.hostname, ''), ` + deviceOf(t) + `)`
}

// needsInventory tells whether grouping g reads the inventory.
func needsInventory(g string) bool {
	return g == GroupDevice || g == GroupUser || g == GroupDepartment
}

// Unknown is the category (and kind) of a name no source classifies; such
// names keep their server name as vendor and product.
const Unknown = "unknown"

// KindSaaS is the kind of a person's use of a service (classify.KindSaaS):
// what licences, active devices, shadow IT and month over month count.
const KindSaaS = "saas"

// serviceOf is the service column of the table aliased t: its server name.
func serviceOf(t string) string {
	return `CASE ` + t + `.server_name WHEN '' THEN '` + Unnamed + `' ELSE ` + t + `.server_name END`
}

// groupLabel names what grouping g groups by: a frame's label or column.
func groupLabel(g string) string {
	if g == "" {
		return GroupService
	}
	return g
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
		return productOf(t), nil
	case GroupCategory:
		return `CASE WHEN ` + unknown + ` THEN '` + Unknown + `' ELSE sv.category END`, nil
	case GroupDevice:
		return deviceNameOf(t), nil
	case GroupUser:
		return `coalesce(nullif(` + inventoryOf("user") + `, ''), '` + NoUser + `')`, nil
	case GroupDepartment:
		return `coalesce(nullif(` + inventoryOf("department") + `, ''), '` + NoDepartment + `')`, nil
	}
	values := make([]string, len(Groupings))
	for i, gr := range Groupings {
		values[i] = gr.Value
	}
	return "", fmt.Errorf("group by %q: want %s", g, strings.Join(values, ", "))
}

// productOf names the product of the row aliased t, joined to services as
// sv: "Microsoft Teams", or the server name when no source knows it.
func productOf(t string) string {
	return `CASE WHEN coalesce(sv.vendor, '') = '' THEN ` + serviceOf(t) + ` WHEN instr(sv.product, sv.vendor) = 1 THEN sv.product ELSE sv.vendor || ' ' || sv.product END`
}

// Filter narrows a query; empty lists do not narrow, nor does a list
// holding All (a template variable's "All").
type Filter struct {
	Services []string // server names
	Clients  []string
	// Devices as device_id names them: the client MAC where seen, else
	// the address (deviceOf).
	Devices    []string
	Vendors    []string
	Products   []string // as productOf names them
	Categories []string
	Kinds      []string // saas, infra, unknown
	// Users and Departments as the inventory names them (NoUser and
	// NoDepartment for devices it does not).
	Users       []string
	Departments []string
	// Conditions narrow further, each on its own (a dashboard's ad hoc
	// filters): every one must hold, with the lists above.
	Conditions []Condition
}

// A Condition keeps the rows whose value of one filter (its list's name:
// services, vendors, ...) is one of Values, or, when Exclude, none of them.
type Condition struct {
	Filter  string
	Values  []string
	Exclude bool
}

// FilterNames are the filters a Condition may name, as Filter's lists and
// the query JSON name them.
var FilterNames = []string{"services", "clients", "devices", "vendors", "products", "categories", "kinds", "users", "departments"}

// filterColumn is the SQL value a filter compares, over the table aliased
// t joined to services as sv and the inventory, and how a filter value
// becomes an argument.
func filterColumn(filter, t string) (column string, arg func(string) string) {
	same := func(s string) string { return s }
	switch filter {
	case "services":
		return t + ".server_name", func(s string) string {
			if s == Unnamed {
				return ""
			}
			return s
		}
	case "clients":
		return t + ".client", same
	case "devices":
		return deviceOf(t), same
	case "vendors":
		return `coalesce(nullif(sv.vendor, ''), ` + serviceOf(t) + `)`, same
	case "products":
		return productOf(t), same
	case "categories":
		return `coalesce(nullif(sv.category, ''), '` + Unknown + `')`, same
	case "kinds":
		return `coalesce(nullif(sv.kind, ''), '` + Unknown + `')`, same
	case "users":
		return `coalesce(nullif(` + inventoryOf("user") + `, ''), '` + NoUser + `')`, same
	case "departments":
		return `coalesce(nullif(` + inventoryOf("department") + `, ''), '` + NoDepartment + `')`, same
	}
	panic("query: no filter " + filter)
}

// lists pairs each filter name with its list, conditions left out.
func (f Filter) lists() [][]string {
	return [][]string{f.Services, f.Clients, f.Devices, f.Vendors, f.Products, f.Categories, f.Kinds, f.Users, f.Departments}
}

// narrows tells whether the filter, lists or conditions, reads any of the
// named filters.
func (f Filter) narrows(names ...string) bool {
	lists := f.lists()
	for i, name := range FilterNames {
		if slices.Contains(names, name) && len(narrowing(lists[i])) > 0 {
			return true
		}
	}
	for _, c := range f.Conditions {
		if slices.Contains(names, c.Filter) {
			return true
		}
	}
	return false
}

// All in a filter list means no narrowing.
const All = "*"

func narrowing(list []string) []string {
	if slices.Contains(list, All) {
		return nil
	}
	return list
}

// perClient tells whether grouping by group or filtering by f needs the
// client of each stream: totals without a client column cannot answer.
func (f Filter) perClient(group string) bool {
	return f.narrows("clients", "devices") || needsInventory(group) || f.needsInventory()
}

// perService tells whether the filter reads each row's server name.
func (f Filter) perService() bool {
	return f.narrows("services") || f.needsServices()
}

// needsInventory tells whether the filter reads the inventory.
func (f Filter) needsInventory() bool {
	return f.narrows("users", "departments")
}

// needsServices tells whether the filter reads the services table.
func (f Filter) needsServices() bool {
	return f.narrows("vendors", "products", "categories", "kinds")
}

// where returns the filter's SQL conditions (each starting with AND) over
// the table aliased t joined to services as sv, and their arguments.
func (f Filter) where(t string) (string, []any) {
	var sb strings.Builder
	var args []any
	add := func(filter string, values []string, not string) {
		column, arg := filterColumn(filter, t)
		sb.WriteString(" AND " + column + not + " IN (" + placeholders(len(values)) + ")")
		for _, v := range values {
			args = append(args, arg(v))
		}
	}
	for i, list := range f.lists() {
		if values := narrowing(list); len(values) > 0 {
			add(FilterNames[i], values, "")
		}
	}
	for _, c := range f.Conditions {
		switch {
		case slices.Contains(c.Values, All) || len(c.Values) == 0 && c.Exclude:
			// A variable at All narrows nothing; excluding nothing neither.
		case len(c.Values) == 0:
			sb.WriteString(" AND 0")
		case c.Exclude:
			add(c.Filter, c.Values, " NOT")
		default:
			add(c.Filter, c.Values, "")
		}
	}
	return sb.String(), args
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// joins joins, to the table aliased t, the services table and the
// inventory (and the DHCP devices) when grouping by group or filtering by
// f reads them.
func joins(t, group string, f Filter) string {
	var j string
	if (group != GroupService && group != "" && !needsInventory(group)) || f.needsServices() {
		j += ` LEFT JOIN services sv ON sv.server_name = ` + t + `.server_name`
	}
	return j + devicesJoin(t, group, f)
}

// devicesJoin joins, to the table aliased t, what grouping by group or
// filtering by f reads of devices: the inventory, and the DHCP devices
// for device names.
func devicesJoin(t, group string, f Filter) string {
	var j string
	if needsInventory(group) || f.needsInventory() {
		j += inventoryJoin(t)
	}
	if group == GroupDevice {
		j += ` LEFT JOIN devices d ON d.mac = ` + t + `.client_mac`
	}
	return j
}

// inventoryNamesUsers tells whether the inventory names any user: without
// one, a count of users would read zero, as if nobody used anything.
func inventoryNamesUsers(ctx context.Context, db *sql.DB) (bool, error) {
	var named int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM inventory WHERE user != ''`).Scan(&named); err != nil {
		return false, fmt.Errorf("inventory: %w", err)
	}
	return named > 0, nil
}

// usersCount is SQL counting the distinct inventory users of the rows
// aliased t ("NULL" unless named, see inventoryNamesUsers), and the join
// it needs beyond what joins(t, group, f) brings.
func usersCount(t, group string, f Filter, named bool) (count, join string) {
	if !named {
		return "NULL", ""
	}
	if !needsInventory(group) && !f.needsInventory() {
		join = inventoryJoin(t)
	}
	return `count(DISTINCT nullif(` + inventoryOf("user") + `, ''))`, join
}

// inventoryJoin joins the inventory entries of the device of the row
// aliased t: im by its MAC, ia by its address.
func inventoryJoin(t string) string {
	return ` LEFT JOIN inventory im ON im.key = ` + t + `.client_mac AND ` + t + `.client_mac != ''` +
		` LEFT JOIN inventory ia ON ia.key = ` + t + `.client`
}
