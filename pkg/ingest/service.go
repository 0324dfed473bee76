package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/saaslens/saaslens/pkg/classifierhost"
	"github.com/saaslens/saaslens/pkg/classify"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/inventory"
	"github.com/saaslens/saaslens/pkg/store"
)

// Config is everything a scheduled ingest needs. The CLI fills it from
// flags, the Grafana plugin from the datasource's settings; both start
// from DefaultConfig and call Validate, so both refuse the same values
// with the same words.
type Config struct {
	// Paths are the capture files and directories read on every run.
	Paths []string
	// PacketRows keeps one packets row per TCP/UDP packet (the tutorial's
	// join needs them; dashboards do not).
	PacketRows bool
	// Settle is how long a file must go unmodified before it is read.
	Settle time.Duration
	// Interval is the time between scheduled runs of Watch; 0 runs only
	// when asked (RunNow).
	Interval time.Duration
	// ReadStall is how long a file's reads may return no data before the
	// file is abandoned and reported, to be tried again next run.
	ReadStall time.Duration
	// RetainDays deletes details older than that many days before the
	// latest stored packet after each run; 0 keeps everything.
	RetainDays int
	// Flow holds the stream tracker's timeouts and bounds.
	Flow flow.Config
	// Contracts names the user's contracts file (classify.LoadContracts);
	// "" classifies by the built-in catalog alone. It is read again when
	// it changes.
	Contracts string
	// Catalog names the user's catalog file (classify.LoadCatalog), whose
	// entries come before the built-in catalog's (after the contracts and
	// plugins); "" has none. It is read again when it changes.
	Catalog string
	// Inventory names the device inventory CSV (inventory.Load): device
	// names, users and departments by MAC or address; "" has none. It is
	// read again when it changes.
	Inventory string
	// Plugins are the classifier plugins to run, asked before the
	// contracts and the catalog.
	Plugins []classifierhost.Config
	// TimeZone cuts the monthly totals' months and days (the office's
	// zone, the datasource's timeZone); nil keeps the database's (UTC in
	// a new one). A run after it changed first rebuilds them
	// (store.DB.SetRollupZone).
	TimeZone *time.Location
}

// DefaultConfig is a watch of no paths every minute, keeping packet rows as
// the tutorial's join needs them, with the settle time
// of a rotating tcpdump and the tracker's defaults.
func DefaultConfig() Config {
	return Config{PacketRows: true, Settle: 10 * time.Second, Interval: time.Minute, ReadStall: DefaultReadStall, Flow: flow.DefaultConfig()}
}

// MinInterval is the shortest time between scheduled runs: a run with
// nothing new still lists the directories and checks each file, and a
// shorter interval would spend a core doing it.
const MinInterval = time.Second

// Validate names the first setting that cannot work and what to do, as a
// *ConfigError.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{field, fmt.Errorf(format, args...)}
	}
	switch {
	case c.Settle < 0:
		return bad("settle", "settle %s: must be 0 or more", c.Settle)
	case c.Interval < 0:
		return bad("interval", "interval %s: must be 0 (run only when asked) or more", c.Interval)
	case c.Interval > 0 && c.Interval < MinInterval:
		return bad("interval", "interval %s: at least %s between runs, or 0 to run only when asked", c.Interval, MinInterval)
	case c.ReadStall <= 0:
		return bad("read-stall", "read stall %s: must be more than 0", c.ReadStall)
	case c.RetainDays < 0:
		return bad("retain-days", "retain-days %d: must be 0 (keep everything) or more", c.RetainDays)
	case c.Flow.TCPIdle <= 0 || c.Flow.UDPIdle <= 0:
		return bad("flow", "flow idle timeouts (TCP %s, UDP %s): must be more than 0", c.Flow.TCPIdle, c.Flow.UDPIdle)
	case c.Flow.ClosedLinger < 0:
		return bad("flow", "flow closed linger %s: must be 0 or more", c.Flow.ClosedLinger)
	case c.Flow.MaxStreams < 0:
		return bad("flow", "flow max streams %d: must be 0 (no bound) or more", c.Flow.MaxStreams)
	case c.Contracts != "" && strings.TrimSpace(c.Contracts) == "":
		return bad("contracts", "contracts: an empty path; name the contracts file or leave it out")
	case c.Catalog != "" && strings.TrimSpace(c.Catalog) == "":
		return bad("catalog", "catalog: an empty path; name the catalog file or leave it out")
	case c.Inventory != "" && strings.TrimSpace(c.Inventory) == "":
		return bad("inventory", "inventory: an empty path; name the inventory file or leave it out")
	case c.TimeZone != nil && c.TimeZone.String() == "Local":
		return bad("time zone", "time zone: the machine's local zone has no name another process can read; name it, like Asia/Tokyo")
	}
	for _, p := range c.Plugins {
		if err := p.Check(); err != nil {
			return &ConfigError{"plugins", err}
		}
	}
	for _, p := range c.Paths {
		if strings.TrimSpace(p) == "" {
			return bad("paths", "paths: an empty path; name a capture file or directory")
		}
	}
	return nil
}

