// Package store keeps what the flow tracker finds in an SQLite database:
// the schema and its migrations, a writer that commits one capture file per
// transaction, the capture ledger and retention. The database is the
// product's interface: Grafana, Python and SQL browsers read it directly.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver, pure Go
)

// DB is an open SaaSLens database.
type DB struct {
	sql  *sql.DB
	path string
	// file is the file a writer opened, to tell when the path no longer
	// names it (Replaced).
	file os.FileInfo
	// writeMu lets one file be written at a time, on writer.
	writeMu sync.Mutex
	writer  *writerConn

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
}

// prepared returns query prepared once for the life of the handle: the
// ledger is asked about every file of every scan, and parsing the same
// SQL each time showed in runs of many small files.
func (s *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = make(map[string]*sql.Stmt)
	}
	s.stmts[query] = st
	return st, nil
}

// busyTimeoutMS is how long a connection waits for another one's lock
// before failing. WAL lets readers run beside the writer, but two writers
// (a retention run beside an ingest) or a checkpoint still take turns.
const busyTimeoutMS = 30000

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(0)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Before anything writes the file: only a new database takes it
		// (an existing one ignores it), and retention then hands freed
		// pages back to the file system (Prune).
		q.Add("_pragma", "auto_vacuum(INCREMENTAL)")
		q.Add("_pragma", "journal_mode(WAL)")
		// NORMAL in WAL mode loses no committed transaction on a process
		// crash, only possibly the last ones on power loss, and saves an
		// fsync per commit.
		q.Add("_pragma", "synchronous(NORMAL)")
		// Statement journals (an upsert of many rows keeps one to undo
		// itself alone) in memory, not a temporary file written page by
		// page.
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Add("_txlock", "immediate")
	}
	// 16 MiB of pages per connection, which take 32 MiB: modernc's
	// allocator gives each 4 KiB page with its header an 8 KiB slot.
	// Twice this cost an ingest of the real-traffic bench capture with
	// packet rows 65 MB more RSS (310 MB against 245) and a flood's
	// ingest 80 MB, for no time saved beyond this machine's noise: the
	// operating system's cache holds the file's pages anyway.
	q.Add("_pragma", "cache_size(-16384)")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens or creates the database at path for writing and brings its
