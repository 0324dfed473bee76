package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/saaslens/saaslens/pkg/timecut"
)

// The read side. Which rows answer a question is decided here, once,
// beside the tables that hold them and the encodings they are written in
// (an hours bitmask per day, a days bitmask per month, the zone months are
// cut in): a question asks for a plan over its range and builds its SQL
// on the sources the plan gives, aliased as it likes.

// TotalsFrom is the range from which questions read the totals instead of
// the streams: a month of a 500-device office is ten million streams, more
// than a panel's timeout allows reading, and a million totals per client or
// a few thousand per server address. The totals count a stream in the hour
// it started, and the range's first and last hours whole; over a day or
// more, that differs from "active in the range" at the edges only.
const TotalsFrom = timecut.Day

// TotalsNotice says what an answer from the totals counts.
const TotalsNotice = "from the hourly totals: streams counted in the hour they started, the range's first and last hours whole"

// Plan is how a question over a range reads: the streams active in it, or
// (Totals) the totals of the whole hours [From, To).
type Plan struct {
	Totals   bool
	From, To int64
	// rangeFrom and rangeTo are the question's range.
	rangeFrom, rangeTo int64
	// months are the months client_usage_monthly answers for, when it is
	// cut in the question's zone.
	months *monthlyTotals
}

// PlanRange plans a question over [from, to]: from TotalsFrom on, the
// totals answer.
func PlanRange(from, to int64) Plan {
	p := Plan{rangeFrom: from, rangeTo: to}
	if to-from >= TotalsFrom {
		p.Totals, p.From, p.To = true, timecut.HourOf(from), timecut.HourOf(to)+timecut.Hour
	}
	return p
}

// StreamsPlan plans a question over [from, to] from the streams, whatever
// its length: for comparing the totals' answers with theirs.
func StreamsPlan(from, to int64) Plan { return Plan{rangeFrom: from, rangeTo: to} }

// HoursPlan plans a question over the whole hours [from, to), whatever
// their length: the totals answer (its ranges are months or buckets).
func HoursPlan(from, to int64) Plan {
	return Plan{Totals: true, From: from, To: to, rangeFrom: from, rangeTo: to - 1}
}

// InZone lets the monthly totals answer the plan's months of loc, when
// the database's are cut in that zone (rollup_zone).
func (p Plan) InZone(ctx context.Context, db *sql.DB, loc *time.Location) (Plan, error) {
	months, err := monthlyIn(ctx, db, loc)
	if err != nil {
		return Plan{}, err
	}
	p.months = months
	return p, nil
}

// Histograms tells whether the hourly latency histograms (latency_hourly)
// answer a question planned as p: the totals do, the question groups and
// filters by nothing per client (the histograms hold no client), and the
// local days it counts in days (if any) are cut by UTC hours.
func (p Plan) Histograms(perClient bool, days *time.Location) bool {
	return p.Totals && !perClient && (days == nil || timecut.WholeHourOffsets(p.From, p.To, days))
}

// Series says which rows a time series in steps of step reads: the
// hourly totals per service where each step is whole hours and nothing
// per client is asked; per client, the daily totals where steps are whole
// days, the daily totals' hours where distinct clients are counted in
// steps of hours, the hourly totals where steps are other whole hours;
// the streams otherwise. All but the streams outlive retention.
func Series(step time.Duration, perClient, distinct bool) SeriesRows {
	hours, days := int64(step)%timecut.Hour == 0, int64(step)%timecut.Day == 0
	switch {
	case hours && !perClient:
		return ServiceHours
	case days:
		return ClientDays
	case distinct && hours:
		return ClientDayHours
	case hours:
		return ClientHourRows
	}
	return StreamRows
}

// SeriesRows are the rows a time series reads (Series).
type SeriesRows int

// The rows of a time series: usage_hourly; client_usage_daily, a row's
// time its day; client_usage_daily's rows with their hours (DayTotals);
// client_usage_hourly; streams.
const (
	ServiceHours SeriesRows = iota
	ClientDays
	ClientDayHours
	ClientHourRows
	StreamRows
)

// Notice is what the plan's answer counts, "" for the streams.
func (p Plan) Notice() string {
	if p.Totals {
		return TotalsNotice
	}
	return ""
}

