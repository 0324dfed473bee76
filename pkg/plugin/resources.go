package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"
	"github.com/saaslens/saaslens/pkg/classifierhost"
	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/query"
)

// CallResource serves the editors' pickers, what they need to know of the
// backend, and the status page:
//
//	GET  <list> [?from=&to= Unix ms]  [{text, value}], a list of query.Lists
//	GET  tagKeys                      [{text}], the keys a dashboard's ad hoc filters take
//	GET  tagValues?key= [&from=&to=]  [{text, value}], a key's values
//	GET  meta                         query types, groupings, filters, macros, tables, settings (Meta)
//	GET  report [?month=YYYY-MM]      a month's report (HTML), as written into reportDir or made now
//	GET  status                       what ingest has done and is doing
//	POST ingest                       run ingest now (202; queued behind a run going on)
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, sender)
}

func (d *Datasource) newResourceHandler() backend.CallResourceHandler {
	mux := http.NewServeMux()
	for _, l := range query.Lists {
		mux.HandleFunc("GET /"+l.Name, func(w http.ResponseWriter, r *http.Request) { d.serveList(w, r, l) })
	}
	mux.HandleFunc("GET /tagKeys", tagKeys)
	mux.HandleFunc("GET /tagValues", d.tagValues)
	mux.HandleFunc("GET /meta", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.meta(r.Context()))
	})
	mux.HandleFunc("GET /report", d.serveReport)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.status(r.Context()))
	})
	mux.HandleFunc("POST /ingest", func(w http.ResponseWriter, r *http.Request) {
		svc := d.service()
		if svc == nil {
			writeJSON(w, http.StatusConflict, map[string]string{"error": "ingest is off: " + d.notIngesting().Error()})
			return
		}
		svc.RunNow()
		writeJSON(w, http.StatusAccepted, map[string]string{"message": "ingest queued"})
	})
	return httpadapter.New(mux)
}

