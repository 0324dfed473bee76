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
	// ingestErr is why the database cannot be written (ingest is off);
	// queries may still read an existing one.
	ingestErr error
	writer    *store.DB
	svc       *ingest.Service

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
	if d.svc == nil {
		close(d.stopped)
		return d, nil
	}
	go func() {
		defer close(d.stopped)
		d.svc.Watch(ctx, func(rep *ingest.Report, err error) {
			switch {
			case err != nil:
				d.logger.Warn("ingest failed; trying again on the next run", "error", err)
			case rep != nil && len(rep.Files) > 0:
				d.logger.Info("ingested", "files", len(rep.Files), "packets", rep.Packets, "damaged", rep.Count("damaged"),
					"unreadable", rep.Count("unreadable"), "elapsed", rep.Elapsed)
			}
		})
	}()
	return d, nil
}

// openWriter opens the database for ingest; failing that (a read-only
// mount, a full disk), ingest is off and the reason kept.
func (d *Datasource) openWriter() {
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
		if d.ingestErr != nil || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s yet: %w", d.cfg.Database, d.writeProblem())
		}
		return nil, err
	}
	d.reader = r
	return r, nil
}

func (d *Datasource) writeProblem() error {
	if d.ingestErr != nil {
		return d.ingestErr
	}
	return errors.New("the first ingest has not finished")
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
	if d.svc != nil {
		d.svc.Close()
	}
	if d.writer != nil {
		d.writer.Close()
	}
	d.readerMu.Lock()
	if d.reader != nil {
		d.reader.Close()
		d.reader = nil
	}
	d.readerMu.Unlock()
	if m, ok := d.cfg.Geo.(*geo.MMDB); ok {
		m.Close()
	}
}