// Rows is a source of rows for a question, aliased by it: FROM text,
// the condition that keeps the rows of the plan's range, and the SQL that
// counts a group's streams.
type Rows struct {
	From, Where, Streams string
	// Totals: the rows are totals, not streams (see Plan).
	Totals bool
}

// Streams are the streams active in the range, as alias.
func (p Plan) Streams(alias string) Rows {
	return Rows{From: "streams " + alias, Where: ActiveDuring(alias, p.rangeFrom, p.rangeTo), Streams: "count(*)"}
}

// Services are the totals per service and hour (usage_hourly), or the
// streams: rows with server_name, proto, server_port, streams, bytes and
// packets each way, and hour (or first).
func (p Plan) Services(alias string) Rows {
	if !p.Totals {
		return p.Streams(alias)
	}
	return p.hourly("usage_hourly", alias)
}

// ClientHours are the totals per client and hour (client_usage_hourly),
// or the streams.
func (p Plan) ClientHours(alias string) Rows {
	if !p.Totals {
		return p.Streams(alias)
	}
	return p.hourly("client_usage_hourly", alias)
}

// Servers are the totals per server address and hour
// (server_usage_hourly), or the streams when perClient: those totals
// hold no client.
func (p Plan) Servers(alias string, perClient bool) Rows {
	if !p.Totals || perClient {
		return p.Streams(alias)
	}
	return p.hourly("server_usage_hourly", alias)
}

func (p Plan) hourly(table, alias string) Rows {
	return Rows{From: table + " " + alias, Where: fmt.Sprintf("%s.hour >= %d AND %s.hour < %d", alias, p.From, alias, p.To),
		Streams: "sum(" + alias + ".streams)", Totals: true}
}

// Clients are the totals per client of the plan's hours, the fewest rows
// that hold them (ClientTotals), or the streams.
func (p Plan) Clients(alias string) Rows {
	if !p.Totals {
		return p.Streams(alias)
	}
	return Rows{From: p.ClientTotals(p.From, p.To) + " " + alias, Where: "1", Streams: "sum(" + alias + ".streams)", Totals: true}
}

// ClientTotals is a FROM source (to be aliased) of the totals per client
// from cuts[0] to cuts[len(cuts)-1], whole hours: client_usage_monthly's
// rows for the months it answers for within one stretch between
// consecutive cuts (the months of the plan's zone the stretch holds whole,
// or all the data of); then client_usage_daily's for the UTC days wholly
// within what is left of a stretch; and client_usage_hourly's for the
// hours left at the edges — a month of an office is a few thousand monthly
// rows, or an eighth of the rows its hourly totals are in daily ones. Its
// hour column is a row's hour, day or month, within one stretch: group by
// stretch (cut at months, say), never finer; hours has a bit for each
// hour a stream started in (EachHour; a monthly row's is NULL). Columns:
// hour, client, client_mac, server_name, streams, packets_up,
// packets_down, bytes_up, bytes_down, hours.
func (p Plan) ClientTotals(cuts ...int64) string {
	return clientTotals(p.months, cuts...)
}

// DayTotals is ClientTotals without months, for a question that reads
// each row's hours: over [from, to).
func DayTotals(from, to int64) string { return clientTotals(nil, from, to) }

