package query

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/store"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// deviceOf is the device of a row of the table aliased t: its client MAC
// where seen, else its client address; NULL (no device, and not counted)
// for an address that cannot be one device (notOneDevice).
func deviceOf(t string) string {
	return `CASE WHEN ` + t + `.client_mac != '' THEN ` + t + `.client_mac WHEN ` + notOneDevice(t+".client") + ` THEN NULL ELSE ` + t + `.client END`
}

// notOneDevice is SQL true for an address (text, as stored) that names no
// single device: unspecified, broadcast, or multicast. A DHCP server's
// answer to 255.255.255.255 makes that address its stream's client.
func notOneDevice(addr string) string {
	return `(` + addr + ` IN ('0.0.0.0', '255.255.255.255', '::') OR ` + addr + ` GLOB 'ff[0-9a-f][0-9a-f]:*' OR (` +
		addr + ` GLOB '2[23][0-9].*' AND substr(` + addr + `, 1, 3) BETWEEN '224' AND '239'))`
}

// contractCovers is true for streams of service sv that contract c pays
// for: SaaS use of the contract's vendor, and of its product unless the
// vendor has a single contract (then every product of the vendor counts:
// an M365 licence covers Teams and Outlook). Infrastructure (telemetry,
// updates) is never licence use.
const contractCovers = `sv.kind = 'saas' AND sv.vendor = c.vendor AND (sv.product = c.product OR c.single)`

// contractsCTE is the contracts, each with whether it is its vendor's
// only one, as c in contractCovers.
const contractsCTE = `cs AS (SELECT rowid AS id, vendor, product, seats, monthly_cost, currency, renewal,
	(SELECT count(*) FROM contracts c2 WHERE c2.vendor = contracts.vendor) = 1 AS single FROM contracts)`

