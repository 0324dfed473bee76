package query

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// The events an annotation query marks.
const (
	// EventNewVendors: a SaaS vendor's first hour of use, flagged when no
	// contract covers it (shadow IT).
	EventNewVendors = "newVendors"
	// EventCoverageGaps: stretches between a capture directory's files
	// with no packets, where every panel undercounts.
	EventCoverageGaps = "coverageGaps"
	// EventCaptureProblems: capture files read only up to damage, or not
	// at all.
	EventCaptureProblems = "captureProblems"
)

// DefaultGapMinutes is the shortest stretch without packets marked as a
// gap: a capture rotated every few minutes leaves seconds between files.
const DefaultGapMinutes = 10

// AnnotationsQuery asks for one kind of event over a range.
type AnnotationsQuery struct {
	Range  Range
	Events string
	// GapMinutes is the shortest coverage gap marked (DefaultGapMinutes).
	GapMinutes int
}

// annotation is one event: a point, or a region when End is set.
type annotation struct {
	start, end  time.Time
	title, text string
	tags        []string
}

// Annotations answers an annotation query with the fields Grafana maps
// to annotations: time, timeEnd (regions), title, text and tags.
func Annotations(ctx context.Context, db *sql.DB, q AnnotationsQuery) (*data.Frame, error) {
	var events []annotation
	var text string
	var err error
	switch q.Events {
	case EventNewVendors, "":
		events, text, err = newVendors(ctx, db, q.Range)
	case EventCoverageGaps:
		gap := q.GapMinutes
		if gap <= 0 {
			gap = DefaultGapMinutes
		}
		events, text, err = coverageGaps(ctx, db, q.Range, time.Duration(gap)*time.Minute)
	case EventCaptureProblems:
		events, text, err = captureProblems(ctx, db, q.Range)
	default:
		return nil, fmt.Errorf("annotations: unknown events %q: want %s, %s or %s", q.Events, EventNewVendors, EventCoverageGaps, EventCaptureProblems)
	}
	if err != nil {
		return nil, fmt.Errorf("annotations: %w", err)
	}
	times, ends := make([]time.Time, len(events)), make([]*time.Time, len(events))
	titles, texts, tags := make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
	for i, e := range events {
		times[i], titles[i], texts[i], tags[i] = e.start.UTC(), e.title, e.text, strings.Join(e.tags, ",")
		if !e.end.IsZero() {
			end := e.end.UTC()
			ends[i] = &end
		}
	}
	frame := data.NewFrame("annotations", data.NewField("time", nil, times), data.NewField("timeEnd", nil, ends),
		data.NewField("title", nil, titles), data.NewField("text", nil, texts), data.NewField("tags", nil, tags))
	frame.Meta = &data.FrameMeta{ExecutedQueryString: text}
	return frame, nil
}

