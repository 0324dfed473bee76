package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
)

func TestOpenMigratesOnceAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	for range 2 {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := db.SchemaVersion()
		if err != nil || v != len(migrations) {
			t.Fatalf("schema version %d (%v), want %d", v, err, len(migrations))
		}
		var mode string
		if err := db.SQL().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Errorf("journal mode %q, want wal", mode)
		}
		db.Close()
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.SQL().Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1))
	db.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("opened a newer schema: %v", err)
	}
	if _, err := OpenReader(path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("reader opened a newer schema: %v", err)
	}
}

func TestReaderIsReadOnlyAndNeedsADatabase(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenReader(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("reader opened a database that does not exist")
	}
	path := filepath.Join(dir, "s.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.SQL().Exec("DELETE FROM captures"); err == nil {
		t.Error("a reader could write")
	}
}

func TestRollbackLeavesNothing(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, err := db.BeginFile(context.Background(), CaptureFile{Path: "/x.pcap", Series: "/"})
	if err != nil {
		t.Fatal(err)
	}
	w.Rollback()
	var n int
	if err := db.SQL().QueryRow("SELECT count(*) FROM captures").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d captures after a rollback", n)
	}
	// The connection went back to the pool in a usable state.
	if _, err := db.KnownPath(context.Background(), "/x.pcap", 0, 0); err != nil {
		t.Error(err)
	}
}

// Two ingests started together on a new database (each its own
// connection, as two processes have) both open it; neither applies a
// migration the other already has.
func TestConcurrentOpensOfANewDatabase(t *testing.T) {
	for round := range 5 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("race%d.db", round))
		errs := make(chan error, 4)
		var start sync.WaitGroup
		start.Add(1)
		for range cap(errs) {
			go func() {
				start.Wait()
				db, err := Open(path)
				if err == nil {
					err = db.Close()
				}
				errs <- err
			}()
		}
		start.Done()
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// A database at schema version 1 (as the first released ingest wrote it)
// opens at today's version with its rows as they were, and a second open
// applies nothing.
func TestMigrateFromVersion1KeepsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	stream := `INSERT INTO streams VALUES (%d, 6, '10.0.0.2', 40000, '192.0.2.1', 443, '02:00:00:00:00:02', %d, %d,
		3, 2, 300, 200, 100, 50, 27, 18, 1000, 100, 5000, 'a.example', 'sni', 'h2', 'TLS 1.3', 0, NULL, 'fin', 1)`
	for _, q := range []string{migrations[0], "PRAGMA user_version = 1",
		fmt.Sprintf(stream, 7000, 2000, 3000), fmt.Sprintf(stream, 9000, 1000, 1500)} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// The columns of version 1, so that later migrations may add some.
	var cols []string
	colRows, err := raw.Query(`SELECT name FROM pragma_table_info('streams') ORDER BY cid`)
	if err != nil {
		t.Fatal(err)
	}
	for colRows.Next() {
		var c string
		if err := colRows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := colRows.Err(); err != nil {
		t.Fatal(err)
	}
	colRows.Close()
	v1Streams := "SELECT " + strings.Join(cols, ", ") + " FROM streams ORDER BY id"
	before := rowsOf(t, raw, v1Streams)
	raw.Close()
	for range 2 {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := db.SchemaVersion(); err != nil || v != len(migrations) {
			t.Fatalf("version %d (%v), want %d", v, err, len(migrations))
		}
		if after := rowsOf(t, db.SQL(), v1Streams); after != before {
			t.Errorf("streams changed by the migration:\n got %s\nwant %s", after, before)
		}
		// Stored in start order now, the hash id still unique.
		if order := rowsOf(t, db.SQL(), "SELECT id FROM streams ORDER BY rowid"); order != "[9000]\n[7000]\n" {
			t.Errorf("storage order %q, want by first packet", order)
		}
		if _, err := db.SQL().Exec(fmt.Sprintf(stream, 7000, 1, 2)); err == nil {
			t.Error("a second row with the same id was accepted")
		}
		// The hourly totals are built from the streams the migration found
		// (both start in the epoch's first hour); rtt is server + client.
		want := "[0 a.example 6 443 2 6 4 600 400 1500 2200 2 10000 2]\n"
		if got := rowsOf(t, db.SQL(), "SELECT * FROM usage_hourly"); got != want {
			t.Errorf("usage_hourly after the migration:\n got %s\nwant %s", got, want)
		}
		db.Close()
	}
}