// Coverage is the share (0..100) of [from, to) that captures cover: a
// month partly captured says so rather than looking like a drop in use.
func Coverage(ctx context.Context, db *sql.DB, from, to int64) (float64, error) {
	rows, err := db.QueryContext(ctx, `SELECT first, last FROM captures WHERE first IS NOT NULL AND first < ? AND last >= ? ORDER BY first`, to, from)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	covered, reach := int64(0), from
	for rows.Next() {
		var a, b int64
		if err := rows.Scan(&a, &b); err != nil {
			return 0, err
		}
		a, b = max(a, reach), min(b, to)
		if b > a {
			covered += b - a
			reach = b
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return 100 * float64(covered) / float64(to-from), nil
}

// LicencesQuery asks for the licence table over a range.
type LicencesQuery struct {
	Range Range
	// IdleDays marks a contract unused for at least that many days before
	// the range's end (or never used) as a cancellation candidate;
	// DefaultIdleDays when 0.
	IdleDays int
	// RenewalDays marks a contract renewing within that many days of the
	// range's end as due; DefaultRenewalDays when 0.
	RenewalDays int
}

// Defaults of LicencesQuery.
const (
	DefaultIdleDays    = 30
	DefaultRenewalDays = 60
)

// Licences answers "are we paying for seats nobody uses": per contract
// and calendar month (in loc) that the captures in the range reach, the
// distinct devices that used it against its seats (and the distinct
// users, when the inventory names users),
// utilisation, unused seats, cost per active device and user, when it
// was last used and how far its renewal is from the range's end, which
// contracts are cancellation candidates and which renewals are due, and
// how much of the month the captures cover.
//
// Active devices come from the totals per client (store.Plan.ClientTotals: daily for
// whole UTC days, hourly at the month's edges; one pass over a month's for
// all contracts, where the streams took a minute a month of ten million),
// so a month is cut at a whole hour: exact in every zone whose offset is
// whole hours. The last use is the latest stream of the
// last hour with use, or that hour's end once retention dropped it.
func Licences(ctx context.Context, db *sql.DB, q LicencesQuery, loc *time.Location) (*data.Frame, error) {
	r := q.Range
	idleDays, renewalDays := int64(q.IdleDays), int64(q.RenewalDays)
	if idleDays <= 0 {
		idleDays = DefaultIdleDays
	}
	if renewalDays <= 0 {
		renewalDays = DefaultRenewalDays
	}
	named, err := inventoryNamesUsers(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("licences: %w", err)
	}
	plan, err := store.HoursPlan(r.From, r.To).InZone(ctx, db, loc)
	if err != nil {
		return nil, fmt.Errorf("licences: %w", err)
	}
	months, err := capturedMonths(ctx, db, r, loc)
	if err != nil {
		return nil, fmt.Errorf("licences: %w", err)
	}
	cols := licenceColumns{end: time.Unix(0, r.To).In(loc), loc: loc, idleDays: idleDays, renewalDays: renewalDays}
	var executedText string
	for _, m := range months {
		pct, err := Coverage(ctx, db, m[0], m[1])
		if err != nil {
			return nil, fmt.Errorf("licences: coverage: %w", err)
		}
		executedText = licencesSQL(plan, named, m[0], m[1])
		if err := cols.read(ctx, db, executedText, r.To, time.Unix(0, m[0]).UTC(), pct); err != nil {
			return nil, fmt.Errorf("licences: %w", err)
		}
	}
	frame := cols.frame()
	frame.Meta = &data.FrameMeta{ExecutedQueryString: executedText + "\n-- per month in " + loc.String() + " (the last shown)",
		Notices: []data.Notice{{Severity: data.NoticeSeverityInfo,
			Text: fmt.Sprintf("cancellation candidates: no use in the %d days before the range's end; renewals due within %d days of it", idleDays, renewalDays)}}}
	return frame, nil
}

// capturedMonths are the months of loc the captures span within r: a
// dashboard over years listed hundreds of months no capture covers, all
// at zero. A gap between captures stays, with its coverage saying so.
func capturedMonths(ctx context.Context, db *sql.DB, r Range, loc *time.Location) ([][2]int64, error) {
	var spanFrom, spanTo sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(min(first), ?1), min(max(last), ?2) FROM captures WHERE first <= ?2 AND last >= ?1`,
		r.From, r.To).Scan(&spanFrom, &spanTo); err != nil {
		return nil, fmt.Errorf("captures: %w", err)
	}
	if !spanFrom.Valid || !spanTo.Valid {
		return nil, nil
	}
	return timecut.Months(spanFrom.Int64, spanTo.Int64, loc), nil
}

// licencesSQL answers every contract for the month [from, to), taking the
// range's end twice: devices and users, and the last use.
func licencesSQL(plan store.Plan, named bool, from, to int64) string {
	users, userJoin := usersCount("u", "", Filter{}, named)
	noUse := "NULL"
	if named {
		noUse = "0"
	}
	return `WITH ` + contractsCTE + `,
	-- Which client used which contracted name in the month first, then
	-- the contracts: joining services and contracts to each hourly row
	-- took five times as long on an office's month.
	pairs AS (SELECT DISTINCT server_name, client, client_mac FROM ` + plan.ClientTotals(from, to) + `
		WHERE server_name IN (SELECT sv.server_name FROM services sv JOIN cs c ON ` + contractCovers + `)),
	used AS (SELECT c.id, count(DISTINCT ` + deviceOf("u") + `) AS devices, ` + users + ` AS users
		FROM pairs u JOIN services sv ON sv.server_name = u.server_name JOIN cs c ON ` + contractCovers + userJoin + `
		GROUP BY c.id),
	lastHour AS (SELECT c.id, max(u.hour) AS hour
		FROM usage_hourly u JOIN services sv ON sv.server_name = u.server_name JOIN cs c ON ` + contractCovers + `
		WHERE u.hour <= ? GROUP BY c.id)
SELECT c.vendor, c.product, c.seats, c.monthly_cost, c.currency, c.renewal, coalesce(used.devices, 0), coalesce(used.users, ` + noUse + `),
	(SELECT coalesce(max(s.last), lastHour.hour + 3599999999999) FROM streams s JOIN services sv ON sv.server_name = s.server_name
		WHERE s.first >= lastHour.hour AND s.first < lastHour.hour + 3600000000000 AND s.first <= ? AND ` + contractCovers + `)
FROM cs c LEFT JOIN used ON used.id = c.id LEFT JOIN lastHour ON lastHour.id = c.id ORDER BY c.vendor, c.product`
}

// licenceColumns are the licences frame's columns, a row per contract and
// month, and what a row's flags are judged against.
type licenceColumns struct {
	end                   time.Time
	loc                   *time.Location
	idleDays, renewalDays int64

	month                              []time.Time
	vendor, product, currency, renewal []string
	seats, active, unused              []int64
	activeUsers                        []*int64
	cost                               []float64
	utilisation, perDevice, cover      []*float64
	perUser                            []*float64
	lastUsed                           []*time.Time
	daysSinceUse, daysToRenewal        []*int64
	idle, renewalDue                   []bool
}

// read adds the month's rows of text, run with the range's end.
func (c *licenceColumns) read(ctx context.Context, db *sql.DB, text string, end int64, month time.Time, coverage float64) error {
	rows, err := db.QueryContext(ctx, text, end, end)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v, p, cur, ren string
		var st, act int64
		var mc float64
		var usr, last sql.NullInt64
		if err := rows.Scan(&v, &p, &st, &mc, &cur, &ren, &act, &usr, &last); err != nil {
			return err
		}
		c.add(month, v, p, cur, ren, st, act, mc, usr, last, coverage)
	}
	return rows.Err()
}

// add appends one contract's month, with what follows from it: unused
// seats, utilisation, costs per device and user, days since use and to
// renewal, and the flags.
func (c *licenceColumns) add(month time.Time, vendor, product, currency, renewal string, seats, active int64, cost float64, users, last sql.NullInt64, coverage float64) {
	c.month = append(c.month, month)
	c.vendor, c.product, c.currency, c.renewal = append(c.vendor, vendor), append(c.product, product), append(c.currency, currency), append(c.renewal, renewal)
	c.seats, c.active, c.unused, c.cost = append(c.seats, seats), append(c.active, active), append(c.unused, max(seats-active, 0)), append(c.cost, cost)
	c.cover = append(c.cover, &coverage)
	c.utilisation = append(c.utilisation, ratio(100*float64(active), float64(seats), seats > 0))
	c.perDevice = append(c.perDevice, ratio(cost, float64(active), active > 0 && cost > 0))
	var au *int64
	var pu *float64
	if users.Valid {
		au = &users.Int64
		pu = ratio(cost, float64(users.Int64), users.Int64 > 0 && cost > 0)
	}
	c.activeUsers, c.perUser = append(c.activeUsers, au), append(c.perUser, pu)
	var lu *time.Time
	var since *int64
	if last.Valid {
		t := time.Unix(0, last.Int64).UTC()
		d := int64(c.end.Sub(t) / (24 * time.Hour))
		lu, since = &t, &d
	}
	c.lastUsed, c.daysSinceUse = append(c.lastUsed, lu), append(c.daysSinceUse, since)
	c.idle = append(c.idle, since == nil || *since >= c.idleDays)
	var toRenewal *int64
	if rt, err := time.ParseInLocation(time.DateOnly, renewal, c.loc); err == nil {
		d := int64(rt.Sub(c.end).Hours() / 24)
		toRenewal = &d
	}
	c.daysToRenewal = append(c.daysToRenewal, toRenewal)
	c.renewalDue = append(c.renewalDue, toRenewal != nil && *toRenewal >= 0 && *toRenewal <= c.renewalDays)
}

// ratio is a/b when ok, else nil.
func ratio(a, b float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	x := a / b
	return &x
}

func (c *licenceColumns) frame() *data.Frame {
	frame := data.NewFrame("licences",
		data.NewField("month", nil, c.month),
		data.NewField("vendor", nil, c.vendor),
		data.NewField("product", nil, c.product),
		data.NewField("seats", nil, c.seats),
		data.NewField("active_devices", nil, c.active),
		data.NewField("active_users", nil, c.activeUsers),
		data.NewField("utilisation", nil, c.utilisation),
		data.NewField("unused_seats", nil, c.unused),
		data.NewField("monthly_cost", nil, c.cost),
		data.NewField("currency", nil, c.currency),
		data.NewField("cost_per_active_device", nil, c.perDevice),
		data.NewField("cost_per_active_user", nil, c.perUser),
		data.NewField("last_used", nil, c.lastUsed),
		data.NewField("days_since_use", nil, c.daysSinceUse),
		data.NewField("cancellation_candidate", nil, c.idle),
		data.NewField("renewal", nil, c.renewal),
		data.NewField("days_to_renewal", nil, c.daysToRenewal),
		data.NewField("renewal_due", nil, c.renewalDue),
		data.NewField("capture_coverage", nil, c.cover),
	)
	setUnits(frame, map[string]string{"utilisation": "percent", "capture_coverage": "percent", "days_since_use": "d", "days_to_renewal": "d"})
	return frame
}
