package query

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/store"
)

// GeoQuery asks where the servers of the streams active in a range are.
type GeoQuery struct {
	TableQuery
	Locator geo.Locator
	// Home is the office's country (ISO 3166-1 alpha-2); traffic to
	// servers elsewhere is abroad. "" marks nothing abroad.
	Home string
	// Countries keep the rows whose country each holds (Filter
	// "countries"): a dashboard's filter on the server country.
	Countries []Condition
}

// Geo returns one row per service (or GroupBy group) and server country:
// streams, bytes and distinct server addresses, and whether the country
// is abroad; most bytes first. Countries come from q.Locator, at query
// time, so a newer table or database places all history anew. A
// country-code field is what Grafana's geomap panel looks up (location
// mode "Lookup", gazetteer countries).
//
// From a day on (store.TotalsFrom) it reads the hourly totals per server
// address, unless it groups or filters by client, device, user or
// department, which those totals do not hold.
func Geo(ctx context.Context, db *sql.DB, q GeoQuery) (*data.Frame, error) {
	return geoOf(ctx, db, q, store.PlanRange(q.Range.From, q.Range.To))
}

func geoOf(ctx context.Context, db *sql.DB, q GeoQuery, plan store.Plan) (*data.Frame, error) {
	source := plan.Servers("s", q.Filter.perClient(q.GroupBy))
	group, err := groupExpr(q.GroupBy, "s")
	if err != nil {
		return nil, fmt.Errorf("geo: %w", err)
	}
	label := groupLabel(q.GroupBy)
	filter, args := q.Filter.where("s")
	devices := ""
	if !source.Totals {
		devices = devicesJoin("s", q.GroupBy, q.Filter)
	}
	text := `SELECT ` + group + ` AS g, s.server, ` + source.Streams + `, sum(s.bytes_up + s.bytes_down)
FROM ` + source.From + ` LEFT JOIN services sv ON sv.server_name = s.server_name` + devices + `
WHERE ` + source.Where + filter + `
GROUP BY 1, 2`
	totals, err := readCountries(ctx, db, text, args, q.Locator)
	if err != nil {
		return nil, fmt.Errorf("geo: %w", err)
	}
	for k := range totals {
		for _, c := range q.Countries {
			if slices.Contains(c.Values, k.country) == c.Exclude {
				delete(totals, k)
			}
		}
	}
	frame := geoTable(totals, label, q.Home, q.limit())
	frame.Meta = &data.FrameMeta{ExecutedQueryString: executed(text, args),
		Notices: []data.Notice{{Severity: data.NoticeSeverityInfo, Text: "countries from " + q.Locator.Source() + "; '' is a private or unplaced address"}}}
	if source.Totals {
		frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: store.TotalsNotice})
	}
	return frame, nil
}

// placer places server addresses, as stored, in countries, each address
// looked up once; an address it cannot parse is Unknown.
func placer(locator geo.Locator) func(server string) string {
	seen := map[string]string{}
	return func(server string) string {
		country, ok := seen[server]
		if !ok {
			if addr, err := netip.ParseAddr(server); err == nil {
				country = locator.Country(addr)
			}
			seen[server] = country
		}
		return country
	}
}

// countryKey is a group's servers in one country.
type countryKey struct{ group, country string }

// countrySums are what a group's servers in a country carried.
type countrySums struct{ streams, bytes, servers int64 }

// readCountries places the rows' (group, server, streams, bytes) servers
// and sums them per group and country.
func readCountries(ctx context.Context, db *sql.DB, text string, args []any, locator geo.Locator) (map[countryKey]*countrySums, error) {
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	totals := map[countryKey]*countrySums{}
	place := placer(locator)
	for rows.Next() {
		var g, server string
		var streams, bytes int64
		if err := rows.Scan(&g, &server, &streams, &bytes); err != nil {
			return nil, err
		}
		k := countryKey{g, place(server)}
		t := totals[k]
		if t == nil {
			t = &countrySums{}
			totals[k] = t
		}
		t.streams += streams
		t.bytes += bytes
		t.servers++
	}
	return totals, rows.Err()
}

// geoTable has a row per group and country, most bytes first, up to
// limit; a country other than home is abroad.
func geoTable(totals map[countryKey]*countrySums, label, home string, limit int) *data.Frame {
	keys := make([]countryKey, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := totals[keys[i]], totals[keys[j]]
		if a.bytes != b.bytes {
			return a.bytes > b.bytes
		}
		if keys[i].group != keys[j].group {
			return keys[i].group < keys[j].group
		}
		return keys[i].country < keys[j].country
	})
	keys = keys[:min(len(keys), limit)]
	n := len(keys)
	groups, codes := make([]string, n), make([]string, n)
	abroad := make([]bool, n)
	streams, bytes, servers := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, k := range keys {
		t := totals[k]
		groups[i], codes[i] = k.group, k.country
		abroad[i] = home != "" && k.country != geo.Unknown && k.country != home
		streams[i], bytes[i], servers[i] = t.streams, t.bytes, t.servers
	}
	frame := data.NewFrame("geo", data.NewField(label, nil, groups), data.NewField("country", nil, codes),
		data.NewField("abroad", nil, abroad), data.NewField("streams", nil, streams), data.NewField("bytes", nil, bytes),
		data.NewField("servers", nil, servers))
	setUnits(frame, map[string]string{"bytes": "decbytes", "streams": "short", "servers": "short"})
	return frame
}
