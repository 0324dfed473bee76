package query

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/saaslens/saaslens/pkg/store"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// Choice is one entry of a picker or a template variable.
type Choice struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// List is what a picker or a template variable offers: services, clients
// or devices seen in a range (every one when the range is zero).
type List struct {
	// Name is the list's resource and variable name; Label and
	// Description say what it lists, for a variable's editor.
	Name, Label, Description string
	// SQL takes the range's start (floored to the hour) and end; Query
	// puts the totals per client over the range where it names
	// clientTotalsInRange.
	SQL    string
	choice func(a, b string) Choice
}

// clientTotalsInRange stands, in a list's SQL, for store.DayTotals over the
// range the list is loaded for.
const clientTotalsInRange = "client_totals_in_range"

// devicesSeen is the clients with use in a range, as u.
const devicesSeen = `(SELECT DISTINCT client, client_mac FROM ` + clientTotalsInRange + ` WHERE hour >= ? AND hour <= ?) u`

// Lists are the lists, in the order a variable's editor offers them; the
// resources and variable queries name them by Name.
var Lists = []List{
	// Services most used first, from the hourly rollup, which outlives
	// retention.
	{
		Name: "services", Label: "Services", Description: "Server names seen, most used first",
		SQL:    `SELECT ` + serviceOf("u") + `, sum(u.streams) FROM usage_hourly u WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// Vendors most used first; an unclassified name stands for itself.
	{
		Name: "vendors", Label: "Vendors", Description: "SaaS vendors, by the catalog and your contracts",
		SQL: `SELECT coalesce(nullif(sv.vendor, ''), ` + serviceOf("u") + `), sum(u.streams) FROM usage_hourly u LEFT JOIN services sv ON sv.server_name = u.server_name
	WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// Products most used first, named as grouping by product names them.
	{
		Name: "products", Label: "Products", Description: "Products of those vendors (\"Microsoft Teams\")",
		SQL: `SELECT ` + productOf("u") + `, sum(u.streams) FROM usage_hourly u LEFT JOIN services sv ON sv.server_name = u.server_name
	WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// Categories seen, most used first.
	{
		Name: "categories", Label: "Categories", Description: "Service categories (chat, storage, ...)",
		SQL: `SELECT coalesce(nullif(sv.category, ''), '` + Unknown + `'), sum(u.streams) FROM usage_hourly u LEFT JOIN services sv ON sv.server_name = u.server_name
	WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// Client addresses with the DHCP name of their device when known.
	{
		Name: "clients", Label: "Clients", Description: "Client addresses, with their DHCP host names",
		SQL: `SELECT u.client, coalesce(max(nullif(d.hostname, '')), '') FROM ` + clientTotalsInRange + ` u LEFT JOIN devices d ON d.mac = u.client_mac
	WHERE u.hour >= ? AND u.hour <= ? GROUP BY 1 ORDER BY sum(u.streams) DESC, 1 LIMIT 5000`,
		choice: func(client, host string) Choice {
			if host == "" {
				return Choice{Text: client, Value: client}
			}
			return Choice{Text: client + " (" + host + ")", Value: client}
		},
	},
	// Users and departments of the devices seen in the range, as the
	// inventory names them (NoUser, NoDepartment for devices it lacks).
	// The devices seen first, then the inventory joined to those: joined
	// to every hourly row it took three times as long.
	{
		Name: "users", Label: "Users", Description: "Users of the devices seen, as the inventory file names them",
		SQL:    `SELECT DISTINCT coalesce(nullif(` + inventoryOf("user") + `, ''), '` + NoUser + `'), '' FROM ` + devicesSeen + inventoryJoin("u") + ` ORDER BY 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	{
		Name: "departments", Label: "Departments", Description: "Departments of the devices seen, as the inventory file names them",
		SQL:    `SELECT DISTINCT coalesce(nullif(` + inventoryOf("department") + `, ''), '` + NoDepartment + `'), '' FROM ` + devicesSeen + inventoryJoin("u") + ` ORDER BY 1 LIMIT 5000`,
		choice: func(name, _ string) Choice { return Choice{Text: name, Value: name} },
	},
	// Devices (MACs), named by DHCP.
	{
		Name: "devices", Label: "Devices", Description: "MAC addresses, named by DHCP",
		SQL: `SELECT mac, hostname FROM devices WHERE last >= ? AND first <= ? ORDER BY hostname = '', hostname, mac LIMIT 5000`,
		choice: func(mac, host string) Choice {
			if host == "" {
				return Choice{Text: mac, Value: mac}
			}
			return Choice{Text: host + " (" + mac + ")", Value: mac}
		},
	},
	// The registrable domains of the names no source classifies, the most
	// devices first: what to name next in a catalog or contracts file.
	{
		Name: "unclassified", Label: "Unclassified", Description: "Domains of the names no catalog knows, the most devices first",
		SQL: `SELECT sv.domain, CAST(count(DISTINCT ` + deviceOf("u") + `) AS TEXT) FROM ` + clientTotalsInRange + ` u JOIN services sv ON sv.server_name = u.server_name
	WHERE u.hour >= ? AND u.hour <= ? AND sv.source = '' AND sv.domain != '' GROUP BY 1 ORDER BY count(DISTINCT ` + deviceOf("u") + `) DESC, sum(u.bytes_up + u.bytes_down) DESC, 1 LIMIT 5000`,
		choice: func(domain, devices string) Choice {
			unit := "devices"
			if devices == "1" {
				unit = "device"
			}
			return Choice{Text: domain + " (" + devices + " " + unit + ")", Value: domain}
		},
	},
}

// ListNames are the lists' names, in order.
func ListNames() []string {
	names := make([]string, len(Lists))
	for i, l := range Lists {
		names[i] = l.Name
	}
	return names
}

// ListNamed finds a list by name.
func ListNamed(name string) (List, bool) {
	for _, l := range Lists {
		if l.Name == name {
			return l, true
		}
	}
	return List{}, false
}

// Load runs the list over r.
func (l List) Load(ctx context.Context, db *sql.DB, r Range) ([]Choice, error) {
	text, from, to := l.Query(r)
	return choices(ctx, db, text, from, to, l.choice)
}

// Query returns the SQL the list runs over r, and its two arguments: r's
// start (floored to the hour) and end; all time when r is zero.
func (l List) Query(r Range) (text string, from, to int64) {
	if r == (Range{}) {
		// 1823 to 2116, with room to round without overflow.
		r = Range{From: -1 << 62, To: 1 << 62}
	}
	from = timecut.HourOf(r.From)
	text = strings.ReplaceAll(l.SQL, clientTotalsInRange, store.DayTotals(from, timecut.HourOf(r.To)+timecut.Hour))
	return text, from, r.To
}

func choices(ctx context.Context, db *sql.DB, text string, from, to int64, make func(a, b string) Choice) ([]Choice, error) {
	rows, err := db.QueryContext(ctx, text, from, to)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	out := []Choice{}
	for rows.Next() {
		var a string
		var b any
		if err := rows.Scan(&a, &b); err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		bs := ""
		if s, ok := b.(string); ok {
			bs = s
		}
		out = append(out, make(a, bs))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return out, nil
}