// Status is what a service has done and is doing, for a health check or a
// status page while a run goes on.
type Status struct {
	Running bool
	// Progress of the run going on (zero when none).
	Progress Progress
	// LastStart and LastEnd bound the last finished run; zero before one.
	LastStart, LastEnd time.Time
	// LastReport is that run's report, LastError its failure ("" when it
	// ended well); a file's damage is in the report, not here.
	LastReport *Report
	LastError  string
	// Retained counts the rows the last retention pass deleted.
	Retained int64
	// Classified counts the server names the last run classified (all of
	// them after the catalog or the contracts changed).
	Classified int
	// Plugins are the classifier plugins' states.
	Plugins []classifierhost.Status
	// Stalled, while a run goes on, is how long StalledFile has given no
	// data, when that is longer than the configuration's ReadStall: a
	// read stuck past the point where it is abandoned.
	Stalled     time.Duration
	StalledFile string
	// FileProblems are the files the configuration names that could not
	// be read as they are now, each a *ConfigError naming its field:
	// ingest goes on with the last version read, or without the file.
	FileProblems []error
	Runs         int
}

// Service owns one database's ingest: runs never overlap, within a
// process (one owner) or across processes (a lock file beside the
// database, naming its holder).
type Service struct {
	db    *store.DB
	cfg   Config
	in    *Ingester
	now   chan struct{}
	runMu sync.Mutex

	classifier *classify.Classifier
	contracts  loaded[[]classify.Contract]
	catalog    loaded[[]classify.Entry]
	inventory  loaded[[]inventory.Entry]
	plugins    []*classifierhost.Plugin
	// addressNames names nameless servers by the catalogs' ranges; the
	// ingester's trackers read it while a changed catalog file replaces it.
	addressNames atomic.Pointer[classify.AddressNames]
	pluginIDs    string

	mu     sync.Mutex
	status Status
}

// ErrBusy is returned when another process holds the database's ingest
// lock; its message names that process.
var ErrBusy = errors.New("another ingest holds the database")

