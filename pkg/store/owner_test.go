package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// foreignDB writes an SQLite file of another program (Grafana's own
// database, in miniature), as a mistaken databasePath would name.
func foreignDB(t *testing.T, path string, statements ...string) []byte {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range statements {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Another program's database is refused, for writing and for reading,
// and left byte for byte as it was, with no WAL beside it.
func TestAnotherProgramsDatabaseIsRefusedUntouched(t *testing.T) {
	dir := t.TempDir()
	grafana := filepath.Join(dir, "grafana.db")
	before := foreignDB(t, grafana,
		`CREATE TABLE user (id INTEGER PRIMARY KEY, login TEXT, password TEXT)`,
		`INSERT INTO user (login, password) VALUES ('admin', 'secret')`,
		`CREATE TABLE dashboard (id INTEGER PRIMARY KEY, data TEXT)`,
		`CREATE TABLE captures (id INTEGER PRIMARY KEY)`)
	marked := filepath.Join(dir, "marked.db")
	foreignDB(t, marked, `PRAGMA application_id = 1234`, `CREATE TABLE captures (id INTEGER PRIMARY KEY)`)
	for path, want := range map[string]string{
		grafana: "store: " + grafana + ": not a SaaSLens database: it holds tables SaaSLens never made (dashboard, user); choose another file",
		marked:  "store: " + marked + ": not a SaaSLens database: its application_id is 0x4d2, another program's; choose another file",
	} {
		for name, open := range map[string]func(string) (*DB, error){"Open": Open, "OpenReader": OpenReader} {
			db, err := open(path)
			if err == nil {
				db.Close()
			}
			if err == nil || err.Error() != want || !errors.Is(err, ErrNotOurs) {
				t.Errorf("%s(%s): %v\nwant %s", name, filepath.Base(path), err, want)
			}
		}
	}
	after, err := os.ReadFile(grafana)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("grafana.db changed")
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(grafana + suffix); err == nil {
			t.Errorf("grafana.db%s was made", suffix)
		}
	}
}

// A new database is marked as SaaSLens's; one made before the mark,
// holding only SaaSLens's tables, is taken and marked; an empty file is a
// new database.
func TestDatabasesAreMarked(t *testing.T) {
	dir := t.TempDir()
	applicationID := func(path string) int32 {
		t.Helper()
		db, err := OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var id int32
		if err := db.SQL().QueryRow("PRAGMA application_id").Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	fresh := filepath.Join(dir, "fresh.db")
	db, err := Open(fresh)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if id := applicationID(fresh); id != ApplicationID {
		t.Errorf("a new database's application_id: %#x", id)
	}
	// Unmarked, as every database was before the mark.
	if _, err := sqlExec(fresh, "PRAGMA application_id = 0"); err != nil {
		t.Fatal(err)
	}
	db, err = Open(fresh)
	if err != nil {
		t.Fatalf("a SaaSLens database made before the mark: %v", err)
	}
	db.Close()
	if id := applicationID(fresh); id != ApplicationID {
		t.Errorf("an earlier database's application_id after Open: %#x", id)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(empty)
	if err != nil {
		t.Fatalf("an empty file: %v", err)
	}
	db.Close()
	for _, name := range []string{"streams", "packets", "usage_daily", "captures"} {
		if !ourObjects()[name] {
			t.Errorf("%s is not among the tables the migrations make", name)
		}
	}
}

func sqlExec(path, statement string) (sql.Result, error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.ExecContext(context.Background(), statement)
}
