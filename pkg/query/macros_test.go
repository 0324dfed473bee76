package query

import (
	"math"
	"testing"
	"time"
)

// A fixed range: 2024-03-01T00:00:00Z to one hour later.
var hour = Range{From: 1709251200000000000, To: 1709254800000000000}

func TestExpand(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT count(*) FROM streams WHERE $__timeFilter(first)`,
			`SELECT count(*) FROM streams WHERE (first >= 1709251200000000000 AND first <= 1709254800000000000)`},
		{`WHERE $__unixEpochNanosFilter(packets.time) AND x`,
			`WHERE (packets.time >= 1709251200000000000 AND packets.time <= 1709254800000000000) AND x`},
		{`SELECT $__timeFrom, $__timeTo, $__interval_s, $__interval_ms`,
			`SELECT 1709251200000000000, 1709254800000000000, 30, 30000`},
		{`SELECT $__timeGroup(first, $__interval) AS time`,
			`SELECT ((first) / 30000000000) * 30000000000 AS time`},
		{`SELECT $__timeGroup(coalesce(last, first), 1d) AS time`,
			`SELECT ((coalesce(last, first)) / 86400000000000) * 86400000000000 AS time`},
		{`SELECT $__timeGroup( time , '5m' ) AS time`,
			`SELECT ((time) / 300000000000) * 300000000000 AS time`},
		{`SELECT $__timeGroup(first, 1w)`, `SELECT ((first) / 604800000000000) * 604800000000000`},
		{`WHERE x = '$__interval'`, `WHERE x = '30s'`},
		{`no macros at all`, `no macros at all`},
	} {
		got, err := Expand(c.in, hour, 30*time.Second)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`$__timeFilter()`, `$__timeFilter expects 1 argument (a time column), got 0`},
		{`$__timeFilter(a, b)`, `$__timeFilter expects 1 argument (a time column), got 2`},
		{`$__timeFilter`, `$__timeFilter expects 1 argument (a time column), got 0`},
		{`$__timeGroup(first)`, `$__timeGroup expects 2 arguments (a time column, an interval), got 1`},
		{`$__activeFilter(s, t)`, `$__activeFilter expects 1 argument (the streams table's name or alias), got 2`},
		{`$__activeFilter()`, `$__activeFilter expects 1 argument (the streams table's name or alias), got 0`},
		{`$__timeGroup(first, soon)`, `$__timeGroup: interval "soon": want a duration like 30s, 5m, 1h, 1d or 1w`},
		{`$__timeGroup(first, 0s)`, `$__timeGroup: interval "0s" must be more than 0`},
		{`$__timeGroup(first, xd)`, `$__timeGroup: interval "xd": want a whole number of d, like 1d`},
		{`$__timeGroup(first, 213504d)`, `$__timeGroup: interval "213504d": at most 47482d`},
		{`$__timeGroup(first, 99999999999999999999d)`, `$__timeGroup: interval "99999999999999999999d": want a whole number of d, like 1d`},
		{`$__timeGroup(first, 6784w)`, `$__timeGroup: interval "6784w": at most 6783w`},
		{`$__timeGroup(first, 2000000h)`, `$__timeGroup: interval "2000000h": at most 47482d`},
		{`$__timeFrom(x)`, `$__timeFrom takes no arguments, got 1`},
		{`$__timeFilter(first`, `$__timeFilter: no closing parenthesis`},
		{`$__timeFliter(first)`, `unknown macro $__timeFliter (known: $__timeFilter, $__unixEpochNanosFilter, $__timeFrom, $__timeTo, $__timeGroup, $__interval_s, $__interval_ms, $__activeFilter)`},
	} {
		got, err := Expand(c.in, hour, 30*time.Second)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %q, %v; want error %q", c.in, got, err, c.want)
		}
	}
}

// A range's ends are clamped to [1970, 2100), whatever a caller asks: an
// end past Unix nanoseconds' reach (year 9999) must not wrap around.
func TestRangeOfClamps(t *testing.T) {
	at := func(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		from, to time.Time
		want     Range
	}{
		{at(2026), at(2027), Range{at(2026).UnixNano(), at(2027).UnixNano()}},
		{at(2026), at(9999), Range{at(2026).UnixNano(), at(2100).UnixNano()}},
		{at(1), at(1900), Range{0, 0}},
		{time.UnixMilli(math.MinInt64), time.UnixMilli(math.MaxInt64), Range{0, at(2100).UnixNano()}},
	} {
		if got := RangeOf(c.from, c.to); got != c.want {
			t.Errorf("%s to %s: %+v, want %+v", c.from, c.to, got, c.want)
		}
	}
}
