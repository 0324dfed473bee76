package query

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/store"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// Devices answers which devices use a service, and when: one row per
// device and service (or vendor, product, category: GroupBy) used in the
// range, with the device's name (inventory, else DHCP), MAC, addresses,
// user and department, the first and last hour it was used, the days (in
// loc) it was used on, streams and bytes; most bytes first. It reads the
// totals per client (a month's row where the range holds a month of the
// zone the monthly totals are cut in whole, or all of its data; then a
// day's where it holds the whole UTC day), so a stream counts in the hour
// it starts in and first and last seen are whole hours.
func Devices(ctx context.Context, db *sql.DB, q TableQuery, loc *time.Location) (*data.Frame, error) {
	group, err := groupExpr(q.GroupBy, "p")
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	if needsInventory(q.GroupBy) {
		return nil, fmt.Errorf("devices: group by %q: a row is already a device; want service, vendor, product or category", q.GroupBy)
	}
	if q.Range.To < q.Range.From {
		return nil, fmt.Errorf("devices: the range ends before it starts")
	}
	label := groupLabel(q.GroupBy)
	filter, args := q.Filter.where("p")
	from, to := timecut.HourOf(q.Range.From), timecut.HourOf(q.Range.To)+timecut.Hour
	// A row's first and last hours are its lowest and highest bits; the
	// local days it was used on, those of its first and last hours: a UTC
	// day's hours fall on at most two local days, in order.
	first, last := store.HourBoundsSQL("u")
	// The months the monthly totals answer for read those: their days are
	// bits, OR-ed per month in Go (addMonthDays).
	plan, err := store.HoursPlan(from, to).InZone(ctx, db, loc)
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	totals, months := store.DayTotals(from, to), ""
	if monthsFrom, monthsTo, ok := plan.MonthsWithin(from, to); ok {
		totals = `(SELECT * FROM ` + store.DayTotals(from, monthsFrom) + ` UNION ALL SELECT * FROM ` + store.UnclosedHours(monthsFrom, monthsTo) +
			` UNION ALL SELECT * FROM ` + store.DayTotals(monthsTo, to) + `)`
		months = "\n\tUNION ALL " + store.MonthlyRows(monthsFrom, monthsTo)
	}
	// Each client's sums per name and local day first, then the services,
	// inventory and DHCP names joined to those: joined to every totals
	// row, they took most of the time.
	text := `WITH u AS (SELECT client, client_mac, server_name, hour, hours, streams, bytes_up + bytes_down AS bytes FROM ` + totals + `),
	p AS (SELECT client, client_mac, server_name, day, min(first) AS first, max(last) AS last, sum(streams) AS streams, sum(bytes) AS bytes,
		NULL AS month, NULL AS days
	FROM (SELECT u.client, u.client_mac, u.server_name, ` + timecut.DaySQL(first, q.Range.From, q.Range.To, loc) + ` AS day, ` + first + ` AS first, ` + last + ` AS last, u.streams, u.bytes FROM u
		UNION ALL SELECT u.client, u.client_mac, u.server_name, ` + timecut.DaySQL(last, q.Range.From, q.Range.To, loc) + `, NULL, NULL, 0, 0 FROM u
		WHERE ` + timecut.DaySQL(last, q.Range.From, q.Range.To, loc) + ` != ` + timecut.DaySQL(first, q.Range.From, q.Range.To, loc) + `)
	GROUP BY 1, 2, 3, 4` + months + `)
SELECT max(` + deviceNameOf("p") + `) AS device, ` + deviceOf("p") + ` AS device_id, max(p.client_mac) AS mac,
	group_concat(DISTINCT p.client ORDER BY p.client) AS addresses, max(` + inventoryOf("user") + `) AS user, max(` + inventoryOf("department") + `) AS department,
	` + group + ` AS ` + label + `, min(p.first) AS first_seen, max(p.last) AS last_seen,
	count(DISTINCT p.day) AS days_active, sum(p.streams) AS streams, sum(p.bytes) AS bytes, group_concat(p.month || ':' || p.days) AS month_days
FROM p LEFT JOIN services sv ON sv.server_name = p.server_name` + inventoryJoin("p") + ` LEFT JOIN devices d ON d.mac = p.client_mac
WHERE ` + deviceOf("p") + ` IS NOT NULL` + filter + `
GROUP BY 2, 7 ORDER BY bytes DESC, 1, 7 LIMIT ?`
	args = append(args, q.limit())
	frame, err := queryFrame(ctx, db, "devices", text, q.limit(), args...)
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	if err := addMonthDays(frame); err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	frame.Meta.ExecutedQueryString = executed(text, args)
	setUnits(frame, map[string]string{"bytes": "decbytes", "streams": "short", "days_active": "short"})
	return frame, nil
}

// addMonthDays adds to each row's days_active the days of its monthly
// totals, month_days (month:days pairs: store.DaysActive), and drops
// month_days.
func addMonthDays(frame *data.Frame) error {
	days, at := frame.FieldByName("days_active")
	pairs, pairsAt := frame.FieldByName("month_days")
	if at < 0 || pairsAt < 0 {
		return fmt.Errorf("no days_active or month_days in %s", frame.Name)
	}
	for i := range frame.Rows() {
		text, ok := pairs.ConcreteAt(i)
		if !ok {
			continue
		}
		monthDays, err := store.DaysActive(text.(string))
		if err != nil {
			return err
		}
		n, _ := days.ConcreteAt(i)
		count, _ := n.(int64)
		count += monthDays
		days.Set(i, &count)
	}
	frame.Fields = slices.Delete(frame.Fields, pairsAt, pairsAt+1)
	return nil
}
