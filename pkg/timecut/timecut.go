// Package timecut cuts times — Unix nanoseconds, the unit of every time
// column in the store — the way the store keeps its totals and the
// questions count them: floors to a step (also before 1970), UTC hours and
// days, and the months and days of a time zone. The store writes by these
// cuts and the queries read by the same, so they cannot drift apart.
package timecut

import (
	"fmt"
	"strings"
	"time"
)

// Hour and Day in nanoseconds.
const (
	Hour = int64(time.Hour)
	Day  = 24 * Hour
)

// Floor rounds t down to a multiple of step, also before 1970.
func Floor(t, step int64) int64 {
	d := t / step * step
	if d > t {
		d -= step
	}
	return d
}

// HourOf is the start of the UTC hour t falls in.
func HourOf(t int64) int64 { return Floor(t, Hour) }

// Months returns the months of loc that [from, to] overlaps, each as its
// first instant and the next month's.
func Months(from, to int64, loc *time.Location) [][2]int64 {
	t := time.Unix(0, from).In(loc)
	m := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	var out [][2]int64
	for m.UnixNano() <= to {
		next := m.AddDate(0, 1, 0)
		out = append(out, [2]int64{m.UnixNano(), next.UnixNano()})
		m = next
	}
	return out
}

// Calendar places UTC hours in the months and days of a zone, quickly for
// hours in time order.
type Calendar struct {
	Loc *time.Location
	// The local day placed last, [from, to) (none while empty).
	from, to, month, day int64
}

// Place returns the first instant of the month hour falls in, and its
// day of the month (from 1).
func (c *Calendar) Place(hour int64) (month, day int64) {
	if hour >= c.from && hour < c.to {
		return c.month, c.day
	}
	y, m, d := time.Unix(0, hour).In(c.Loc).Date()
	// The day's hours, not its midnights: where a clock is set forward at
	// midnight, time.Date gives an instant of the day before for it.
	c.from, c.to = firstHourOf(y, m, d, c.Loc), firstHourOf(y, m, d+1, c.Loc)
	c.month, c.day = time.Date(y, m, 1, 0, 0, 0, 0, c.Loc).UnixNano(), int64(d)
	return c.month, c.day
}

// NextMonth is the first instant of the month after the one starting at
// month.
func (c *Calendar) NextMonth(month int64) int64 {
	y, m, _ := time.Unix(0, month).In(c.Loc).Date()
	return time.Date(y, m+1, 1, 0, 0, 0, 0, c.Loc).UnixNano()
}

// DayHours returns the UTC hours, [first, next), that Place puts on the
// local day of hour (of the hour t falls in, for any t): from the first hour starting at or after that day's
// midnight in loc to the first at or after the next midnight (the same
// as the midnights in a zone a whole number of hours off UTC; in
// Asia/Kolkata, 18:30 UTC, the hour from 18:00 belongs to the day before).
func DayHours(hour int64, loc *time.Location) (first, next int64) {
	y, m, d := time.Unix(0, HourOf(hour)).In(loc).Date()
	return firstHourOf(y, m, d, loc), firstHourOf(y, m, d+1, loc)
}

// firstHourOf is the first UTC hour whose start falls on the local date
// (normalised as time.Date does).
func firstHourOf(y int, m time.Month, d int, loc *time.Location) int64 {
	// Noon exists on every date: normalise the date there.
	y, m, d = time.Date(y, m, d, 12, 0, 0, 0, loc).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	before := func(h int64) bool {
		hy, hm, hd := time.Unix(0, h).In(loc).Date()
		return hy < y || hy == y && (hm < m || hm == m && hd < d)
	}
	// Where midnight does not exist (a clock set forward at 00:00),
	// time.Date may give the hour before it: step to the day itself.
	h := -Floor(-day.UnixNano(), Hour)
	for before(h) {
		h += Hour
	}
	for !before(h - Hour) {
		h -= Hour
	}
	return h
}

// WholeHourOffsets tells whether loc is a whole number of hours off UTC
// all through [from, to): only then do UTC hours cut its days.
func WholeHourOffsets(from, to int64, loc *time.Location) bool {
	for t := time.Unix(0, from).In(loc); t.UnixNano() < to; {
		if _, offset := t.Zone(); offset%3600 != 0 {
			return false
		}
		_, end := t.ZoneBounds()
		if end.IsZero() {
			break
		}
		t = end
	}
	return true
}

// DaySQL is SQL for the calendar day in loc (days since 1970-01-01 there)
// of col, a UTC time in nanoseconds within [from, to] (to the hour): the
// zone's offset at from, changing where daylight saving time does.
func DaySQL(col string, from, to int64, loc *time.Location) string {
	t := time.Unix(0, Floor(from, Hour)).In(loc)
	_, offset := t.Zone()
	var cases strings.Builder
	// Offsets change on a UTC hour (or half hour: that half hour goes to
	// the later offset). Days find the changes, hours place them.
	end := time.Unix(0, to)
	for t.Before(end) {
		next := t.Add(24 * time.Hour)
		if _, o := next.Zone(); o != offset {
			at := t
			for {
				at = at.Add(time.Hour)
				if _, o := at.Zone(); o != offset {
					break
				}
			}
			fmt.Fprintf(&cases, " WHEN %s < %d THEN %d", col, at.UnixNano(), int64(offset)*int64(time.Second))
			_, offset = at.Zone()
			next = at
		}
		t = next
	}
	last := fmt.Sprint(int64(offset) * int64(time.Second))
	if cases.Len() == 0 {
		return fmt.Sprintf("((%s + %s) / %d)", col, last, Day)
	}
	return fmt.Sprintf("((%s + CASE%s ELSE %s END) / %d)", col, cases.String(), last, Day)
}

var niceSteps = []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// Step is the bucket width for a panel over [from, to]: at least Grafana's
// interval, wide enough to give no more than maxPoints buckets, rounded up
// to a step people read easily (and to whole days from a day on, so the
// daily totals answer).
func Step(from, to int64, interval time.Duration, maxPoints int64) time.Duration {
	step := interval
	if maxPoints > 0 {
		if s := time.Duration((to - from) / maxPoints); s > step {
			step = s
		}
	}
	for _, n := range niceSteps {
		if step <= n {
			return n
		}
	}
	week := 7 * 24 * time.Hour
	return (step + week - 1) / week * week
}
