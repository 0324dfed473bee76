package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/saaslens/saaslens/pkg/store"
)

// Range is a panel's time range in Unix nanoseconds, the unit of every time
// column in the store. From and To are both inside it, as Grafana's range
// is.
type Range struct{ From, To int64 }

// The times a range may hold: Unix nanoseconds cover 1677 to 2262, and
// the arithmetic of steps and buckets needs room past a range's end, so a
// range is clamped to the years captures can have (their timestamps start
// in 1970) and a century ahead. Every way in (panel queries, resources)
// clamps the same way, so no end wraps around.
var (
	earliest = time.Unix(0, 0).UTC()
	latest   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// RangeOf converts a Grafana time range, clamped to [1970, 2100).
func RangeOf(from, to time.Time) Range { return Range{From: clampTime(from), To: clampTime(to)} }

func clampTime(t time.Time) int64 {
	switch {
	case t.Before(earliest):
		return earliest.UnixNano()
	case t.After(latest):
		return latest.UnixNano()
	}
	return t.UnixNano()
}

// Macros are what a raw SQL query may use. Each expands over a fixed range
// and interval, so the same text always gives the same SQL. A condition
// expands in parentheses, so NOT $__timeFilter(first) negates all of it.
// An interval may be a duration (30s, 5m, 1h, 1d, 1w) or $__interval.
var Macros = []Macro{
	{"timeFilter", "$__timeFilter(col)", "(col >= from AND col <= to), the range's ends in ns", timeFilter},
	{"unixEpochNanosFilter", "$__unixEpochNanosFilter(col)", "the same as $__timeFilter: every time column is in ns", timeFilter},
	{"timeFrom", "$__timeFrom", "the range's start in ns", func(args []string, r Range, _ time.Duration) (string, error) { return noArgs("timeFrom", args, r.From) }},
	{"timeTo", "$__timeTo", "the range's end in ns", func(args []string, r Range, _ time.Duration) (string, error) { return noArgs("timeTo", args, r.To) }},
	{"timeGroup", "$__timeGroup(col, interval)", "col floored to the interval, in ns; alias it AS time to make it the time field", timeGroup},
	{"interval_s", "$__interval_s", "the panel's interval in seconds", func(args []string, _ Range, i time.Duration) (string, error) {
		return noArgs("interval_s", args, int64(i/time.Second))
	}},
	{"interval_ms", "$__interval_ms", "the panel's interval in milliseconds", func(args []string, _ Range, i time.Duration) (string, error) {
		return noArgs("interval_ms", args, int64(i/time.Millisecond))
	}},
	{"activeFilter", "$__activeFilter(alias)", "the streams (aliased alias) with traffic in the range, started in it or before", activeFilter},
}

// Macro is one macro: its name after $__, how it is written, what it
// gives, and its expansion.
type Macro struct {
	Name   string `json:"name"`
	Syntax string `json:"syntax"`
	Doc    string `json:"doc"`
	expand func(args []string, r Range, interval time.Duration) (string, error)
}

func macroNamed(name string) (Macro, bool) {
	for _, m := range Macros {
		if m.Name == name {
			return m, true
		}
	}
	return Macro{}, false
}

func noArgs(name string, args []string, v int64) (string, error) {
	if len(args) > 0 {
		return "", fmt.Errorf("$__%s takes no arguments, got %d", name, len(args))
	}
	return strconv.FormatInt(v, 10), nil
}

func timeFilter(args []string, r Range, _ time.Duration) (string, error) {
	if len(args) != 1 || args[0] == "" {
		return "", fmt.Errorf("$__timeFilter expects 1 argument (a time column), got %d", len(args))
	}
	return fmt.Sprintf("(%s >= %d AND %s <= %d)", args[0], r.From, args[0], r.To), nil
}

func activeFilter(args []string, r Range, _ time.Duration) (string, error) {
	if len(args) != 1 || args[0] == "" {
		return "", fmt.Errorf("$__activeFilter expects 1 argument (the streams table's name or alias), got %d", len(args))
	}
	return store.ActiveDuring(args[0], r.From, r.To), nil
}

func timeGroup(args []string, _ Range, interval time.Duration) (string, error) {
	if len(args) != 2 || args[0] == "" {
		return "", fmt.Errorf("$__timeGroup expects 2 arguments (a time column, an interval), got %d", len(args))
	}
	step := interval
	if args[1] != "$__interval" {
		d, err := ParseInterval(args[1])
		if err != nil {
			return "", fmt.Errorf("$__timeGroup: %w", err)
		}
		step = d
	}
	if step <= 0 {
		return "", fmt.Errorf("$__timeGroup: interval %q must be more than 0", args[1])
	}
	return fmt.Sprintf("((%s) / %d) * %d", args[0], int64(step), int64(step)), nil
}

// ParseInterval reads a Go duration or Grafana's d (day) and w (week)
// units.
func ParseInterval(s string) (time.Duration, error) {
	s = strings.Trim(strings.TrimSpace(s), `'"`)
	for unit, d := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, unit); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("interval %q: want a whole number of %s, like 1%s", s, unit, unit)
			}
			if v > int64(maxInterval/d) {
				return 0, fmt.Errorf("interval %q: at most %d%s", s, maxInterval/d, unit)
			}
			return time.Duration(v) * d, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("interval %q: want a duration like 30s, 5m, 1h, 1d or 1w", s)
	}
	if d > maxInterval {
		return 0, fmt.Errorf("interval %q: at most %dd", s, maxInterval/(24*time.Hour))
	}
	return d, nil
}

