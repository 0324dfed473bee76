// Package plugin is the Grafana side of SaaSLens: one datasource instance
// per configured datasource, owning its database's scheduled ingest and
// answering panel queries, editor resources and health checks.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/store"
)

// ID is the plugin's id in plugin.json.
const ID = "saaslens-pcap-datasource"

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one configured SaaSLens datasource.
type Datasource struct {
	cfg config
	// setupErr is a bad setting: health reports it, queries fail with it.
	setupErr error

	// mu guards the database's writer and its ingest, which are opened
	// anew when the database file is deleted under them.
	mu sync.Mutex
	// ingestErr is why the database cannot be written (ingest is off);
	// queries may still read an existing one.
	ingestErr error
	writer    *store.DB
	svc       *ingest.Service
	// remade says the database was deleted or replaced while in use and
	// made anew from the captures on disk; set while this instance lives.
	remade *remade
	// lastReport is what writing the last due report came to.
	lastReport *reportState

	readerMu sync.Mutex
	reader   *store.DB

	resources backend.CallResourceHandler
	stop      context.CancelFunc
	stopped   chan struct{}
	logger    log.Logger
}

// NewDatasource is the instance factory datasource.Manage calls for each
// datasource and again whenever its settings change. It never fails on a
// bad setting or an unwritable database: the instance then explains the
// problem in its health check and query errors, which is where users look.
func NewDatasource(_ context.Context, settings backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	d := &Datasource{logger: log.DefaultLogger.With("datasource", settings.Name, "uid", settings.UID), stopped: make(chan struct{})}
	d.resources = d.newResourceHandler()
	d.cfg, d.setupErr = loadConfig(settings)
	if d.setupErr != nil {
		d.logger.Error("bad settings", "error", d.setupErr)
		close(d.stopped)
		return d, nil
	}
	d.openWriter()
	ctx, stop := context.WithCancel(context.Background())
	d.stop = stop
	if d.service() == nil {
		close(d.stopped)
		return d, nil
	}
	go func() {
		defer close(d.stopped)
		for d.watch(ctx) {
			d.remake(ctx)
		}
	}()
	return d, nil
}

