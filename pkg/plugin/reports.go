package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/saaslens/saaslens/pkg/query"
	"github.com/saaslens/saaslens/pkg/report"
)

// reportOptions are the report's options from the settings, for month.
func (d *Datasource) reportOptions(month time.Time) report.Options {
	return report.Options{Month: month, Location: d.cfg.Location, Lang: d.cfg.ReportLanguage, Home: d.cfg.Home, Locator: d.cfg.Geo}
}

// writeDueReport writes, after a run, the report of the last month the
// captures have passed, into reportDir, once: a month closes when the
// latest packet is past its end (in timeZone). A month no capture
// reaches has no report.
func (d *Datasource) writeDueReport(ctx context.Context) (string, error) {
	if d.cfg.ReportDir == "" {
		return "", nil
	}
	db, err := d.readDB()
	if err != nil {
		return "", err
	}
	end, err := db.TrafficEnd(ctx)
	if err != nil || end == 0 {
		return "", err
	}
	month := report.ClosedMonth(end, d.cfg.Location)
	path := filepath.Join(d.cfg.ReportDir, report.FileName(month))
	if _, err := os.Stat(path); err == nil {
		return "", nil
	}
	covered, err := query.Coverage(ctx, db.SQL(), month.UnixNano(), month.AddDate(0, 1, 0).UnixNano())
	if err != nil || covered == 0 {
		return "", err
	}
	if err := os.MkdirAll(d.cfg.ReportDir, 0o755); err != nil {
		return "", fmt.Errorf("reportDir: the report for %s could not be written: %w", month.Format("2006-01"), err)
	}
	if err := report.Write(ctx, db.SQL(), d.reportOptions(month), path); err != nil {
		return "", fmt.Errorf("reportDir: the report for %s could not be written: %w", month.Format("2006-01"), err)
	}
	return path, nil
}

// serveReport answers GET report?month=YYYY-MM (the last month the
// captures have passed when none): the report written into reportDir, or
// one made now.
func (d *Datasource) serveReport(w http.ResponseWriter, r *http.Request) {
	db, err := d.readDB()
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	var month time.Time
	if m := r.URL.Query().Get("month"); m != "" {
		if month, err = report.ParseMonth(m, d.cfg.Location); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
	} else {
		end, err := db.TrafficEnd(r.Context())
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			return
		}
		if end == 0 {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no report yet: the database holds no captures"})
			return
		}
		if month, err = report.LatestMonth(r.Context(), db.SQL(), end, d.cfg.Location); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if d.cfg.ReportDir != "" {
		page, err := os.ReadFile(filepath.Join(d.cfg.ReportDir, report.FileName(month)))
		if err == nil {
			w.WriteHeader(http.StatusOK)
			w.Write(page)
			return
		}
		if !errors.Is(err, os.ErrNotExist) {
			d.logger.Warn("could not read a written report; making it anew", "error", err)
		}
	}
	rep, err := report.Build(r.Context(), db.SQL(), d.reportOptions(month))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusOK)
	if err := rep.HTML(w); err != nil {
		d.logger.Warn("report", "error", err)
	}
}

// reportState is what the last report written, or trying to, came to.
type reportState struct {
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
}

// noteReport keeps what writing a due report came to, for the status and
// health; nothing written and no error changes nothing.
func (d *Datasource) noteReport(path string, err error) {
	if path == "" && err == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lastReport = &reportState{Path: path}
	if err != nil {
		d.lastReport.Error = err.Error()
		d.logger.Warn("the month's report could not be written", "error", err)
		return
	}
	d.logger.Info("the month's report is written", "path", path)
}