// maxInterval is the longest interval: the whole span a range may have
// (clampTime), so a step never overflows what it is added to.
var maxInterval = latest.Sub(earliest)

// Expand replaces every macro in text. An unknown $__ name, a bad argument
// count or an unclosed parenthesis is an error naming the macro, never
// text passed on for SQLite to misread.
func Expand(text string, r Range, interval time.Duration) (string, error) {
	var out strings.Builder
	for {
		i := strings.Index(text, "$__")
		if i < 0 {
			out.WriteString(text)
			return out.String(), nil
		}
		out.WriteString(text[:i])
		rest := text[i+3:]
		n := 0
		for n < len(rest) && (rest[n] == '_' || rest[n] >= 'a' && rest[n] <= 'z' || rest[n] >= 'A' && rest[n] <= 'Z' || rest[n] >= '0' && rest[n] <= '9') {
			n++
		}
		name := rest[:n]
		m, ok := macroNamed(name)
		if !ok {
			if name == "interval" {
				// Grafana replaces $__interval in the frontend; a query
				// from an alert rule arrives with it as written.
				out.WriteString(interval.String())
				text = rest[n:]
				continue
			}
			known := make([]string, len(Macros))
			for i, m := range Macros {
				known[i] = "$__" + m.Name
			}
			return "", fmt.Errorf("unknown macro $__%s (known: %s)", name, strings.Join(known, ", "))
		}
		rest = rest[n:]
		var args []string
		if strings.HasPrefix(rest, "(") {
			list, end, err := parenArgs(rest)
			if err != nil {
				return "", fmt.Errorf("$__%s: %w", name, err)
			}
			args, rest = list, rest[end+1:]
		}
		v, err := m.expand(args, r, interval)
		if err != nil {
			return "", err
		}
		out.WriteString(v)
		text = rest
	}
}

// parenArgs reads the parenthesised argument list at the start of s,
// skipping nested parentheses and quoted text: the arguments (split on
// the commas outside them; "()" has none) and where the list ends.
func parenArgs(s string) (args []string, end int, err error) {
	args = []string{}
	depth, start := 0, 1
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ',' && depth == 1:
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
		case c == ')':
			depth--
			if depth == 0 {
				if last := strings.TrimSpace(s[start:i]); last != "" || len(args) > 0 {
					args = append(args, last)
				}
				return args, i, nil
			}
		}
	}
	return nil, 0, fmt.Errorf("no closing parenthesis")
}