// schema up to date. A database another program made is refused before
// anything writes to it (ErrNotOurs).
func Open(path string) (*DB, error) {
	marked := false
	if info, err := os.Stat(path); err == nil && info.Size() > 0 {
		// Read through a connection that cannot write: the writer's own
		// would switch the file to WAL as it opens.
		r, err := openSQL(path, true)
		if err != nil {
			return nil, err
		}
		marked, err = checkOwner(context.Background(), r.sql, path)
		r.Close()
		if err != nil {
			return nil, err
		}
	}
	s, err := openSQL(path, false)
	if err != nil {
		return nil, err
	}
	// Two connections: the one files are written on, kept with its
	// prepared statements, and one for the ledger's lookups between files.
	s.sql.SetMaxOpenConns(2)
	if err := s.migrate(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if !marked {
		if _, err := s.sql.Exec(fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: %s: marking the database: %w", path, err)
		}
	}
	if s.file, err = os.Stat(s.path); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return s, nil
}

// ErrReplaced is returned when the database's path no longer names the
// file that was opened: deleted, or replaced by another. Writes would go
// on into a file nobody can open again.
var ErrReplaced = errors.New("the database file was deleted or replaced while in use")

// Replaced tells whether the path still names the file Open opened.
func (s *DB) Replaced() error {
	info, err := os.Stat(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("store: %s: %w (deleted)", s.path, ErrReplaced)
	case err != nil:
		// Not readable just now (a permission change, a hung mount): not
		// proof that it is gone.
		return nil
	case s.file != nil && !os.SameFile(info, s.file):
		return fmt.Errorf("store: %s: %w (another file is there now)", s.path, ErrReplaced)
	}
	return nil
}

// CapturesGone lists the captures the database holds of which no file is
// left under any path they were read from: what a database made anew
// from the capture directories cannot get back. Each is named by the
// path it was first read from.
func (s *DB) CapturesGone(ctx context.Context) ([]string, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT c.id, c.path, p.path FROM captures c LEFT JOIN capture_paths p ON p.capture_id = c.id ORDER BY c.path, c.id`)
	if err != nil {
		return nil, fmt.Errorf("store: captures: %w", err)
	}
	defer rows.Close()
	found := map[int64]bool{}
	var order []int64
	first := map[int64]string{}
	for rows.Next() {
		var id int64
		var path string
		var also sql.NullString
		if err := rows.Scan(&id, &path, &also); err != nil {
			return nil, fmt.Errorf("store: captures: %w", err)
		}
		if _, seen := first[id]; !seen {
			first[id] = path
			order = append(order, id)
			found[id] = exists(path)
		}
		if also.Valid && !found[id] {
			found[id] = exists(also.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: captures: %w", err)
	}
	var gone []string
	for _, id := range order {
		if !found[id] {
			gone = append(gone, first[id])
		}
	}
	return gone, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// OpenReader opens an existing database for queries only. Readers see the
// last committed file while an ingest is writing the next one.
func OpenReader(path string) (*DB, error) {
	// SQLite would create a missing file; a reader must not.
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s, err := openSQL(path, true)
	if err != nil {
		return nil, err
	}
	if _, err := checkOwner(context.Background(), s.sql, path); err != nil {
		s.Close()
		return nil, err
	}
	version, err := s.SchemaVersion()
	switch {
	case err != nil:
		err = fmt.Errorf("store: open %s: %w", path, err)
	case version == 0:
		err = fmt.Errorf("store: %s is not a SaaSLens database (run ingest first)", path)
	case version > len(migrations):
		err = fmt.Errorf("store: %s has schema version %d, newer than this program's %d", path, version, len(migrations))
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQL(path string, readOnly bool) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(abs, readOnly))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &DB{sql: db, path: abs}, nil
}

// SQL is the underlying handle, for queries.
func (s *DB) SQL() *sql.DB { return s.sql }

// Path is the database file's absolute path.
func (s *DB) Path() string { return s.path }

// Close closes the database.
func (s *DB) Close() error {
	s.writeMu.Lock()
	if s.writer != nil {
		s.writer.close()
		s.writer = nil
	}
	s.writeMu.Unlock()
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	return s.sql.Close()
}

// SchemaVersion is the number of migrations applied.
func (s *DB) SchemaVersion() (int, error) {
	var v int
	err := s.sql.QueryRow("PRAGMA user_version").Scan(&v)
	return v, err
}

func (s *DB) migrate(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeoutMS * time.Millisecond)
	applied := false
	for {
		done, err := s.migrateStep(ctx)
		// A connection switching a new file to WAL while another does the
		// same is refused at once, without the busy timeout's wait.
		if isBusy(err) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		if done {
			break
		}
		applied = true
	}
	if !applied {
		return nil
	}
	// A migration that rewrites a table (12 copies the packet rows) leaves
	// the old one's pages free: the file would keep both sizes.
	return s.releaseFreePages(ctx)
}

func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == sqliteBusy
}

const sqliteBusy = 5

// migrateStep applies the next migration, if any. The version is read
// inside the write transaction (BEGIN IMMEDIATE, see dsn): two processes
// opening a new database together must not both apply the same step.
func (s *DB) migrateStep(ctx context.Context) (done bool, err error) {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrating: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("reading schema version: %w", err)
	}
	if version > len(migrations) {
		return false, fmt.Errorf("schema version %d is newer than this program's %d", version, len(migrations))
	}
	if version == len(migrations) {
		return true, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if build := builds[version+1]; build != nil {
		if err := build(ctx, tx); err != nil {
			return false, fmt.Errorf("migration %d: %w", version+1, err)
		}
	}
	// PRAGMA takes no parameters; version is an int.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	return false, nil
}

// ErrNotFound is returned by lookups that find nothing.
var ErrNotFound = errors.New("store: not found")