func rowsOf(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	var out strings.Builder
	for _, vals := range sharedtest.Rows(t, db, q) {
		fmt.Fprintln(&out, vals)
	}
	return out.String()
}

// A database left at any earlier version, with a stream in it (no client
// MAC, as version 1 wrote NULL), migrates to today's schema keeping the
// stream, filling the hourly totals from it and spelling "no MAC" as ”.
func TestMigrateFromEveryVersion(t *testing.T) {
	for from := 1; from < len(migrations); from++ {
		t.Run(fmt.Sprintf("v%d", from), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			raw, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			// As Open creates a database.
			if _, err := raw.Exec(`PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
				t.Fatal(err)
			}
			for _, m := range migrations[:from] {
				if _, err := raw.Exec(m); err != nil {
					t.Fatal(err)
				}
			}
			// Versions before 6 wrote NULL for no MAC, later ones ''.
			mac := "NULL"
			if from >= 6 {
				mac = "''"
			}
			steps := []string{
				fmt.Sprintf("PRAGMA user_version = %d", from),
				`INSERT INTO streams (id, proto, client, client_port, server, server_port, client_mac, first, last,
					packets_up, packets_down, bytes_up, bytes_down, payload_up, payload_down, tcp_flags_up, tcp_flags_down,
					server_rtt_ns, client_rtt_ns, tls_handshake_ns, server_name, name_source, alpn, tls_version, ech, quic_version,
					end_reason, capture_id)
				VALUES (42, 6, '10.0.0.2', 40000, '192.0.2.1', 443, ` + mac + `, 7200000000000, 7201000000000,
					3, 2, 300, 200, 100, 50, 27, 18, NULL, NULL, 5000, 'b.example', 'sni', 'h2', 'TLS 1.3', 0, NULL, 'fin', 1)`,
			}
			if from < 12 {
				// Two of its packets, one each way, as every version
				// before 12 stored them: with their own 5-tuple.
				steps = append(steps, `INSERT INTO packets (rowid, stream_id, time, src, dst, proto, sport, dport, length, direction)
				VALUES (5, 42, 7200000000000, '10.0.0.2', '192.0.2.1', 6, 40000, 443, 60, 0),
					(9, 42, 7200500000000, '192.0.2.1', '10.0.0.2', 6, 443, 40000, 52, 1)`,
					// Enough rows of another stream that rewriting them
					// frees more pages than the later migrations reuse.
					`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
					INSERT INTO packets (stream_id, time, src, dst, proto, sport, dport, length, direction)
					SELECT 43, 7300000000000 + i, '10.0.0.3', '192.0.2.9', 17, 50000, 443, 1200, 0 FROM n`)
			} else {
				steps = append(steps, `INSERT INTO stream_packets (rowid, stream_id, time, length, direction)
				VALUES (5, 42, 7200000000000, 60, 0), (9, 42, 7200500000000, 52, 1)`)
			}
			if from < 9 {
				// The day's totals: the stream above, one more of its key
				// and five of another, both dropped from streams by retention.
				steps = append(steps, `INSERT INTO usage_daily VALUES (0, '10.0.0.2', '', 'b.example', 6, 443, 2, 6, 4, 600, 400, 3000000000, 0, 0, 5000, 1),
					(0, '10.0.0.9', 'aa:bb:cc:dd:ee:ff', 'c.example', 17, 443, 5, 10, 10, 1000, 1000, 5000000000, 0, 0, 0, 0)`)
			} else {
				// The same, as version 9 on writes them.
				steps = append(steps, `INSERT INTO client_usage_hourly VALUES (0, '10.0.0.2', '', 'b.example', 6, 443, 1, 3, 2, 300, 200, 2000000000, 0, 0, 0, 0),
					(0, '10.0.0.9', 'aa:bb:cc:dd:ee:ff', 'c.example', 17, 443, 5, 10, 10, 1000, 1000, 5000000000, 0, 0, 0, 0),
					(7200000000000, '10.0.0.2', '', 'b.example', 6, 443, 1, 3, 2, 300, 200, 1000000000, 0, 0, 5000, 1)`)
			}
			if from >= 16 {
				// And their day, as version 16 on writes it.
				steps = append(steps, `INSERT INTO client_usage_daily VALUES (0, '10.0.0.2', '', 'b.example', 6, 443, 2, 6, 4, 600, 400, 3000000000, 0, 0, 5000, 1, 5),
					(0, '10.0.0.9', 'aa:bb:cc:dd:ee:ff', 'c.example', 17, 443, 5, 10, 10, 1000, 1000, 5000000000, 0, 0, 0, 0, 1)`)
			}
			switch {
			case from >= 18:
				// As classifying fills them since.
				steps = append(steps, `INSERT INTO services (server_name, vendor, product, category, kind, source, domain) VALUES
					('b.example', 'Example', 'Example', 'web', 'saas', 'catalog', ''), ('x.unknown.example.co.jp', '', '', '', '', '', 'example.co.jp')`)
			case from >= 7:
				// Names classified before migration 18: a known one and
				// one no source knows.
				steps = append(steps, `INSERT INTO services (server_name, vendor, product, category, kind, source) VALUES
					('b.example', 'Example', 'Example', 'web', 'saas', 'catalog'), ('x.unknown.example.co.jp', '', '', '', '', '')`)
			}
			for _, q := range steps {
				if _, err := raw.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()
			db, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			got := rowsOf(t, db.SQL(), `SELECT id, client_mac IS NULL, client_mac, server_name, first FROM streams`)
			if want := "[42 0  b.example 7200000000000]\n"; got != want {
				t.Errorf("stream after migrating: %q, want %q", got, want)
			}
			if from < 5 {
				got = rowsOf(t, db.SQL(), `SELECT hour, server_name, streams, bytes_down, duration_ns, rtt_count, handshake_sum_ns FROM usage_hourly`)
				if want := "[7200000000000 b.example 1 200 1000000000 0 5000]\n"; got != want {
					t.Errorf("usage_hourly after migrating: %q, want %q", got, want)
				}
			}
			got = rowsOf(t, db.SQL(), `SELECT * FROM client_usage_hourly ORDER BY hour, client`)
			if want := "[0 10.0.0.2  b.example 6 443 1 3 2 300 200 2000000000 0 0 0 0]\n" +
				"[0 10.0.0.9 aa:bb:cc:dd:ee:ff c.example 17 443 5 10 10 1000 1000 5000000000 0 0 0 0]\n" +
				"[7200000000000 10.0.0.2  b.example 6 443 1 3 2 300 200 1000000000 0 0 5000 1]\n"; got != want {
				t.Errorf("client_usage_hourly after migrating:\n%s\nwant\n%s", got, want)
			}
			got = rowsOf(t, db.SQL(), `SELECT day, client, streams, bytes_down, handshake_count FROM usage_daily ORDER BY client`)
			if want := "[0 10.0.0.2 2 400 1]\n[0 10.0.0.9 5 1000 0]\n"; got != want {
				t.Errorf("usage_daily view after migrating:\n%s\nwant\n%s", got, want)
			}
			// The daily totals hold every hour: their days are closed.
			if got := rowsOf(t, db.SQL(), `SELECT closed, (SELECT count(*) FROM client_usage_daily) FROM rollup_zone`); got != "[86400000000000 2]\n" {
				t.Errorf("days closed until, and daily rows, after migrating: %s", got)
			}
			if from >= 7 {
				got = rowsOf(t, db.SQL(), `SELECT server_name, source, domain FROM services ORDER BY 1`)
				if want := "[b.example catalog ]\n[x.unknown.example.co.jp  example.co.jp]\n"; got != want {
					t.Errorf("services after migrating:\n%s\nwant\n%s", got, want)
				}
			}
			if got := rowsOf(t, db.SQL(), `SELECT count(*) FROM pragma_table_info('captures') WHERE name = 'tcp_udp_packets'`); got != "[1]\n" {
				t.Errorf("captures.tcp_udp_packets: %s", got)
			}
			// The packets view gives back each packet's own 5-tuple, and the
			// narrow rows keep their rowids (seenAgain tells files apart by them).
			got = rowsOf(t, db.SQL(), `SELECT * FROM packets WHERE stream_id = 42 ORDER BY time`)
			if want := "[42 7200000000000 10.0.0.2 192.0.2.1 6 40000 443 60 0]\n[42 7200500000000 192.0.2.1 10.0.0.2 6 443 40000 52 1]\n"; got != want {
				t.Errorf("packets after migrating:\n%s\nwant\n%s", got, want)
			}
			if got := rowsOf(t, db.SQL(), `SELECT rowid, stream_id, direction FROM stream_packets WHERE stream_id = 42 ORDER BY rowid`); got != "[5 42 0]\n[9 42 1]\n" {
				t.Errorf("stream_packets after migrating:\n%s", got)
			}
			// The tables a migration rewrote gave their pages back.
			if got := rowsOf(t, db.SQL(), `PRAGMA freelist_count`); got != "[0]\n" {
				t.Errorf("free pages after migrating: %s", got)
			}
			// The totals per server address start from the streams stored.
			got = rowsOf(t, db.SQL(), `SELECT * FROM server_usage_hourly`)
			if want := "[7200000000000 b.example 192.0.2.1 1 3 2 300 200 1000000000 0 0 5000 1]\n"; got != want && from < 13 {
				t.Errorf("server_usage_hourly after migrating:\n%s\nwant\n%s", got, want)
			}
			// The daily totals per client start from the hourly ones, with
			// a bit for each hour that has a row: 10.0.0.2's hours 0 and 2.
			got = rowsOf(t, db.SQL(), `SELECT day, client, client_mac, server_name, streams, bytes_down, duration_ns, handshake_count, hours FROM client_usage_daily ORDER BY client`)
			if want := "[0 10.0.0.2  b.example 2 400 3000000000 1 5]\n[0 10.0.0.9 aa:bb:cc:dd:ee:ff c.example 5 1000 5000000000 0 1]\n"; got != want {
				t.Errorf("client_usage_daily after migrating:\n%s\nwant\n%s", got, want)
			}
			// So do the monthly ones, in UTC: the first day of January
			// 1970, the hours 0 and 2.
			got = rowsOf(t, db.SQL(), `SELECT month, client, server_name, streams, bytes_down, handshake_count, days, first_hour, last_hour FROM client_usage_monthly ORDER BY client`)
			if want := "[0 10.0.0.2 b.example 2 400 1 1 0 7200000000000]\n[0 10.0.0.9 c.example 5 1000 0 1 0 0]\n"; got != want && from < 17 {
				t.Errorf("client_usage_monthly after migrating:\n%s\nwant\n%s", got, want)
			}
			if got := rowsOf(t, db.SQL(), `SELECT zone FROM rollup_zone`); got != "[UTC]\n" {
				t.Errorf("rollup zone after migrating: %s", got)
			}
			// So do the latency histograms: the handshake of 5000 ns in
			// its bucket (462: 5000 >> 6 is 78, in the sixth octave past
			// the exact ones), the stream ended without a reset, sent
			// nothing twice.
			got = rowsOf(t, db.SQL(), `SELECT measure, hour, server_name, streams, hex(histogram) FROM latency_hourly ORDER BY measure`)
			if want := "[resets 7200000000000 b.example 1 0002]\n[retransmits 7200000000000 b.example 1 0002]\n" +
				"[tls 7200000000000 b.example 1 CE0302]\n"; got != want && from < 14 {
				t.Errorf("latency_hourly after migrating:\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// Rows still waiting in the connection's inserters when a file fails are
// not written with the next file.
func TestFailedFileLeavesNoPendingRows(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stream := func(id int64) *flow.Stream {
		return &flow.Stream{ID: id, Proto: 6, Client: netip.MustParseAddr("10.0.0.1"), ClientPort: uint16(id),
			Server: netip.MustParseAddr("192.0.2.1"), ServerPort: 443, First: id * 1e9, Last: id*1e9 + 1}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := db.BeginFile(ctx, CaptureFile{Path: "/failed.pcap", Series: "/", PacketRows: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Packet(&flow.Packet{StreamID: 1, Time: 1e9, Length: 60})
	w.Stream(stream(1))
	// The packets flush fails first, leaving the stream pending.
	cancel()
	if err := w.Commit(CaptureResult{ContentHash: "a", Summary: &capture.Summary{}}); err == nil {
		t.Fatal("a file written under a cancelled context committed")
	}
	w, err = db.BeginFile(context.Background(), CaptureFile{Path: "/next.pcap", Series: "/"})
	if err != nil {
		t.Fatal(err)
	}
	w.Stream(stream(2))
	if err := w.Commit(CaptureResult{ContentHash: "b", Summary: &capture.Summary{}}); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, db.SQL(), `SELECT id FROM streams UNION ALL SELECT -count(*) FROM packets`); got != "[2]\n[0]\n" {
		t.Errorf("streams, then minus the packet rows:\n%s", got)
	}
}

// A stream named only by a later file moves to its name's totals: the
// hour it started in leaves the unnamed key's day, and the day it started
// on (in Tokyo, the rollup zone) the unnamed key's month, whose other hour
// and day stay; later files' streams that month add their days and hours.
func TestDailyHoursFollowAStreamNamedLater(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetRollupZone(context.Background(), tokyo); err != nil {
		t.Fatal(err)
	}
	// 14:00 and 15:00 UTC: 23:00 on 30 March and midnight on the 31st in Tokyo.
	day := time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC).UnixNano()
	hour := func(h int) int64 { return day + int64(h)*int64(time.Hour) }
	stream := func(id int64, h int, name string) *flow.Stream {
		return &flow.Stream{ID: id, Proto: 6, Client: netip.MustParseAddr("10.0.0.1"), ClientPort: uint16(40000 + id),
			Server: netip.MustParseAddr("192.0.2.1"), ServerPort: 443, First: hour(h), Last: hour(h) + 1e9,
			Packets: [2]uint64{1, 1}, ServerName: name}
	}
	write := func(path string, streams ...*flow.Stream) {
		t.Helper()
		w, err := db.BeginFile(context.Background(), CaptureFile{Path: path, Series: "/"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range streams {
			w.Stream(s)
		}
		if err := w.Commit(CaptureResult{ContentHash: path, Summary: &capture.Summary{}}); err != nil {
			t.Fatal(err)
		}
	}
	closeAll := func() {
		t.Helper()
		if err := db.CloseAllDays(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	write("/a.pcap", stream(1, 14, ""), stream(2, 15, ""))
	// The days so far close, to the end of the 31st in Tokyo (the last
	// stream's day there): what follows for them comes late, and goes on
	// the daily and monthly rows itself.
	closeAll()
	named := stream(2, 15, "app.example")
	named.Carried = true
	write("/b.pcap", named)
	// Three more unnamed streams that month, one file each, at 10:00 on
	// the 31st, 14:00 on the 2nd and 05:00 on the 31st in Tokyo: neither
	// the first hour nor the last is the last file's.
	write("/c.pcap", stream(3, 25, ""))
	write("/d.pcap", stream(4, 5-28*24, ""))
	write("/e.pcap", stream(5, 20, ""))
	if closed, err := db.DaysClosed(context.Background()); err != nil || closed != hour(24+15) {
		t.Fatalf("days closed until %d (%v), want the end of the 31st in Tokyo, %d", closed, err, hour(24+15))
	}
	closeAll()
	got := rowsOf(t, db.SQL(), fmt.Sprintf(`SELECT server_name, streams, hours FROM client_usage_daily WHERE day = %d ORDER BY server_name`, day))
	if want := fmt.Sprintf("[ 2 %d]\n[app.example 1 %d]\n", 1<<14|1<<20, 1<<15); got != want {
		t.Errorf("daily totals:\n%s\nwant\n%s", got, want)
	}
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, tokyo).UnixNano()
	got = rowsOf(t, db.SQL(), `SELECT month, server_name, streams, days, first_hour, last_hour FROM client_usage_monthly ORDER BY server_name`)
	if want := fmt.Sprintf("[%d  4 %d %d %d]\n[%d app.example 1 %d %d %d]\n", march, 1<<1|1<<29|1<<30, hour(5-28*24), hour(25), march, 1<<30, hour(15), hour(15)); got != want {
		t.Errorf("monthly totals:\n%s\nwant\n%s", got, want)
	}
	// Built again from the hourly totals, in UTC and back in Tokyo, the
	// months are as the files left them.
	// The same zone again rebuilds nothing.
	// A zone change moves the mark back to the start of the new zone's
	// day it falls in; the run that follows closes the days again.
	for i, zone := range []*time.Location{time.UTC, tokyo, tokyo} {
		rebuilt, err := db.SetRollupZone(context.Background(), zone)
		if err != nil || rebuilt != (i < 2) {
			t.Fatalf("setting the zone to %s: rebuilt %v, %v", zone, rebuilt, err)
		}
		if closed, err := db.DaysClosed(context.Background()); i == 0 && (err != nil || closed != hour(24)) {
			t.Errorf("days closed until %d (%v) in UTC, want the start of the 31st there, %d", closed, err, hour(24))
		}
		closeAll()
		if i == 0 {
			utc := rowsOf(t, db.SQL(), `SELECT month, server_name, streams, days FROM client_usage_monthly ORDER BY server_name`)
			if want := fmt.Sprintf("[%d  4 %d]\n[%d app.example 1 %d]\n", day-29*24*int64(time.Hour), 1<<1|1<<29|1<<30, day-29*24*int64(time.Hour), 1<<29); utc != want {
				t.Errorf("monthly totals in UTC:\n%s\nwant\n%s", utc, want)
			}
		}
	}
	if again := rowsOf(t, db.SQL(), `SELECT month, server_name, streams, days, first_hour, last_hour FROM client_usage_monthly ORDER BY server_name`); again != got {
		t.Errorf("monthly totals rebuilt:\n%s\nwant\n%s", again, got)
	}
	if err := db.RebuildMonthlyTotals(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again := rowsOf(t, db.SQL(), `SELECT month, server_name, streams, days, first_hour, last_hour FROM client_usage_monthly ORDER BY server_name`); again != got {
		t.Errorf("monthly totals rebuilt in the same zone:\n%s\nwant\n%s", again, got)
	}
	if _, err := db.SetRollupZone(context.Background(), time.Local); err == nil {
		t.Error("the machine's local zone was taken as the rollup zone")
	}
}

// A MAC's address is kept in stretches: a sighting within an hour of the
// latest stretch's end extends it, a later one starts another; the
// device's row spans them all and counts every packet.
func TestDeviceAddressStretches(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	minute := int64(time.Minute)
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	x, y := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.6")
	files := [][]flow.Sighting{
		{{MAC: mac, IP: x, First: t0, Last: t0 + 10*minute, Packets: 3}, {MAC: mac, IP: y, First: t0 + minute, Last: t0 + minute, Packets: 1}},
		{{MAC: mac, IP: x, First: t0 + 50*minute, Last: t0 + 60*minute, Packets: 2}},   // within the hour: extends
		{{MAC: mac, IP: x, First: t0 + 190*minute, Last: t0 + 200*minute, Packets: 5}}, // after it: a new stretch
		{{MAC: mac, IP: x, First: t0 + 150*minute, Last: t0 + 155*minute, Packets: 1}}, // late, near the newest: extends it
	}
	for i, sightings := range files {
		w, err := db.BeginFile(context.Background(), CaptureFile{Path: fmt.Sprintf("/%d.pcap", i), Series: "/"})
		if err != nil {
			t.Fatal(err)
		}
		for j := range sightings {
			w.Sighting(&sightings[j])
		}
		if err := w.Commit(CaptureResult{ContentHash: fmt.Sprint(i), Summary: &capture.Summary{}}); err != nil {
			t.Fatal(err)
		}
	}
	got := rowsOf(t, db.SQL(), `SELECT ip, first, last, packets FROM device_addresses ORDER BY ip, first`)
	want := fmt.Sprintf("[10.0.0.5 %d %d 5]\n[10.0.0.5 %d %d 6]\n[10.0.0.6 %d %d 1]\n",
		t0, t0+60*minute, t0+150*minute, t0+200*minute, t0+minute, t0+minute)
	if got != want {
		t.Errorf("device_addresses:\n%s\nwant\n%s", got, want)
	}
	if got, want := rowsOf(t, db.SQL(), `SELECT mac, first, last, packets FROM devices`), fmt.Sprintf("[02:00:00:00:00:01 %d %d 12]\n", t0, t0+200*minute); got != want {
		t.Errorf("devices: %s, want %s", got, want)
	}
}