// serveList answers with a list over the request's range.
func (d *Datasource) serveList(w http.ResponseWriter, r *http.Request, l query.List) {
	rng, err := rangeParams(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	db, err := d.readDB()
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	out, err := l.Load(r.Context(), db.SQL(), rng)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (d *Datasource) notIngesting() error {
	if d.setupErr != nil {
		return d.setupErr
	}
	if err := d.writeProblem(); err != nil {
		return err
	}
	return errors.New("the database is being opened anew")
}

// rangeParams reads from and to in Unix milliseconds, as Grafana's time
// range gives them, clamped as a panel's range is; none means all time.
func rangeParams(r *http.Request) (query.Range, error) {
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if from == "" && to == "" {
		return query.Range{}, nil
	}
	f, err1 := strconv.ParseInt(from, 10, 64)
	t, err2 := strconv.ParseInt(to, 10, 64)
	if err1 != nil || err2 != nil || t < f {
		return query.Range{}, fmt.Errorf("from=%q to=%q: want Unix milliseconds, from before to", from, to)
	}
	return query.RangeOf(time.UnixMilli(f), time.UnixMilli(t)), nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Status is the status resource's JSON.
type Status struct {
	Database      string    `json:"database"`
	DatabaseBytes int64     `json:"databaseBytes"`
	Ingesting     bool      `json:"ingesting"`
	IngestProblem string    `json:"ingestProblem,omitempty"`
	Running       bool      `json:"running"`
	Progress      *Progress `json:"progress,omitempty"`
	// Stalled, while a run goes on, says how long the file being read has
	// given no data, once that is past the bound at which a read is
	// abandoned: a read the kernel holds (a hung network mount).
	Stalled     string         `json:"stalled,omitempty"`
	StalledFile string         `json:"stalledFile,omitempty"`
	LastRun     *Run           `json:"lastRun,omitempty"`
	Captures    map[string]int `json:"captures"`
	// Problems are the files stored as damaged or unreadable, newest first.
	Problems []FileProblem `json:"problems"`
	// Unread files could not be read at all in the last run (permissions,
	// deleted meanwhile); the next run tries them again. At most
	// maxProblems are listed; UnreadCount counts them all.
	Unread      []FileProblem `json:"unread"`
	UnreadCount int           `json:"unreadCount"`
	// Pending files are still being written; a later run reads them. At
	// most maxProblems are listed; PendingCount counts them all.
	Pending      []string `json:"pending"`
	PendingCount int      `json:"pendingCount"`
	Streams      int64    `json:"streams"`
	Services     int64    `json:"services"`
	// Plugins are the classifier plugins' states.
	Plugins []classifierhost.Status `json:"classifierPlugins"`
	// FileProblems are the files the settings name that the last run
	// could not read, each naming its setting; ingest and queries go on
	// with the version last read, or without the file.
	FileProblems []string `json:"fileProblems"`
	// LastReport is the last month's report written into reportDir, or
	// why it could not be.
	LastReport *reportState `json:"lastReport,omitempty"`
	// ReadProblem is why the counts above could not be read.
	ReadProblem string `json:"readProblem,omitempty"`
}

// Progress is a run's advance.
type Progress struct {
	File      string `json:"file"`
	FileIndex int    `json:"fileIndex"`
	Files     int    `json:"files"`
	Packets   uint64 `json:"packets"`
}

// Run sums up the last finished run.
type Run struct {
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	Error            string    `json:"error,omitempty"`
	Files            int       `json:"files"`
	Packets          uint64    `json:"packets"`
	PacketsPerSecond float64   `json:"packetsPerSecond"`
	Retained         int64     `json:"retainedRowsDeleted"`
	Classified       int       `json:"classifiedNames"`
}

// FileProblem is a capture stored as damaged or unreadable.
type FileProblem struct {
	Path   string `json:"path"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

// maxProblems keeps the status of a directory of broken files readable
// (a capture directory pointed at /proc listed 5,746 files, 640 KB).
const maxProblems = 100

func (d *Datasource) status(ctx context.Context) Status {
	st := Status{Database: d.cfg.Database, Captures: map[string]int{}, Problems: []FileProblem{}, Unread: []FileProblem{}, Pending: []string{}, FileProblems: []string{}}
	if info, err := os.Stat(d.cfg.Database); err == nil {
		st.DatabaseBytes = info.Size()
	}
	if svc := d.service(); svc == nil {
		st.IngestProblem = d.notIngesting().Error()
	} else {
		st.Ingesting = true
		s := svc.Status()
		st.Running = s.Running
		st.Plugins = s.Plugins
		for _, err := range s.FileProblems {
			st.FileProblems = append(st.FileProblems, fileProblem(err))
		}
		if s.Running {
			st.Progress = &Progress{File: s.Progress.File, FileIndex: s.Progress.FileIndex, Files: s.Progress.Files, Packets: s.Progress.Packets}
		}
		if s.Stalled > 0 {
			st.Stalled, st.StalledFile = s.Stalled.Round(time.Second).String(), s.StalledFile
		}
		if s.Runs > 0 {
			run := &Run{Start: s.LastStart, End: s.LastEnd, Error: s.LastError, Retained: s.Retained, Classified: s.Classified}
			if rep := s.LastReport; rep != nil {
				run.Files, run.Packets = len(rep.Files), rep.Packets
				if secs := rep.Elapsed.Seconds(); secs > 0 {
					run.PacketsPerSecond = float64(rep.Packets) / secs
				}
				st.Unread, st.UnreadCount, st.Pending, st.PendingCount = fileLists(rep)
			}
			st.LastRun = run
		}
	}
	d.mu.Lock()
	st.LastReport = d.lastReport
	d.mu.Unlock()
	if err := d.counts(ctx, &st); err != nil {
		st.ReadProblem = err.Error()
	}
	return st
}

// fileProblem says what a file the settings name is and why it could not
// be read, and what goes on meanwhile.
func fileProblem(err error) string {
	return fmt.Sprintf("%s: %v (ingest and queries go on with the version last read, or without it)", settingOf(err), err)
}

// fileLists are a run's files to try again and files still being
// written, the first maxProblems of each, and how many there are.
func fileLists(rep *ingest.Report) (unread []FileProblem, unreadCount int, pending []string, pendingCount int) {
	unread, pending = []FileProblem{}, []string{}
	for _, f := range rep.Files {
		if !f.Retried {
			continue
		}
		if unreadCount++; len(unread) < maxProblems {
			unread = append(unread, FileProblem{Path: f.Path, Status: f.Status, Error: f.Error})
		}
	}
	pending = append(pending, rep.Growing[:min(len(rep.Growing), maxProblems)]...)
	return unread, unreadCount, pending, len(rep.Growing)
}

// counts fills in what the database holds.
func (d *Datasource) counts(ctx context.Context, st *Status) error {
	db, err := d.readDB()
	if err != nil {
		return err
	}
	rows, err := db.SQL().QueryContext(ctx, `SELECT status, count(*) FROM captures GROUP BY 1`)
	if err != nil {
		return fmt.Errorf("captures: %w", err)
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return fmt.Errorf("captures: %w", err)
		}
		st.Captures[s] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("captures: %w", err)
	}
	rows, err = db.SQL().QueryContext(ctx, `SELECT path, status, coalesce(error, '') FROM captures WHERE status != 'ok' ORDER BY ingested_at DESC LIMIT ?`, maxProblems)
	if err != nil {
		return fmt.Errorf("captures: %w", err)
	}
	for rows.Next() {
		var p FileProblem
		if err := rows.Scan(&p.Path, &p.Status, &p.Error); err != nil {
			rows.Close()
			return fmt.Errorf("captures: %w", err)
		}
		st.Problems = append(st.Problems, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("captures: %w", err)
	}
	err = db.SQL().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM streams), (SELECT count(DISTINCT server_name) FROM usage_hourly)`).Scan(&st.Streams, &st.Services)
	if err != nil {
		return fmt.Errorf("counts: %w", err)
	}
	return nil
}
