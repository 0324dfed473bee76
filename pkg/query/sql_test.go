package query

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

func TestCheckStatement(t *testing.T) {
	for _, ok := range []string{
		`SELECT 1`,
		`  -- a comment; with a semicolon
		select * from streams;`,
		`WITH x AS (SELECT 1) SELECT * FROM x`,
		`SELECT 'ATTACH DATABASE' AS "DELETE", replace(server_name, '.', '-') FROM streams /* VACUUM */`,
		`EXPLAIN QUERY PLAN SELECT * FROM packets WHERE stream_id = 1`,
		`VALUES (1), (2)`,
	} {
		if err := CheckStatement(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, c := range []struct{ in, want string }{
		{`ATTACH DATABASE '/var/lib/grafana/grafana.db' AS g`, "ATTACH is not allowed"},
		{`SELECT 1; ATTACH '/etc/x.db' AS x`, "found 2 statements, run one at a time"},
		{`VACUUM INTO '/tmp/copy.db'`, "VACUUM is not allowed"},
		{`PRAGMA query_only = 0`, "PRAGMA is not allowed"},
		{`WITH x AS (SELECT 1) INSERT INTO tls SELECT * FROM tls`, "INSERT is not allowed"},
		{`DELETE FROM streams`, "DELETE is not allowed"},
		{`/* only a comment */`, "the query is empty"},
		{`SELECT 1; SELECT 2`, "found 2 statements, run one at a time"},
	} {
		err := CheckStatement(c.in)
		if !errors.Is(err, ErrRefused) || !strings.HasSuffix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want …%s", c.in, err, c.want)
		}
	}
}

// Whatever passes the text check, SQLite itself refuses to compile
// anything but reading on a query connection.
func TestAuthorizerDeniesAllButReading(t *testing.T) {
	db := sampleDB(t)
	other := filepath.Join(t.TempDir(), "other.db")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	for _, text := range []string{
		`ATTACH DATABASE '` + other + `' AS other`,
		`VACUUM INTO '` + copyPath + `'`,
		`PRAGMA query_only = 0`,
		`PRAGMA writable_schema = 1`,
		`DELETE FROM streams`,
		`CREATE TEMP TABLE t (x)`,
		`BEGIN`,
	} {
		_, err := queryFrame(context.Background(), db, "sql", text, 10)
		if err == nil || !strings.Contains(err.Error(), "authoriz") {
			t.Errorf("%s: got %v, want an authorization error", text, err)
		}
	}
	if _, err := os.Stat(copyPath); err == nil {
		t.Errorf("VACUUM INTO wrote %s", copyPath)
	}
	f, err := queryFrame(context.Background(), db, "sql", `SELECT name FROM pragma_table_info('streams') WHERE name = 'server_name'`, 10)
	if err != nil || f.Rows() != 1 {
		t.Errorf("reading the schema: %v", err)
	}
}

func TestRunSQL(t *testing.T) {
	db := sampleDB(t)
	var all Range
	if err := db.QueryRow(`SELECT min(first), max(last) FROM streams`).Scan(&all.From, &all.To); err != nil {
		t.Fatal(err)
	}
	q := SQLQuery{
		Text:     `SELECT $__timeGroup(first, 1d) AS time, count(*) AS streams FROM streams WHERE $__timeFilter(first) GROUP BY 1 ORDER BY 1`,
		Format:   "time_series",
		Range:    all,
		Interval: time.Minute,
	}
	f, err := RunSQL(context.Background(), db, q)
	if err != nil {
		t.Fatal(err)
	}
	if f.Fields[0].Type() != data.FieldTypeTime || f.Fields[1].Type() != data.FieldTypeNullableInt64 {
		t.Fatalf("fields %s, %s", f.Fields[0].Type(), f.Fields[1].Type())
	}
	var total, want int64
	for i := 0; i < f.Rows(); i++ {
		total += *f.Fields[1].At(i).(*int64)
	}
	if err := db.QueryRow(`SELECT count(*) FROM streams`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if total != want {
		t.Errorf("grouped counts sum to %d, want %d", total, want)
	}
	if !strings.Contains(f.Meta.ExecutedQueryString, "((first) / 86400000000000) * 86400000000000 AS time") {
		t.Errorf("executed query: %s", f.Meta.ExecutedQueryString)
	}

	// Long rows with a text column become one series per value.
	q.Text = `SELECT $__timeGroup(first, 7d) AS time, CASE proto WHEN 6 THEN 'tcp' ELSE 'udp' END AS transport, count(*) AS streams
		FROM streams WHERE $__timeFilter(first) GROUP BY 1, 2 ORDER BY 1`
	f, err = RunSQL(context.Background(), db, q)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, field := range f.Fields[1:] {
		labels = append(labels, field.Labels.String())
	}
	if diff := cmp.Diff([]string{"transport=tcp", "transport=udp"}, labels); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}

	// A cut result says so.
	f, err = RunSQL(context.Background(), db, SQLQuery{Text: `SELECT * FROM streams`, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if f.Rows() != 3 || len(f.Meta.Notices) != 1 || f.Meta.Notices[0].Text != "showing the first 3 rows: narrow the query or the time range" {
		t.Errorf("%d rows, notices %+v", f.Rows(), f.Meta.Notices)
	}

	for _, c := range []struct{ in, want string }{
		{`SELECT count(*) FROM streams`, "format time_series needs a time column"},
		{`SELECT * FROM nowhere`, "no such table: nowhere"},
		{`ATTACH 'x' AS y`, "ATTACH is not allowed"},
		{`SELECT $__timeGroup(first) FROM streams`, "$__timeGroup expects 2 arguments"},
	} {
		_, err := RunSQL(context.Background(), db, SQLQuery{Text: c.in, Format: "time_series", Range: all})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want …%s", c.in, err, c.want)
		}
	}
}

func TestRunSQLHonoursTheDeadline(t *testing.T) {
	db := sampleDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := RunSQL(ctx, db, SQLQuery{Text: `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n`})
	if err == nil {
		t.Fatal("an endless query returned")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s to stop", time.Since(start))
	}
}

// A macro's condition negates whole: the streams in a range and those NOT
// in it add up to all of them.
func TestNegatedMacrosCoverTheRest(t *testing.T) {
	db := sampleDB(t)
	var all, mid Range
	if err := db.QueryRow(`SELECT min(first), max(last) FROM streams`).Scan(&all.From, &all.To); err != nil {
		t.Fatal(err)
	}
	mid = Range{From: all.From + (all.To-all.From)/3, To: all.To - (all.To-all.From)/3}
	count := func(text string) int64 {
		t.Helper()
		f, err := RunSQL(context.Background(), db, SQLQuery{Text: text, Range: mid})
		if err != nil {
			t.Fatal(err)
		}
		return *f.Fields[0].At(0).(*int64)
	}
	total := count(`SELECT count(*) FROM streams`)
	for _, macro := range []string{"$__timeFilter(first)", "$__activeFilter(s)"} {
		in, out := count(`SELECT count(*) FROM streams s WHERE `+macro), count(`SELECT count(*) FROM streams s WHERE NOT `+macro)
		if in == 0 || out == 0 || in+out != total {
			t.Errorf("%s: %d in, %d not, of %d", macro, in, out, total)
		}
	}
}

// An empty result is an empty frame in either format: Grafana shows "No
// data" rather than an error.
func TestEmptyResultIsNoData(t *testing.T) {
	db := sampleDB(t)
	for _, format := range []string{"table", "time_series"} {
		f, err := RunSQL(context.Background(), db, SQLQuery{Text: `SELECT first AS time, server_name, bytes_up FROM streams WHERE 0`, Format: format})
		if err != nil {
			t.Errorf("%s: %v", format, err)
			continue
		}
		if f.Rows() != 0 || len(f.Fields) != 3 {
			t.Errorf("%s: %d rows, %d fields", format, f.Rows(), len(f.Fields))
		}
	}
}

// What one raw query may hold is bounded, and a query past a bound fails
// alone with the bound named: a value past 16 MiB as SQLite makes it, a
// result past 64 MiB as it is read, long before the process could run
// out of memory.
func TestRawSQLMemoryIsBounded(t *testing.T) {
	db := sampleDB(t)
	for _, c := range []struct{ text, want string }{
		{`SELECT zeroblob(999999999) AS b`, "string or blob too big"},
		{`SELECT length(printf('%.*c', 20000000, 'x'))`, "string or blob too big"},
		{`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 100000) SELECT x, zeroblob(20000) AS b FROM n`,
			"query: the result passed 64 MiB at row 3351, more than a panel may hold: select fewer columns or rows, or aggregate"},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := RunSQL(context.Background(), db, SQLQuery{Text: c.text})
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want …%s", c.text, err, c.want)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
			t.Errorf("%s: allocated %d MiB", c.text, grew>>20)
		}
	}
	f, err := RunSQL(context.Background(), db, SQLQuery{Text: `SELECT length(zeroblob(16777216)) AS n, length(printf('%.*c', 1000, 'x')) AS m`})
	if err != nil || *f.Fields[0].At(0).(*int64) != 16<<20 {
		t.Errorf("a value at the bound: %v", err)
	}
}
