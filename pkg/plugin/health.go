package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// CheckHealth is the "Save & test" answer: every problem found, each
// naming the setting, directory or file to fix, or what the database
// holds when all is well.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.setupErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: d.setupErr.Error()}, nil
	}
	st := d.status(ctx)
	problems, notes := d.settingsProblems(), []string(nil)
	problems = append(problems, ingestProblems(st)...)
	d.mu.Lock()
	remade := d.remade
	d.mu.Unlock()
	if remade != nil {
		// A problem until the first run over the new database has ended,
		// then said beside what is stored.
		if st.LastRun == nil || st.LastRun.Start.Before(remade.at) {
			problems = append(problems, remade.String())
		} else {
			notes = append(notes, remade.String())
		}
	}
	summary := ""
	if st.ReadProblem != "" {
		problems = append(problems, "reading the database: "+st.ReadProblem)
	} else {
		summary = storedSummary(st, d.cfg.Database, notes)
	}
	if len(problems) > 0 {
		msg := strings.Join(problems, "; ")
		if summary != "" {
			msg += ". Stored so far: " + summary
		}
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: msg}, nil
	}
	return &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: "SaaSLens: " + summary}, nil
}

// settingsProblems are what is wrong where the settings point: capture
// directories, the database, the geo database.
func (d *Datasource) settingsProblems() []string {
	var problems []string
	if len(d.cfg.Ingest.Paths) == 0 {
		problems = append(problems, "captureDirs: no capture directory set; add the directories your captures are written to")
	}
	for _, dir := range d.cfg.Ingest.Paths {
		if err := readableDir(dir); err != nil {
			problems = append(problems, "captureDirs: "+err.Error())
		}
	}
	d.mu.Lock()
	ingestErr, writer := d.ingestErr, d.writer
	d.mu.Unlock()
	if ingestErr != nil {
		problems = append(problems, ingestErr.Error()+" (scheduled ingest is off)")
	} else if err := writable(d.cfg.Database); err != nil {
		problems = append(problems, "databasePath: "+err.Error())
	}
	if writer != nil {
		if err := writer.Replaced(); err != nil {
			problems = append(problems, "databasePath: "+err.Error()+"; it is being made anew from the captures on disk")
		}
	}
	if d.cfg.GeoProblem != nil {
		problems = append(problems, d.cfg.GeoProblem.Error())
	}
	return problems
}

// ingestProblems are what ingest reports: files it could not read, a
// stalled read, a failed run, failing classifier plugins.
func ingestProblems(st Status) []string {
	problems := append([]string(nil), st.FileProblems...)
	if st.Stalled != "" {
		problems = append(problems, fmt.Sprintf("ingest has read nothing from %s for %s, and the read could not be abandoned: the kernel holds it (a hung network mount?)", st.StalledFile, st.Stalled))
	}
	if st.LastReport != nil && st.LastReport.Error != "" {
		problems = append(problems, st.LastReport.Error)
	}
	if st.LastRun != nil && st.LastRun.Error != "" {
		problems = append(problems, "last ingest failed: "+st.LastRun.Error)
	}
	for _, p := range st.Plugins {
		if p.LastError != "" && (st.LastRun == nil || !strings.Contains(st.LastRun.Error, p.LastError)) {
			problems = append(problems, "classifierPlugins: "+p.LastError+" (its names fall back to the contracts and the catalog)")
		}
	}
	return problems
}

// storedSummary says what the database holds, and the notes.
func storedSummary(st Status, database string, notes []string) string {
	total := 0
	for _, n := range st.Captures {
		total += n
	}
	summary := fmt.Sprintf("%d capture files (%d damaged, %d unreadable), %d streams, %d services in %s",
		total, st.Captures["damaged"], st.Captures["unreadable"], st.Streams, st.Services, database)
	if n := st.UnreadCount; n > 0 {
		summary += fmt.Sprintf("; %d files could not be read and will be tried again, e.g. %s: %s", n, st.Unread[0].Path, st.Unread[0].Error)
	}
	if st.Running {
		summary += "; ingest running"
	}
	if len(st.Problems) > 0 {
		p := st.Problems[0]
		summary += fmt.Sprintf("; latest problem: %s: %s %s", p.Path, p.Status, p.Error)
	}
	for _, n := range notes {
		summary += "; " + n
	}
	return summary
}

func readableDir(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s does not exist (or is not mounted into the Grafana server)", dir)
	case err != nil:
		return fmt.Errorf("%s: %w", dir, err)
	case !info.IsDir():
		return fmt.Errorf("%s is a file, not a directory", dir)
	}
	f, err := os.Open(dir)
	if err == nil {
		_, err = f.Readdirnames(1)
		f.Close()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s cannot be read by the Grafana server's user: %w", dir, err)
	}
	return nil
}

// writable tells whether the database's directory takes a new file: SQLite
// needs it for its journal, and a full disk shows here first.
func writable(db string) error {
	f, err := os.CreateTemp(filepath.Dir(db), ".saaslens-health-*")
	if err != nil {
		return fmt.Errorf("cannot write beside %s: %w", db, err)
	}
	name := f.Name()
	_, err = f.Write(make([]byte, 4096))
	f.Close()
	os.Remove(name)
	if err != nil {
		return fmt.Errorf("cannot write beside %s: %w", db, err)
	}
	return nil
}
