package query

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/saaslens/saaslens/pkg/store"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// usagePoint is one series' value in the step starting at t.
type usagePoint struct {
	t      int64
	series string
	v      int64
}

// summedUsage reads the points of a summed metric and the top services'
// totals (the rows without a time).
func summedUsage(ctx context.Context, db *sql.DB, text string, args []any) ([]usagePoint, map[string]int64, error) {
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var points []usagePoint
	rank := map[string]int64{}
	for rows.Next() {
		var t sql.NullInt64
		var p usagePoint
		if err := rows.Scan(&t, &p.series, &p.v); err != nil {
			return nil, nil, err
		}
		if !t.Valid {
			rank[p.series] = p.v
			continue
		}
		p.t = t.Int64
		points = append(points, p)
	}
	return points, rank, rows.Err()
}

// distinctUsage counts distinct clients or devices per step and service
// from rows of (time, service, who, hours), in Go: SQLite sorted the rows
// twice (the ranking and the steps) and that took seconds a month. Bit h
// of hours says who was active h hours after the row's time, which counts
// in the step holding that hour; with listed, service is a list of
// services, a line each. The top services rank by who used them over the
// whole range; Other counts each one once per step, whichever other
// services it used.
func distinctUsage(ctx context.Context, db *sql.DB, text string, args []any, step int64, top int, listed bool) ([]usagePoint, map[string]int64, error) {
	u, err := readUses(ctx, db, text, args, step, listed)
	if err != nil {
		return nil, nil, err
	}
	isTop, rank := u.top(top)
	type point struct {
		t       int64
		service int32 // -1: Other
	}
	counts := map[point]int64{}
	others := map[use]struct{}{}
	for s := range u.seen {
		if isTop[s.service] {
			counts[point{s.t, s.service}]++
		} else if _, dup := others[use{s.t, -1, s.user}]; !dup {
			others[use{s.t, -1, s.user}] = struct{}{}
			counts[point{s.t, -1}]++
		}
	}
	points := make([]usagePoint, 0, len(counts))
	for k, v := range counts {
		name := Other
		if k.service >= 0 {
			name = u.serviceNames[k.service]
		}
		points = append(points, usagePoint{k.t, name, v})
	}
	// The order the frame's series first appear in does not matter (they
	// are sorted by rank), but the same input must give the same frame.
	sort.Slice(points, func(i, j int) bool {
		if points[i].t != points[j].t {
			return points[i].t < points[j].t
		}
		return points[i].series < points[j].series
	})
	return points, rank, nil
}

// use is a user of a service in the step starting at t: names and users as
// small numbers, as a month has a million rows.
type use struct {
	t             int64
	service, user int32
}

// uses are who used what in which step.
type uses struct {
	seen         map[use]struct{}
	serviceNames []string
}

// readUses reads the rows of (time, service, who, hours) into uses.
func readUses(ctx context.Context, db *sql.DB, text string, args []any, step int64, listed bool) (uses, error) {
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return uses{}, err
	}
	defer rows.Close()
	services, users := map[string]int32{}, map[string]int32{}
	u := uses{seen: map[use]struct{}{}}
	intern := func(m map[string]int32, s string) int32 {
		id, ok := m[s]
		if !ok {
			id = int32(len(m))
			m[s] = id
		}
		return id
	}
	var t, hours int64
	var service string
	var user sql.NullString
	for rows.Next() {
		if err := rows.Scan(&t, &service, &user, &hours); err != nil {
			return uses{}, err
		}
		if !user.Valid {
			continue // an address that is no device (deviceOf)
		}
		who := intern(users, user.String)
		names := []string{service}
		if listed {
			names = strings.Split(service, "\n")
		}
		for _, name := range names {
			id := intern(services, name)
			if int(id) == len(u.serviceNames) {
				u.serviceNames = append(u.serviceNames, name)
			}
			store.EachHour(t, hours, func(hour int64) {
				u.seen[use{timecut.Floor(hour, step), id, who}] = struct{}{}
			})
		}
	}
	return u, rows.Err()
}

// top ranks the services by who used them over the whole range: which are
// the top n, and their counts by name.
func (u uses) top(n int) ([]bool, map[string]int64) {
	type pair struct{ service, user int32 }
	overall := map[pair]struct{}{}
	for s := range u.seen {
		overall[pair{s.service, s.user}] = struct{}{}
	}
	total := make([]int64, len(u.serviceNames))
	for p := range overall {
		total[p.service]++
	}
	ranked := make([]int32, len(u.serviceNames))
	for i := range ranked {
		ranked[i] = int32(i)
	}
	sort.Slice(ranked, func(i, j int) bool {
		a, b := ranked[i], ranked[j]
		if total[a] != total[b] {
			return total[a] > total[b]
		}
		return u.serviceNames[a] < u.serviceNames[b]
	})
	isTop := make([]bool, len(u.serviceNames))
	rank := map[string]int64{}
	for _, id := range ranked[:min(n, len(ranked))] {
		isTop[id] = true
		rank[u.serviceNames[id]] = total[id]
	}
	return isTop, rank
}

// steps checks a time series' step over r and returns its first bucket
// and how many buckets cover r.
func steps(r Range, step time.Duration) (first, n int64, err error) {
	if step <= 0 {
		return 0, 0, fmt.Errorf("step %s must be more than 0", step)
	}
	if r.To < r.From {
		return 0, 0, fmt.Errorf("the range ends before it starts")
	}
	first = timecut.Floor(r.From, int64(step))
	n = (r.To-first)/int64(step) + 1
	if n > maxBuckets {
		return 0, 0, fmt.Errorf("%d steps of %s over the range, more than %d: choose a longer interval", n, step, maxBuckets)
	}
	return first, n, nil
}