func clientTotals(months *monthlyTotals, cuts ...int64) string {
	const columns = "client, client_mac, server_name, streams, packets_up, packets_down, bytes_up, bytes_down"
	var parts []string
	hours := func(from, to int64) {
		if from < to {
			parts = append(parts, fmt.Sprintf("SELECT hour, %s, 1 AS hours FROM client_usage_hourly WHERE hour >= %d AND hour < %d", columns, from, to))
		}
	}
	// The hours from from on that no daily or monthly row holds: those
	// after the closed days (DB.CloseDays).
	unclosed := func(from, to int64) {
		if from < to {
			parts = append(parts, fmt.Sprintf("SELECT hour, %s, 1 AS hours FROM client_usage_hourly WHERE hour >= max(%d, %s) AND hour < %d",
				columns, from, closedSQL, to))
		}
	}
	days := func(from, to int64) {
		firstDay, lastDay := timecut.Floor(from, timecut.Day), timecut.Floor(to, timecut.Day)
		if firstDay < from {
			firstDay += timecut.Day
		}
		if firstDay >= lastDay {
			hours(from, to)
			return
		}
		hours(from, firstDay)
		parts = append(parts, fmt.Sprintf("SELECT day AS hour, %s, hours FROM client_usage_daily WHERE day >= %d AND day < %d", columns, firstDay, lastDay))
		// The days not closed, then the hours after the last day.
		parts = append(parts, fmt.Sprintf("SELECT hour, %s, 1 AS hours FROM client_usage_hourly WHERE hour >= max(%d, min(%s, %d)) AND hour < %d",
			columns, firstDay, closedSQL, lastDay, to))
	}
	for i := 0; i+1 < len(cuts); i++ {
		from, to := cuts[i], cuts[i+1]
		first, last, ok := months.within(from, to)
		if !ok {
			days(from, to)
			continue
		}
		days(from, first)
		parts = append(parts, fmt.Sprintf("SELECT month AS hour, %s, NULL AS hours FROM client_usage_monthly WHERE month >= %d AND month < %d", columns, first, last))
		unclosed(first, last)
		days(last, to)
	}
	if len(parts) == 0 {
		return "(SELECT hour, " + columns + ", 1 AS hours FROM client_usage_hourly WHERE 0)"
	}
	return "(" + strings.Join(parts, "\n\tUNION ALL ") + ")"
}

// UnclosedHours is a FROM source (to be aliased) of the hourly totals per
// client of [from, to) that the daily and monthly totals do not hold yet
// (DB.CloseDays), with ClientTotals' columns: what a question reading
// MonthlyRows over [from, to) adds for the days since the last close.
func UnclosedHours(from, to int64) string {
	return fmt.Sprintf("(SELECT hour, client, client_mac, server_name, streams, packets_up, packets_down, bytes_up, bytes_down, 1 AS hours "+
		"FROM client_usage_hourly WHERE hour >= max(%d, %s) AND hour < %d)", from, closedSQL, to)
}

// DailyRows is a FROM source (to be aliased) with client_usage_daily's
// columns for the UTC days in [from, to): its rows for the closed days
// (DB.CloseDays), and the others summed from the hourly totals per client.
func DailyRows(from, to int64) string {
	closed, open := DailyParts(from, to)
	return fmt.Sprintf("(SELECT * FROM %s WHERE day >= %d AND day < %d UNION ALL SELECT * FROM %s)", closed, from, to, open)
}

// DailyParts are the two FROM sources DailyRows joins, whose rows hold
// different hours of the same days: client_usage_daily itself, and the
// hours of [from, to) after the closed days summed per day. A question
// that groups per client's day reads each on its own and adds what they
// give: SQLite groups the table in its key order, but a UNION ALL only
// after sorting it (a month of a random mix, 2.25 s against 0.33 s).
func DailyParts(from, to int64) (closed, open string) {
	return "client_usage_daily", daysOfHours(from, to, "hour >= "+closedSQL)
}

// MonthsWithin returns the months the monthly totals answer for within
// [from, to) (ClientTotals), and false when none do.
func (p Plan) MonthsWithin(from, to int64) (first, last int64, ok bool) {
	return p.months.within(from, to)
}

// monthlyTotals says which months client_usage_monthly answers for: those
// of its zone, loc, that a range holds whole, or holds all the data of:
// a range to now holds all of the current month's, a range over years all
// of the first month's.
type monthlyTotals struct {
	loc *time.Location
	// The hours the totals per client hold, [from, to).
	from, to int64
}

