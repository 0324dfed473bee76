package query

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
)

// TestGeoAgreesWithRawRows places each stream's server with the embedded
// table and sums per service and country from the rows.
func TestGeoAgreesWithRawRows(t *testing.T) {
	db := officeDB(t)
	loc := geo.Builtin()
	type sums struct {
		streams, bytes int64
		servers        map[string]bool
	}
	want := map[string]*sums{}
	for _, s := range sharedtest.Rows(t, db, `SELECT server_name, server, bytes_up + bytes_down FROM streams`) {
		name, server, bytes := s[0].(string), s[1].(string), s[2].(int64)
		if name == "" {
			name = Unnamed
		}
		country := loc.Country(netip.MustParseAddr(server))
		k := name + "|" + country
		if want[k] == nil {
			want[k] = &sums{servers: map[string]bool{}}
		}
		want[k].streams++
		want[k].bytes += bytes
		want[k].servers[server] = true
	}
	wantText := map[string]string{}
	countries := map[string]bool{}
	for k, s := range want {
		country := k[len(k)-2:]
		if k[len(k)-1] == '|' {
			country = ""
		}
		countries[country] = true
		wantText[k] = fmt.Sprint(country != "" && country != "JP", s.streams, s.bytes, len(s.servers))
	}
	year := RangeOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	f, err := Geo(context.Background(), db, GeoQuery{TableQuery: TableQuery{Range: year, Limit: 1000}, Locator: loc, Home: "JP"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i := 0; i < f.Rows(); i++ {
		row := f.RowCopy(i)
		got[row[0].(string)+"|"+row[1].(string)] = fmt.Sprint(row[2], row[3], row[4], row[5])
	}
	if diff := cmp.Diff(wantText, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(countries) < 3 {
		t.Errorf("the office's servers are in %v only", countries)
	}
}
