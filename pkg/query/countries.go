package query

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"

	"github.com/saaslens/saaslens/pkg/geo"
)

// maxCountryServices bounds the server names a country filter becomes:
// each is a bound argument, and SQLite takes at most 32,766 of them.
const maxCountryServices = 30000

// serverPlaces is every server name with the countries of the addresses it
// was reached at (the hourly totals per server address, kept through
// retention), and the streams to each country.
func serverPlaces(ctx context.Context, db *sql.DB, locator geo.Locator) (map[string][]string, map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT server_name, server, sum(streams) FROM server_usage_hourly GROUP BY 1, 2`)
	if err != nil {
		return nil, nil, fmt.Errorf("server countries: %w", err)
	}
	defer rows.Close()
	places := map[string][]string{}
	streams := map[string]int64{}
	place := placer(locator)
	for rows.Next() {
		var name, server string
		var n int64
		if err := rows.Scan(&name, &server, &n); err != nil {
			return nil, nil, fmt.Errorf("server countries: %w", err)
		}
		country := place(server)
		if country == geo.Unknown {
			continue
		}
		if !slices.Contains(places[name], country) {
			places[name] = append(places[name], country)
		}
		streams[country] += n
	}
	return places, streams, rows.Err()
}

// ServicesIn are the server names reached at an address in any of the
// countries: what a filter on the server country keeps. A name served
// from several countries (a CDN's) is in each of them.
func ServicesIn(ctx context.Context, db *sql.DB, locator geo.Locator, countries []string) ([]string, error) {
	places, _, err := serverPlaces(ctx, db, locator)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for name, cs := range places {
		if slices.ContainsFunc(cs, func(c string) bool { return slices.Contains(countries, c) }) {
			out = append(out, name)
		}
	}
	if len(out) > maxCountryServices {
		return nil, fmt.Errorf("servers in %v: %d server names, more than a filter takes (%d): filter by vendor or service instead", countries, len(out), maxCountryServices)
	}
	sort.Strings(out)
	return out, nil
}

// Countries lists the countries servers were reached in, most streams
// first (ISO 3166-1 alpha-2 codes, as the geo question gives them).
func Countries(ctx context.Context, db *sql.DB, locator geo.Locator) ([]Choice, error) {
	_, streams, err := serverPlaces(ctx, db, locator)
	if err != nil {
		return nil, err
	}
	codes := make([]string, 0, len(streams))
	for c := range streams {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if streams[codes[i]] != streams[codes[j]] {
			return streams[codes[i]] > streams[codes[j]]
		}
		return codes[i] < codes[j]
	})
	out := make([]Choice, len(codes))
	for i, c := range codes {
		out[i] = Choice{Text: c, Value: c}
	}
	return out, nil
}