// watch runs the scheduled ingest until ctx ends, or until the database
// file turns out deleted or replaced under it: then it says so.
func (d *Datasource) watch(ctx context.Context) (replaced bool) {
	svc := d.service()
	if svc == nil {
		return false
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	svc.Watch(ctx, func(rep *ingest.Report, err error) {
		switch {
		case errors.Is(err, store.ErrReplaced):
			d.logger.Error("the database was deleted or replaced while in use; making it anew from the captures on disk", "error", err)
			replaced = true
			cancel()
		case err != nil:
			d.logger.Warn("ingest failed; trying again on the next run", "error", err)
		case rep != nil && len(rep.Files) > 0:
			d.logger.Info("ingested", "files", len(rep.Files), "packets", rep.Packets, "damaged", rep.Count("damaged"),
				"unreadable", rep.Count("unreadable"), "elapsed", rep.Elapsed)
		}
		if err == nil {
			d.noteReport(d.writeDueReport(ctx))
		}
	})
	return replaced
}

// remade is what happened when the database was made anew.
type remade struct {
	at    time.Time
	cause error
	// gone are the captures the old database held of which no file is
	// left: their rows cannot come back.
	gone []string
}

func (r *remade) String() string {
	s := fmt.Sprintf("databasePath: %v at %s; it was made anew from the captures on disk", r.cause, r.at.UTC().Format(time.RFC3339))
	if n := len(r.gone); n > 0 {
		s += fmt.Sprintf(", but %d captures it held are no longer on disk and their rows are lost (%s)", n, strings.Join(r.gone[:min(n, 5)], ", "))
		if n > 5 {
			s += ", …"
		}
	}
	return s
}

// remake closes the deleted database, notes which of its captures are no
// longer on disk, and opens the path anew: the next run reads every
// capture there again.
func (d *Datasource) remake(ctx context.Context) {
	d.mu.Lock()
	old, svc := d.writer, d.svc
	d.mu.Unlock()
	// The deleted file is still open here: its ledger says what it held.
	r := &remade{at: time.Now(), cause: old.Replaced()}
	var err error
	if r.gone, err = old.CapturesGone(ctx); err != nil {
		d.logger.Warn("could not list the captures the deleted database held", "error", err)
	}
	d.mu.Lock()
	svc.Close()
	old.Close()
	d.writer, d.svc, d.remade = nil, nil, r
	d.mu.Unlock()
	d.closeReader()
	d.openWriter()
	if svc := d.service(); svc != nil {
		svc.RunNow()
	}
	d.logger.Error("database made anew", "path", d.cfg.Database, "capturesLost", len(r.gone))
}

// service is the ingest service, nil while ingest is off.
func (d *Datasource) service() *ingest.Service {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.svc
}

// openWriter opens the database for ingest; failing that (a read-only
// mount, a full disk), ingest is off and the reason kept.
func (d *Datasource) openWriter() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(d.cfg.Database), 0o755); err != nil {
		d.ingestErr = fmt.Errorf("databasePath: cannot create the directory of %s: %w", d.cfg.Database, err)
		return
	}
	db, err := store.Open(d.cfg.Database)
	if errors.Is(err, store.ErrNotOurs) {
		d.ingestErr = fmt.Errorf("databasePath: %w", err)
		d.logger.Error("the database is another program's; scheduled ingest is off", "error", err)
		return
	}
	if err != nil {
		d.ingestErr = fmt.Errorf("databasePath: cannot write %s: %w", d.cfg.Database, err)
		d.logger.Error("database not writable; scheduled ingest is off", "error", err)
		return
	}
	svc, err := ingest.NewService(db, d.cfg.Ingest, ingest.Options{Log: d.logger})
	if err != nil {
		db.Close()
		// A contracts or catalog file with errors names them by file and
		// line; the health check names the setting.
		d.ingestErr = fmt.Errorf("%s: %w", settingOf(err), err)
		return
	}
	d.writer, d.svc = db, svc
}

// readDB returns the read-only handle, opening it on first use: the
// database may only appear with the first ingest.
func (d *Datasource) readDB() (*store.DB, error) {
	if d.setupErr != nil {
		return nil, d.setupErr
	}
	d.readerMu.Lock()
	defer d.readerMu.Unlock()
	if d.reader != nil {
		return d.reader, nil
	}
	r, err := store.OpenReader(d.cfg.Database)
	if err != nil {
		if errors.Is(err, store.ErrNotOurs) {
			return nil, fmt.Errorf("databasePath: %w", err)
		}
		if problem := d.writeProblem(); problem != nil || errors.Is(err, os.ErrNotExist) {
			if problem == nil {
				problem = errors.New("the first ingest has not finished")
			}
			return nil, fmt.Errorf("no database at %s yet: %w", d.cfg.Database, problem)
		}
		return nil, err
	}
	d.reader = r
	return r, nil
}

// closeReader closes the read-only handle; the next query opens it again.
func (d *Datasource) closeReader() {
	d.readerMu.Lock()
	defer d.readerMu.Unlock()
	if d.reader != nil {
		d.reader.Close()
		d.reader = nil
	}
}

// writeProblem is why the database cannot be written, nil when it can.
func (d *Datasource) writeProblem() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ingestErr
}

// Dispose stops the scheduled ingest (the file being read rolls back) and
// closes the database before Grafana starts using the instance that
// replaces this one.
func (d *Datasource) Dispose() {
	if d.stop != nil {
		d.stop()
	}
	select {
	case <-d.stopped:
	case <-time.After(time.Minute):
		d.logger.Error("ingest did not stop within a minute of dispose")
	}
	d.mu.Lock()
	if d.svc != nil {
		d.svc.Close()
	}
	if d.writer != nil {
		d.writer.Close()
	}
	d.mu.Unlock()
	d.closeReader()
	if m, ok := d.cfg.Geo.(*geo.MMDB); ok {
		m.Close()
	}
}