// monthlyIn returns the monthly totals when the database's are cut in loc
// (rollup_zone); else nil.
func monthlyIn(ctx context.Context, db *sql.DB, loc *time.Location) (*monthlyTotals, error) {
	var zone string
	if err := db.QueryRowContext(ctx, `SELECT zone FROM rollup_zone`).Scan(&zone); err != nil {
		return nil, fmt.Errorf("the monthly totals' zone: %w", err)
	}
	if zone != loc.String() {
		return nil, nil
	}
	// Both ends of the primary key: two lookups. An ingest committing
	// between this and the query may add to a month the range then holds
	// only part of the data of: that refresh counts the month's new hours
	// whole, and the next one cuts them.
	var first, last sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT min(hour), max(hour) FROM client_usage_hourly`).Scan(&first, &last); err != nil {
		return nil, fmt.Errorf("the hours the totals hold: %w", err)
	}
	m := &monthlyTotals{loc: loc}
	if first.Valid {
		m.from, m.to = first.Int64, last.Int64+timecut.Hour
	}
	return m, nil
}

// within returns the months m answers for within [from, to) (which may
// start before from or end after to, where those hold no data), from the
// first's start to the end of the last, and false when there are none
// (or m is nil). Only the first and last months can be partial, so the
// months between are whole.
func (m *monthlyTotals) within(from, to int64) (first, last int64, ok bool) {
	if m == nil || from >= to {
		return 0, 0, false
	}
	months := timecut.Months(from, to-1, m.loc)
	// A month answers if the range holds all of its part of the data.
	holds := func(month [2]int64) bool {
		return from <= max(month[0], m.from) && to >= min(month[1], m.to)
	}
	if !holds(months[0]) {
		months = months[1:]
	}
	if len(months) > 0 && !holds(months[len(months)-1]) {
		months = months[:len(months)-1]
	}
	if len(months) == 0 {
		return 0, 0, false
	}
	return months[0][0], months[len(months)-1][1], true
}

// longStream is the duration past which the streams_long partial index
// holds a stream (migration 9).
const longStream = timecut.Hour

// ActiveDuring is the condition of a stream, aliased alias, with traffic
// in [from, to] (first <= to and last >= from), as one range of the
// streams_first index, so that a newest-first table stops at its row
// limit and a sum reads only the range: a stream lasting up to longStream
// started at most that long before the range, and the earliest start of a
// longer one still going at the range's start is found in streams_long,
// which holds the few longer streams. In parentheses.
func ActiveDuring(alias string, from, to int64) string {
	return fmt.Sprintf(`(%[1]s.first >= coalesce((SELECT first FROM streams WHERE last - first > %[5]d AND first < %[2]d AND last >= %[4]d ORDER BY first LIMIT 1), %[2]d)`+
		` AND %[1]s.first <= %[3]d AND %[1]s.last >= %[4]d)`, alias, from-longStream, to, from, longStream)
}

// EachHour calls fn with each hour a totals row's hours column marks: bit
// h for the hour h hours after the row's time t (a daily row's hours, an
// hourly row's 1).
func EachHour(t, hours int64, fn func(hour int64)) {
	for h := int64(0); hours != 0; h, hours = h+1, hours>>1 {
		if hours&1 != 0 {
			fn(t + h*timecut.Hour)
		}
	}
}

// HourBoundsSQL is SQL for the first and last hours a totals row, aliased
// alias, marks in its hours (EachHour's bits): its lowest and highest bit.
func HourBoundsSQL(alias string) (first, last string) {
	return fmt.Sprintf("(%[1]s.hour + CAST(log2(%[1]s.hours & -%[1]s.hours) AS INTEGER) * %[2]d)", alias, timecut.Hour),
		fmt.Sprintf("(%[1]s.hour + CAST(log2(%[1]s.hours) AS INTEGER) * %[2]d)", alias, timecut.Hour)
}

// MonthlyRows selects client_usage_monthly's rows of the months starting
// in [from, to): client, client_mac, server_name, NULL (no day), first and
// last hour, streams, bytes both ways, month, and days (a bit per day of
// the month with use; DaysActive counts them).
func MonthlyRows(from, to int64) string {
	return fmt.Sprintf(`SELECT client, client_mac, server_name, NULL, first_hour, last_hour, streams, bytes_up + bytes_down, month, days
	FROM client_usage_monthly WHERE month >= %d AND month < %d`, from, to)
}

// DaysActive counts the days of monthly rows given as "month:days" pairs
// joined by commas (MonthlyRows' month and days): each month's days OR-ed,
// then counted; SQLite has no OR over rows.
func DaysActive(pairs string) (int64, error) {
	perMonth := map[string]uint64{}
	for _, pair := range strings.Split(pairs, ",") {
		month, mask, ok := strings.Cut(pair, ":")
		v, err := strconv.ParseUint(mask, 10, 64)
		if !ok || err != nil {
			return 0, fmt.Errorf("month days %q: want month:days pairs", pairs)
		}
		perMonth[month] |= v
	}
	n := int64(0)
	for _, v := range perMonth {
		n += int64(bits.OnesCount64(v))
	}
	return n, nil
}
