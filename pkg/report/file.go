package report

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/saaslens/saaslens/pkg/query"
)

// ParseMonth reads a month as "2026-03", in loc.
func ParseMonth(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("month %q: write it as YYYY-MM, like 2026-03", s)
	}
	return t, nil
}

// ClosedMonth is the last month of loc that has ended by end (the latest
// captured packet, in Unix nanoseconds): the month a report is due for.
func ClosedMonth(end int64, loc *time.Location) time.Time {
	t := time.Unix(0, end).In(loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, -1, 0)
}

// LatestMonth is the month a report is made for when none is named: the
// last month the captures have passed (end is the latest captured packet,
// in Unix nanoseconds) when they cover some of it, else, for captures of a
// few days, the month they end in, as far as it goes.
func LatestMonth(ctx context.Context, db *sql.DB, end int64, loc *time.Location) (time.Time, error) {
	closed := ClosedMonth(end, loc)
	covered, err := query.Coverage(ctx, db, closed.UnixNano(), closed.AddDate(0, 1, 0).UnixNano())
	if err != nil {
		return time.Time{}, fmt.Errorf("report: %w", err)
	}
	if covered == 0 {
		return closed.AddDate(0, 1, 0), nil
	}
	return closed, nil
}

// FileName is a month's report's file name: saaslens-2026-03.html.
func FileName(month time.Time) string { return "saaslens-" + month.Format("2006-01") + ".html" }

// Write builds the month's report and writes it to path whole: a reader
// never finds half a report there.
func Write(ctx context.Context, db *sql.DB, o Options, path string) error {
	r, err := Build(ctx, db, o)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".saaslens-report-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := r.HTML(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
