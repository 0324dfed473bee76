package query

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/saaslens/saaslens/pkg/store"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// MonthOverMonth compares the calendar month (in loc) the range ends in
// (or the last the captures in the range reach, when they stop earlier)
// with the month before, per group: streams, bytes, active devices and
// (when the inventory names users) active users in each, with the
// absolute and relative change; the largest movers (by bytes) come
// first. It counts SaaS use (kind saas) unless the query names the kinds
// it wants: a device fetching a vendor's CDN assets is not a user. A month the captures only partly cover says so in its coverage
// column. It reads the totals per client (store.Plan.ClientTotals: daily for whole
// UTC days, hourly at the months' edges), so months are cut at whole
// hours (exact where the zone's offset is whole hours).
func MonthOverMonth(ctx context.Context, db *sql.DB, q TableQuery, loc *time.Location) (*data.Frame, error) {
	group, err := groupExpr(q.GroupBy, "u")
	if err != nil {
		return nil, fmt.Errorf("monthOverMonth: %w", err)
	}
	last, this, next, err := comparedMonths(ctx, db, q.Range, loc)
	if err != nil {
		return nil, fmt.Errorf("monthOverMonth: %w", err)
	}
	if q.Filter.Kinds == nil {
		q.Filter.Kinds = []string{KindSaaS}
	}
	filter, args := q.Filter.where("u")
	named, err := inventoryNamesUsers(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("monthOverMonth: %w", err)
	}
	plan, err := store.HoursPlan(last.UnixNano(), next.UnixNano()).InZone(ctx, db, loc)
	if err != nil {
		return nil, fmt.Errorf("monthOverMonth: %w", err)
	}
	users, userJoin := usersCount("u", q.GroupBy, q.Filter, named)
	// Each client's sums per name and month first, then the services and
	// inventory joined to those: joined to every daily and hourly row,
	// they took most of the time.
	text := `WITH u AS (SELECT client, client_mac, server_name, hour >= ? AS this_month, sum(streams) AS streams, sum(bytes_up + bytes_down) AS bytes
	FROM ` + plan.ClientTotals(last.UnixNano(), this.UnixNano(), next.UnixNano()) + ` GROUP BY 1, 2, 3, 4)
SELECT ` + group + ` AS g, u.this_month, sum(u.streams), sum(u.bytes), count(DISTINCT ` + deviceOf("u") + `),
	` + users + `
FROM u` + joins("u", q.GroupBy, q.Filter) + userJoin + `
WHERE 1` + filter + `
GROUP BY 1, 2`
	args = append([]any{this.UnixNano()}, args...)
	before, now, err := readMonthCounts(ctx, db, text, args)
	if err != nil {
		return nil, fmt.Errorf("monthOverMonth: %w", err)
	}
	frame := monthsFrame(groupLabel(q.GroupBy), before, now, q.limit(), named)
	lastCover, err := Coverage(ctx, db, last.UnixNano(), this.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("monthOverMonth: %w", err)
	}
	thisCover, err := Coverage(ctx, db, this.UnixNano(), next.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("monthOverMonth: %w", err)
	}
	frame.Meta = &data.FrameMeta{ExecutedQueryString: executed(text, args)}
	frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: fmt.Sprintf(
		"%s against %s (%s); captures cover %.0f%% and %.0f%% of them", this.Format("January 2006"), last.Format("January 2006"), loc, thisCover, lastCover)})
	setUnits(frame, map[string]string{"bytes_last_month": "decbytes", "bytes_this_month": "decbytes", "bytes_change": "decbytes",
		"streams_change_pct": "percent", "bytes_change_pct": "percent", "devices_change_pct": "percent", "users_change_pct": "percent"})
	return frame, nil
}