// newVendors marks each SaaS vendor whose first hour of use, over all the
// hourly totals kept, falls in the range.
func newVendors(ctx context.Context, db *sql.DB, r Range) ([]annotation, string, error) {
	text := `SELECT sv.vendor, min(u.hour) AS first_seen, group_concat(DISTINCT sv.product), group_concat(DISTINCT sv.category),
	EXISTS (SELECT 1 FROM contracts c WHERE c.vendor = sv.vendor) AS contracted
FROM usage_hourly u JOIN services sv ON sv.server_name = u.server_name
WHERE sv.kind = 'saas' AND sv.vendor != ''
GROUP BY sv.vendor HAVING min(u.hour) >= ? AND min(u.hour) <= ? ORDER BY 2, 1`
	// An hour that began before the range's start still holds streams in it.
	from := time.Unix(0, r.From).Truncate(time.Hour).UnixNano()
	rows, err := db.QueryContext(ctx, text, from, r.To)
	if err != nil {
		return nil, text, fmt.Errorf("new vendors: %w", err)
	}
	defer rows.Close()
	var out []annotation
	for rows.Next() {
		var vendor, products, categories string
		var first int64
		var contracted bool
		if err := rows.Scan(&vendor, &first, &products, &categories, &contracted); err != nil {
			return nil, text, fmt.Errorf("new vendors: %w", err)
		}
		a := annotation{start: time.Unix(0, first), title: "New SaaS vendor: " + vendor, tags: append([]string{"new vendor"}, strings.Split(categories, ",")...)}
		a.text = "First use of " + strings.ReplaceAll(products, ",", ", ")
		if !contracted {
			a.title += " (no contract)"
			a.text += ". No contract covers it: shadow IT."
			a.tags = append(a.tags, "shadow IT")
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, text, fmt.Errorf("new vendors: %w", err)
	}
	return out, executed(text, []any{from, r.To}), nil
}

// coverageGaps marks, per capture directory (series), the stretches of at
// least gap between its files' packets that overlap the range. Before a
// directory's first file and after its last nothing is known: a stalled
// capture is the alert rule's to catch, not a gap yet.
func coverageGaps(ctx context.Context, db *sql.DB, r Range, gap time.Duration) ([]annotation, string, error) {
	text := `SELECT series, first, last FROM captures WHERE first IS NOT NULL AND last IS NOT NULL AND status != 'unreadable' ORDER BY series, first`
	rows, err := db.QueryContext(ctx, text)
	if err != nil {
		return nil, text, fmt.Errorf("coverage gaps: %w", err)
	}
	defer rows.Close()
	var out []annotation
	var series string
	var covered int64 // the end of what the series' files so far cover
	for rows.Next() {
		var s string
		var first, last int64
		if err := rows.Scan(&s, &first, &last); err != nil {
			return nil, text, fmt.Errorf("coverage gaps: %w", err)
		}
		if s != series {
			series, covered = s, last
			continue
		}
		if first-covered >= int64(gap) && first >= r.From && covered <= r.To {
			d := time.Duration(first - covered).Round(time.Minute)
			out = append(out, annotation{start: time.Unix(0, covered), end: time.Unix(0, first),
				title: fmt.Sprintf("No packets captured in %s for %s", filepath.Base(series), d),
				text:  fmt.Sprintf("Nothing from %s between two of its files: every panel undercounts here.", series),
				tags:  []string{"coverage gap", filepath.Base(series)}})
		}
		covered = max(covered, last)
	}
	if err := rows.Err(); err != nil {
		return nil, text, fmt.Errorf("coverage gaps: %w", err)
	}
	return out, text + fmt.Sprintf("\n-- gaps of at least %s", gap), nil
}

// captureProblems marks the files stored as damaged (their packets up to
// the damage were kept) or unreadable, at their first packet, or when they
// were last modified if none was read.
func captureProblems(ctx context.Context, db *sql.DB, r Range) ([]annotation, string, error) {
	text := `SELECT path, status, coalesce(error, ''), coalesce(first, mtime) AS at, packets FROM captures
WHERE status IN ('damaged', 'unreadable') AND coalesce(first, mtime) >= ? AND coalesce(first, mtime) <= ? ORDER BY at, path`
	rows, err := db.QueryContext(ctx, text, r.From, r.To)
	if err != nil {
		return nil, text, fmt.Errorf("capture problems: %w", err)
	}
	defer rows.Close()
	var out []annotation
	for rows.Next() {
		var path, status, problem string
		var at, packets int64
		if err := rows.Scan(&path, &status, &problem, &at, &packets); err != nil {
			return nil, text, fmt.Errorf("capture problems: %w", err)
		}
		a := annotation{start: time.Unix(0, at), tags: []string{"capture " + status}}
		if status == "damaged" {
			a.title = "Damaged capture: " + filepath.Base(path)
			a.text = fmt.Sprintf("%s. The %d packets before the damage were kept.", problem, packets)
		} else {
			a.title = "Unreadable capture: " + filepath.Base(path)
			a.text = problem
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, text, fmt.Errorf("capture problems: %w", err)
	}
	return out, executed(text, []any{r.From, r.To}), nil
}