// NewService validates cfg and returns a service writing into db. opts
// tunes the ingester as for New (Progress is chained, not replaced).
func NewService(db *store.DB, cfg Config, opts Options) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{db: db, cfg: cfg, now: make(chan struct{}, 1)}
	opts.PacketRows = cfg.PacketRows
	opts.Settle = cfg.Settle
	opts.ReadStall = cfg.ReadStall
	opts.Flow = cfg.Flow
	opts.Flow.NameByAddress = func(addr netip.Addr) (string, bool) { return s.addressNames.Load().Name(addr) }
	report := opts.Progress
	opts.Progress = func(p Progress) {
		s.mu.Lock()
		s.status.Progress = p
		s.mu.Unlock()
		if report != nil {
			report(p)
		}
	}
	s.in = New(db, opts)
	for _, p := range cfg.Plugins {
		s.plugins = append(s.plugins, classifierhost.New(p))
	}
	if err := s.loadFiles(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the classifier plugins.
func (s *Service) Close() {
	for _, p := range s.plugins {
		p.Close()
	}
}

// loaded is a file the configuration names, as last read.
type loaded[T any] struct {
	value T
	mtime time.Time
	read  bool
}

// refresh reads the file at path again when it changed since l was read,
// and says whether l changed. A file missing or broken keeps the version
// last read (or none) in use, and the error says why; no file named
// empties l.
func refresh[T any](l *loaded[T], field, path string, load func(string) (T, error)) (bool, error) {
	if path == "" {
		changed := l.read
		*l = loaded[T]{}
		return changed, nil
	}
	mtime, err := modTime(field, path)
	if err != nil {
		return false, err
	}
	if l.read && mtime.Equal(l.mtime) {
		return false, nil
	}
	v, err := load(path)
	if err != nil {
		return false, &ConfigError{field, err}
	}
	*l = loaded[T]{v, mtime, true}
	return true, nil
}

// loadFiles reads the contracts, the catalog and the inventory files
// again where they changed, rebuilds the classifier when the contracts or
// the catalog changed or a plugin's identity did, and keeps what could not
// be read in the status. A file that cannot be read never stops ingest:
// the last version read stays in use, the stored contracts and inventory
// included, or ingest goes on without it. The error is the database's.
func (s *Service) loadFiles(ctx context.Context) error {
	var ids []string
	plugins := make([]classify.Plugin, len(s.plugins))
	for i, p := range s.plugins {
		ids = append(ids, p.Identity())
		plugins[i] = p
	}
	pluginIDs := strings.Join(ids, "\n")
	var problems []error
	noteProblem := func(err error) {
		if err != nil {
			problems = append(problems, err)
		}
	}
	contractsChanged, err := refresh(&s.contracts, "contracts", s.cfg.Contracts, classify.LoadContracts)
	noteProblem(err)
	catalogChanged, err := refresh(&s.catalog, "catalog", s.cfg.Catalog, classify.LoadCatalog)
	noteProblem(err)
	inventoryChanged, err := refresh(&s.inventory, "inventory", s.cfg.Inventory, inventory.Load)
	noteProblem(err)
	defer func() {
		s.mu.Lock()
		s.status.FileProblems = problems
		s.mu.Unlock()
	}()
	if inventoryChanged {
		if err := s.db.SaveInventory(ctx, s.inventory.value); err != nil {
			return err
		}
	}
	if s.classifier != nil && pluginIDs == s.pluginIDs && !contractsChanged && !catalogChanged {
		return nil
	}
	cfg := classify.Config{Plugins: plugins, Contracts: s.contracts.value, Catalog: s.catalog.value}
	c, err := classify.Builtin(cfg)
	if err != nil {
		return err
	}
	builtin, err := classify.Catalog()
	if err != nil {
		return err
	}
	names, err := classify.NewAddressNames(cfg.Catalog, builtin)
	if err != nil {
		// Ranges the catalog file claims twice: ingest goes on with the
		// built-in ranges, the file named.
		noteProblem(&ConfigError{"catalog", err})
		if names, err = classify.NewAddressNames(builtin); err != nil {
			return err
		}
	}
	// No contracts named is none; contracts named but not read leave
	// those stored when they last were.
	if contractsChanged || s.cfg.Contracts == "" {
		if err := s.db.SaveContracts(ctx, cfg.Contracts); err != nil {
			return err
		}
	}
	s.classifier, s.pluginIDs = c, pluginIDs
	s.addressNames.Store(names)
	return nil
}

// ConfigError is a problem with one field of the configuration, or with
// a file it names: which one (Config's field, lower case: "interval",
// "contracts", "catalog") and what, by the file's lines for a file.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// modTime is when the file a setting names last changed.
func modTime(setting, path string) (time.Time, error) {
	info, err := os.Stat(path)
	if err != nil {
		return time.Time{}, &ConfigError{setting, fmt.Errorf("%s: %w", setting, err)}
	}
	return info.ModTime(), nil
}

// Config returns the configuration the service runs with.
func (s *Service) Config() Config { return s.cfg }

// Status returns a copy of the service's status.
func (s *Service) Status() Status {
	s.mu.Lock()
	st := s.status
	s.mu.Unlock()
	if st.Running {
		if idle, path := s.in.WaitingFor(); idle > s.cfg.ReadStall {
			st.Stalled, st.StalledFile = idle, path
		}
	}
	return st
}

// RunNow asks Watch for a run as soon as the one going on (if any) ends.
// Requests made while one is pending are one request.
func (s *Service) RunNow() {
	select {
	case s.now <- struct{}{}:
	default:
	}
}

// Run ingests the configured paths once, closes every day stored
// (Ingester.CloseDays), then applies retention. A file's damage is in the
// report; an error means the run could not go on (the database failed or
// was deleted: store.ErrReplaced, ctx ended, or another process holds the
// lock: ErrBusy).
func (s *Service) Run(ctx context.Context) (*Report, error) { return s.run(ctx, true) }

// run is Run, closing every day stored (closeAll) or those the latest
// packet has passed by the settle time: scheduled runs leave the day
// under way to the hourly totals.
func (s *Service) run(ctx context.Context, closeAll bool) (*Report, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	// Rows written into a deleted database are lost with it; the owner
	// opens the path anew (store.ErrReplaced).
	if err := s.db.Replaced(); err != nil {
		s.finish(time.Now(), nil, 0, 0, err)
		return nil, err
	}
	unlock, err := lockDatabase(s.db.Path())
	if err != nil {
		s.finish(time.Now(), nil, 0, 0, err)
		return nil, err
	}
	defer unlock()
	start := time.Now()
	s.mu.Lock()
	s.status.Running = true
	s.status.Progress = Progress{}
	s.mu.Unlock()
	var rep *Report
	if s.cfg.TimeZone != nil {
		if _, err = s.db.SetRollupZone(ctx, s.cfg.TimeZone); err != nil {
			err = fmt.Errorf("ingest: %w", err)
		}
	}
	if err == nil && len(s.cfg.Paths) > 0 {
		rep, err = s.in.Run(ctx, s.cfg.Paths)
	}
	if err == nil {
		err = s.in.CloseDays(ctx, closeAll)
	}
	var retained int64
	if err == nil {
		retained, err = s.retain(ctx)
	}
	classified := 0
	if err == nil {
		if err = s.loadFiles(ctx); err == nil {
			classified, err = s.db.ClassifyNames(ctx, s.classifier)
		}
	}
	if err == nil {
		// SQLite's advice for long-lived connections: let it refresh the
		// statistics its planner relies on, cheaply, after a batch of writes.
		if _, oerr := s.db.SQL().ExecContext(ctx, `PRAGMA optimize`); oerr != nil {
			err = fmt.Errorf("ingest: optimize: %w", oerr)
		}
	}
	s.finish(start, rep, retained, classified, err)
	return rep, err
}

func (s *Service) finish(start time.Time, rep *Report, retained int64, classified int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Running = false
	s.status.Runs++
	s.status.LastStart, s.status.LastEnd = start, time.Now()
	s.status.LastReport = rep
	s.status.Retained = retained
	s.status.Classified = classified
	// A new slice: copies of the status handed out keep theirs.
	s.status.Plugins = make([]classifierhost.Status, 0, len(s.plugins))
	for _, p := range s.plugins {
		s.status.Plugins = append(s.status.Plugins, p.Status())
	}
	s.status.LastError = ""
	if err != nil {
		s.status.LastError = err.Error()
	}
}

func (s *Service) retain(ctx context.Context) (int64, error) {
	if s.cfg.RetainDays == 0 {
		return 0, nil
	}
	end, err := s.db.TrafficEnd(ctx)
	if err != nil || end == 0 {
		return 0, err
	}
	pruned, err := s.db.Prune(ctx, end-int64(s.cfg.RetainDays)*int64(24*time.Hour))
	total := int64(0)
	for _, n := range pruned {
		total += n
	}
	return total, err
}

// Watch runs at once and then every Interval, or, with no Interval, only
// when RunNow asks; RunNow also runs it between ticks. It returns when ctx
// ends; the file being read then rolls back. Failures do not stop it: done
// (when set) hears of each run, and the next run tries again. While
// another owner holds the database it tries every busyRetry: a Grafana
// datasource whose settings change starts its new instance before the old
// one is disposed.
func (s *Service) Watch(ctx context.Context, done func(*Report, error)) {
	var tick, start <-chan time.Time
	if s.cfg.Interval > 0 {
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		tick, start = t.C, time.After(0)
	}
	var retry <-chan time.Time
	for {
		closeAll := false
		select {
		case <-ctx.Done():
			return
		case <-start:
			start = nil
		case <-tick:
		case <-s.now:
			closeAll = true
		case <-retry:
		}
		retry = nil
		rep, err := s.run(ctx, closeAll)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrBusy) {
			retry = time.After(busyRetry)
		}
		if done != nil {
			done(rep, err)
		}
	}
}

const busyRetry = time.Second

// lockDatabase takes the ingest lock of the database at path: a lock on
// a file beside it, which the kernel releases when its holder dies, so a
// killed ingest never leaves a stale lock. The file holds the holder's
// process id, for the message another process gets.
func lockDatabase(path string) (func(), error) {
	name := path + ".ingest-lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ingest: lock %s: %w", name, err)
	}
	held, err := tryLock(f)
	if err != nil || held {
		holder := make([]byte, 32)
		n, _ := f.ReadAt(holder, 0)
		f.Close()
		if held {
			return nil, fmt.Errorf("%w %s (held by process %s; it writes %s)", ErrBusy, path, strings.TrimSpace(string(holder[:n])), name)
		}
		return nil, fmt.Errorf("ingest: lock %s: %w", name, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		unlock(f)
		f.Close()
	}, nil
}