// comparedMonths are the month before, the month compared and the one
// after it: the latest month the captures reach within r. A range
// running past them (a dashboard's "now" over older captures, an ingest
// that stopped) compares the last month with traffic, not an empty one.
func comparedMonths(ctx context.Context, db *sql.DB, r Range, loc *time.Location) (last, this, next time.Time, err error) {
	var reach sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(last) FROM captures WHERE first <= ? AND last >= ?`, r.To, r.From).Scan(&reach); err != nil {
		return last, this, next, fmt.Errorf("captures: %w", err)
	}
	endAt := r.To
	if reach.Valid && reach.Int64 < endAt {
		endAt = reach.Int64
	}
	end := time.Unix(0, endAt).In(loc)
	this = time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, loc)
	return this.AddDate(0, -1, 0), this, this.AddDate(0, 1, 0), nil
}

// monthCounts are a group's counts in a month.
type monthCounts struct{ streams, bytes, devices, users int64 }

// readMonthCounts reads the groups' counts of the month before and of the
// month compared.
func readMonthCounts(ctx context.Context, db *sql.DB, text string, args []any) (before, now map[string]monthCounts, err error) {
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	now, before = map[string]monthCounts{}, map[string]monthCounts{}
	for rows.Next() {
		var g string
		var isThis bool
		var c monthCounts
		var users sql.NullInt64
		if err := rows.Scan(&g, &isThis, &c.streams, &c.bytes, &c.devices, &users); err != nil {
			return nil, nil, err
		}
		c.users = users.Int64
		if isThis {
			now[g] = c
		} else {
			before[g] = c
		}
	}
	return before, now, rows.Err()
}

// monthsFrame has a row per group, those whose bytes moved most first, up
// to limit: each count last month, this month, the change and the change
// in percent (null from nothing); users only when the inventory names
// them.
func monthsFrame(name string, before, now map[string]monthCounts, limit int, named bool) *data.Frame {
	names := map[string]bool{}
	for g := range now {
		names[g] = true
	}
	for g := range before {
		names[g] = true
	}
	order := make([]string, 0, len(names))
	for g := range names {
		order = append(order, g)
	}
	moved := func(g string) int64 { return abs(now[g].bytes - before[g].bytes) }
	sort.Slice(order, func(i, j int) bool {
		if moved(order[i]) != moved(order[j]) {
			return moved(order[i]) > moved(order[j])
		}
		return order[i] < order[j]
	})
	order = order[:min(len(order), limit)]
	cols := map[string][]int64{}
	rel := map[string][]*float64{}
	for _, g := range order {
		a, b := before[g], now[g]
		for _, m := range []struct {
			key    string
			va, vb int64
		}{{"streams", a.streams, b.streams}, {"bytes", a.bytes, b.bytes}, {"devices", a.devices, b.devices}, {"users", a.users, b.users}} {
			cols[m.key+"_last_month"] = append(cols[m.key+"_last_month"], m.va)
			cols[m.key+"_this_month"] = append(cols[m.key+"_this_month"], m.vb)
			cols[m.key+"_change"] = append(cols[m.key+"_change"], m.vb-m.va)
			rel[m.key+"_change_pct"] = append(rel[m.key+"_change_pct"], ratio(100*float64(m.vb-m.va), float64(m.va), m.va > 0))
		}
	}
	frame := data.NewFrame("monthOverMonth", data.NewField(name, nil, order))
	measures := []string{"streams", "bytes", "devices"}
	if named {
		measures = append(measures, "users")
	}
	for _, key := range measures {
		for _, suffix := range []string{"_last_month", "_this_month", "_change"} {
			v := cols[key+suffix]
			if v == nil {
				v = []int64{}
			}
			frame.Fields = append(frame.Fields, data.NewField(key+suffix, nil, v))
		}
		r := rel[key+"_change_pct"]
		if r == nil {
			r = []*float64{}
		}
		frame.Fields = append(frame.Fields, data.NewField(key+"_change_pct", nil, r))
	}
	return frame
}

func abs(v int64) int64 { return int64(math.Abs(float64(v))) }
