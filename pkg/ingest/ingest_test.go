package ingest

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/saaslens/saaslens/pkg/histogram"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
	"github.com/saaslens/saaslens/pkg/store"
)

// past is the modification time given to test captures, so that they
// count as settled.
var past = time.Now().Add(-time.Hour)

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
}

func fixtureFile(t testing.TB, name string) []byte {
	t.Helper()
	b, ok := fixture.Files()[name]
	if !ok {
		t.Fatalf("no fixture %s", name)
	}
	return b
}

// rotation writes a synthetic capture split into parts files under dir.
func rotation(t testing.TB, dir string, packets, parts int) []string {
	t.Helper()
	files, err := fixture.Rotation(packets, parts)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i, b := range files {
		p := filepath.Join(dir, fmt.Sprintf("capture-%d.pcap", i))
		writeFile(t, p, b)
		paths = append(paths, p)
	}
	return paths
}

func openDB(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// run ingests paths and closes every day, as the command line does.
func run(t testing.TB, db *store.DB, opts Options, paths ...string) *Report {
	t.Helper()
	in := New(db, opts)
	rep, err := in.Run(context.Background(), paths)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.CloseDays(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	return rep
}

var withPackets = Options{PacketRows: true}

// dumpTables are compared between databases; captures leaves out when
// and how fast the file was ingested.
var dumpTables = []string{
	"SELECT id, path, size, mtime, content_hash, format, compressed, link_types, packets, bytes, tcp_udp_packets, other, first, last, status, error, series, continued, packet_rows FROM captures",
	"SELECT * FROM capture_paths", "SELECT * FROM packets", "SELECT * FROM tls", "SELECT * FROM streams",
	"SELECT * FROM dns", "SELECT * FROM dhcp", "SELECT * FROM devices", "SELECT * FROM device_addresses",
	"SELECT * FROM usage_daily", "SELECT series, now, capture_id, hex(tracker) FROM ingest_state",
	"SELECT series, kind, hex(key), hex(value) FROM ingest_items",
}

// dump prints every row of every table, sorted, for comparing databases.
func dump(t testing.TB, db *sql.DB) string {
	t.Helper()
	var out strings.Builder
	for _, q := range dumpTables {
		out.WriteString(dumpQuery(t, db, q))
	}
	return out.String()
}

func dumpQuery(t testing.TB, db *sql.DB, q string) string {
	t.Helper()
	var lines []string
	for _, vals := range sharedtest.Rows(t, db, q) {
		lines = append(lines, fmt.Sprintf("%v", vals))
	}
	slices.Sort(lines)
	return fmt.Sprintf("== %s (%d rows)\n%s\n", q, len(lines), strings.Join(lines, "\n"))
}

// must fails the test on an error: a Scan that failed would otherwise
// leave zero values that a comparison may take for a result.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func count(t testing.TB, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestReingestIsANoOp(t *testing.T) {
	dir := t.TempDir()
	rotation(t, filepath.Join(dir, "caps"), 6000, 3)
	writeFile(t, filepath.Join(dir, "caps", "lan.pcap.gz"), fixtureFile(t, "lan.pcap.gz"))
	writeFile(t, filepath.Join(dir, "caps", "MANIFEST.txt"), []byte("not a capture\n"))
	db := openDB(t, filepath.Join(dir, "saaslens.db"))
	first := run(t, db, withPackets, filepath.Join(dir, "caps"))
	if first.Count("ok") != 4 || first.Skipped != 1 {
		t.Fatalf("first run: %+v", first)
	}
	before := dump(t, db.SQL())

	again := run(t, db, withPackets, filepath.Join(dir, "caps"))
	if len(again.Files) != 0 || again.Known != 4 {
		t.Errorf("second run read %d files, knew %d", len(again.Files), again.Known)
	}
	// A copy under a new name and time, and a renamed file, are the same
	// content: both are recognised, neither adds rows.
	data, _ := os.ReadFile(filepath.Join(dir, "caps", "capture-1.pcap"))
	copyPath := filepath.Join(dir, "copies", "copy.pcap")
	if err := os.MkdirAll(filepath.Dir(copyPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "caps", "capture-2.pcap"), filepath.Join(dir, "caps", "renamed.pcap")); err != nil {
		t.Fatal(err)
	}
	dups := run(t, db, Options{PacketRows: true, WaitToSettle: true, Settle: 50 * time.Millisecond}, filepath.Join(dir, "caps"), filepath.Join(dir, "copies"))
	if dups.Count("duplicate") != 2 || len(dups.Files) != 2 {
		t.Errorf("copies: %+v", dups.Files)
	}
	after := dump(t, db.SQL())
	if n := count(t, db.SQL(), "SELECT count(*) FROM capture_paths"); n != 6 {
		t.Errorf("%d known paths, want 6", n)
	}
	// Apart from the two new paths, nothing changed.
	strip := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, "copy.pcap") && !strings.Contains(l, "renamed.pcap") && !strings.HasPrefix(l, "== SELECT * FROM capture_paths") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if strip(before) != strip(after) {
		t.Error("ingesting copies changed the database")
	}
}

// The file a rotating tcpdump is writing is left alone until it settles.
func TestGrowingFileWaits(t *testing.T) {
	dir := t.TempDir()
	paths := rotation(t, dir, 2000, 2)
	now := time.Now()
	if err := os.Chtimes(paths[1], now, now); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	rep := run(t, db, Options{Settle: time.Hour}, dir)
	if len(rep.Files) != 1 || len(rep.Growing) != 1 || rep.Growing[0] != paths[1] {
		t.Fatalf("read %v, growing %v", rep.Files, rep.Growing)
	}
	// Waiting out a short settle time picks up a file that stopped growing.
	rep = run(t, db, Options{Settle: 100 * time.Millisecond, WaitToSettle: true}, dir)
	if len(rep.Files) != 1 || rep.Files[0].Path != paths[1] {
		t.Fatalf("after settling: read %v, growing %v", rep.Files, rep.Growing)
	}
}

func TestTruncatedFileKeepsWhatCameBefore(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "truncated.pcap"), fixtureFile(t, "truncated.pcap"))
	writeFile(t, filepath.Join(dir, "z-not-a-capture.pcap"), []byte("garbage that is not a capture"))
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	rep, err := New(db, withPackets).Run(context.Background(), []string{filepath.Join(dir, "truncated.pcap"), filepath.Join(dir, "z-not-a-capture.pcap")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count("damaged") != 1 || rep.Count("unreadable") != 1 {
		t.Fatalf("%+v", rep.Files)
	}
	var status, errText string
	var packets, rows int64
	must(t, db.SQL().QueryRow(`SELECT status, error, packets FROM captures WHERE path LIKE '%truncated.pcap'`).Scan(&status, &errText, &packets))
	want := fmt.Sprintf("truncated.pcap: offset %d:", fixture.TruncatedRecordOffset)
	if status != "damaged" || !strings.Contains(errText, want) {
		t.Errorf("status %q error %q, want damaged and %q", status, errText, want)
	}
	rows = count(t, db.SQL(), "SELECT count(*) FROM packets")
	if packets == 0 || rows == 0 || rows > packets {
		t.Errorf("%d records before the damage, %d packet rows", packets, rows)
	}
	must(t, db.SQL().QueryRow(`SELECT status, error FROM captures WHERE path LIKE '%z-not-a-capture.pcap'`).Scan(&status, &errText))
	if status != "unreadable" || !strings.Contains(errText, "z-not-a-capture.pcap: offset 0: not a pcap or pcapng file") {
		t.Errorf("garbage: status %q error %q", status, errText)
	}
	if again := run(t, db, withPackets, dir); len(again.Files) != 0 || again.Known != 2 {
		t.Errorf("damaged files read again: %+v", again)
	}
}

// Files are read in capture-time order, whatever their names, and a stream
// running across them is one stream.
func TestRotationContinuesStreams(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.pcap"), fixtureFile(t, "rotated-0.pcap"))
	writeFile(t, filepath.Join(dir, "a.pcap"), fixtureFile(t, "rotated-1.pcap"))
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	rep := run(t, db, withPackets, dir)
	if len(rep.Files) != 2 || !strings.HasSuffix(rep.Files[0].Path, "b.pcap") {
		t.Fatalf("order: %+v", rep.Files)
	}
	var streams, up, down, packetRows int64
	var end string
	must(t, db.SQL().QueryRow(`SELECT count(*), sum(packets_up), sum(packets_down), max(end_reason) FROM streams WHERE server_name = 'rotated.example.com'`).
		Scan(&streams, &up, &down, &end))
	packetRows = count(t, db.SQL(), `SELECT count(*) FROM packets JOIN streams ON packets.stream_id = streams.id WHERE server_name = 'rotated.example.com'`)
	if streams != 1 || up+down != packetRows || up == 0 || down == 0 {
		t.Errorf("rotated stream: %d rows, %d+%d packets, %d packet rows", streams, up, down, packetRows)
	}
	var continued int64
	must(t, db.SQL().QueryRow(`SELECT continued FROM captures WHERE path LIKE '%a.pcap'`).Scan(&continued))
	if continued != 1 {
		t.Error("second file not marked as continuing the first")
	}
	checkUsage(t, db.SQL())
	// Built again from the streams alone, the histograms are the same.
	if _, err := db.SQL().Exec(`DELETE FROM latency_hourly`); err != nil {
		t.Fatal(err)
	}
	must(t, db.RebuildLatencyTotals(context.Background()))
	checkLatencyHistograms(t, db.SQL())
}

// checkUsage holds the hourly totals (per client, per service, per server
// address), the daily ones per client and the usage_daily view to the
// streams they sum up.
func checkUsage(t testing.TB, db *sql.DB) {
	t.Helper()
	q := `SELECT count(*), coalesce(sum(packets_up), 0), coalesce(sum(bytes_down), 0), coalesce(sum(last - first), 0) FROM streams`
	var want, got [4]int64
	must(t, db.QueryRow(q).Scan(&want[0], &want[1], &want[2], &want[3]))
	must(t, db.QueryRow(`SELECT coalesce(sum(streams), 0), coalesce(sum(packets_up), 0), coalesce(sum(bytes_down), 0), coalesce(sum(duration_ns), 0) FROM usage_daily`).
		Scan(&got[0], &got[1], &got[2], &got[3]))
	if got != want {
		t.Errorf("usage_daily sums %v, streams %v", got, want)
	}
	sums := `count(*) AS n, sum(packets_up) AS pu, sum(packets_down) AS pd, sum(bytes_up) AS bu, sum(bytes_down) AS bd, sum(last - first) AS dur,
		sum(CASE WHEN server_rtt_ns > 0 AND client_rtt_ns > 0 THEN server_rtt_ns + client_rtt_ns ELSE 0 END) AS rtt,
		count(CASE WHEN tls_handshake_ns > 0 THEN 1 END) AS hs`
	differ := `u.streams IS NOT s.n OR u.packets_up IS NOT s.pu OR u.packets_down IS NOT s.pd OR u.bytes_up IS NOT s.bu
		OR u.bytes_down IS NOT s.bd OR u.duration_ns IS NOT s.dur OR u.rtt_sum_ns IS NOT s.rtt OR u.handshake_count IS NOT s.hs`
	// Column by column and key by key; every stream here is after 1970,
	// and the database cuts months in UTC.
	const hour = "first / 3600000000000 * 3600000000000"
	const month = "CAST(unixepoch(first / 1000000000, 'unixepoch', 'start of month') AS INTEGER) * 1000000000"
	const dayOfMonth = "CAST(strftime('%d', first / 1000000000, 'unixepoch') AS INTEGER)"
	perClient := []string{"client", "client_mac", "server_name", "proto", "server_port"}
	// The daily and monthly totals hold the streams of the closed days.
	const closed = "first < (SELECT closed FROM rollup_zone)"
	for _, totals := range []struct {
		table string
		// time is the key's time column and start its value for a
		// stream; keys are its other columns, as in streams.
		time, start string
		keys        []string
		// Columns of what the table keeps of when streams started, and
		// their values for a group of streams.
		extra, extraSums []string
		// which streams the table holds
		holds string
	}{
		{"client_usage_hourly", "hour", hour, perClient, nil, nil, "1"},
		{"usage_hourly", "hour", hour, []string{"server_name", "proto", "server_port"}, nil, nil, "1"},
		{"server_usage_hourly", "hour", hour, []string{"server_name", "server"}, nil, nil, "1"},
		{"client_usage_daily", "day", "first / 86400000000000 * 86400000000000", perClient,
			[]string{"hours"}, []string{"sum(DISTINCT 1 << ((first / 3600000000000) % 24))"}, closed},
		{"client_usage_monthly", "month", month, []string{"client", "client_mac", "server_name"},
			[]string{"days", "first_hour", "last_hour"}, []string{"sum(DISTINCT 1 << (" + dayOfMonth + " - 1))", "min(" + hour + ")", "max(" + hour + ")"}, closed},
	} {
		sums, differ := sums, differ
		for i, c := range totals.extra {
			sums += ", " + totals.extraSums[i] + " AS " + c
			differ += " OR u." + c + " IS NOT s." + c
		}
		groups, on := "1", "u."+totals.time+" = s."+totals.time
		for i, k := range totals.keys {
			groups += fmt.Sprintf(", %d", i+2)
			on += " AND u." + k + " = s." + k
		}
		disagree := count(t, db, `SELECT count(*) FROM (SELECT `+totals.start+` AS `+totals.time+`, `+
			strings.Join(totals.keys, ", ")+`, `+sums+` FROM streams WHERE `+totals.holds+` GROUP BY `+groups+`) s
			FULL JOIN `+totals.table+` u ON `+on+` WHERE `+differ)
		if disagree != 0 {
			t.Errorf("%d %s keys disagree with streams", disagree, totals.table)
		}
	}
	checkLatencyHistograms(t, db)
}

// checkLatencyHistograms holds latency_hourly to the histograms of the
// streams' values, counted here per measure, hour and server name.
func checkLatencyHistograms(t testing.TB, db *sql.DB) {
	t.Helper()
	values := map[string][]int64{}
	for _, r := range sharedtest.Rows(t, db, `SELECT first / 3600000000000 * 3600000000000, server_name, proto, coalesce(tls_handshake_ns, 0),
		coalesce(server_rtt_ns, 0), coalesce(client_rtt_ns, 0), end_reason, retransmits_up + retransmits_down FROM streams`) {
		key := func(measure string) string { return fmt.Sprintf("%s %d %s", measure, r[0], r[1]) }
		for i, measure := range []string{"tls", "serverRtt", "clientRtt"} {
			if v := r[3+i].(int64); v > 0 {
				values[key(measure)] = append(values[key(measure)], v)
			}
		}
		if end := r[6].(string); end != "open" {
			values[key("resets")] = append(values[key("resets")], map[bool]int64{true: 1}[end == "rst"])
		}
		if r[2].(int64) == 6 {
			values[key("retransmits")] = append(values[key("retransmits")], map[bool]int64{true: 1}[r[7].(int64) > 0])
		}
	}
	want := map[string]histogram.Histogram{}
	for k, vs := range values {
		want[k] = histogram.Of(vs...)
	}
	got := map[string]histogram.Histogram{}
	for _, r := range sharedtest.Rows(t, db, `SELECT measure, hour, server_name, streams, histogram FROM latency_hourly`) {
		key := fmt.Sprintf("%s %d %s", r[0], r[1], r[2])
		h, err := histogram.Decode(nil, r[4].([]byte))
		must(t, err)
		if h.Total() != r[3].(int64) {
			t.Errorf("latency_hourly %s: %d streams, histogram of %d", key, r[3], h.Total())
		}
		got[key] = h
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("latency_hourly against the streams (-want +got):\n%s", diff)
	}
}

// Readers see whole files or nothing, and never "database is locked".
func TestConcurrentReaderDuringIngest(t *testing.T) {
	dir := t.TempDir()
	rotation(t, dir, 120000, 4)
	dbPath := filepath.Join(t.TempDir(), "db")
	db := openDB(t, dbPath)
	reader, err := store.OpenReader(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	var done atomic.Bool
	var wg sync.WaitGroup
	var seen sync.Map
	var readErr atomic.Value
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				var packets, files, streams int64
				err := reader.SQL().QueryRow(`SELECT (SELECT count(*) FROM packets), (SELECT coalesce(sum(tcp_udp_packets), 0) FROM captures),
					(SELECT count(*) FROM streams)`).Scan(&packets, &files, &streams)
				if err != nil {
					readErr.Store(err)
					return
				}
				if packets != files {
					readErr.Store(fmt.Errorf("reader saw %d packet rows but committed files hold %d", packets, files))
					return
				}
				seen.Store(packets, true)
			}
		}()
	}
	rep := run(t, db, withPackets, dir)
	done.Store(true)
	wg.Wait()
	if err, _ := readErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	states := 0
	seen.Range(func(any, any) bool { states++; return true })
	if len(rep.Files) != 4 || states < 2 {
		t.Errorf("%d files ingested, readers saw %d distinct states", len(rep.Files), states)
	}
}

// A run killed in the middle of a file leaves the database as it was
// before that file; running again then gives the database an uninterrupted
// run gives.
func TestKilledMidFileResumesToTheSameDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	dir := t.TempDir()
	paths := rotation(t, dir, 60000, 3)

	ref := openDB(t, filepath.Join(t.TempDir(), "ref.db"))
	run(t, ref, withPackets, dir)
	want := dump(t, ref.SQL())

	dbPath := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperIngestUntilKilled$")
	cmd.Env = append(os.Environ(), "SAASLENS_HELPER_DB="+dbPath, "SAASLENS_HELPER_DIR="+dir,
		"SAASLENS_HELPER_STOP_FILE="+paths[1], "SAASLENS_HELPER_STOP_AT=15000")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "STOPPED" {
				ready <- true
				return
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatal("helper ended without reaching the stop point")
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("helper did not reach the stop point")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()

	db := openDB(t, dbPath)
	if n := count(t, db.SQL(), "SELECT count(*) FROM captures"); n != 1 {
		t.Fatalf("after the kill the database holds %d captures, want the 1 committed before it", n)
	}
	if n := count(t, db.SQL(), "SELECT count(*) FROM captures WHERE path = ?", paths[0]); n != 1 {
		t.Fatal("the first file is not the one committed")
	}
	rep := run(t, db, withPackets, dir)
	if len(rep.Files) != 2 || rep.Known != 1 {
		t.Fatalf("resume read %d files, knew %d", len(rep.Files), rep.Known)
	}
	if got := dump(t, db.SQL()); got != want {
		t.Errorf("resumed database differs from an uninterrupted run:\n%s", firstDifference(got, want))
	}
	checkUsage(t, db.SQL())
}

// TestHelperIngestUntilKilled is the subprocess of the test above: it
// ingests until the stop point, says so, and waits to be killed.
func TestHelperIngestUntilKilled(t *testing.T) {
	dbPath := os.Getenv("SAASLENS_HELPER_DB")
	if dbPath == "" {
		t.Skip("subprocess of TestKilledMidFileResumesToTheSameDatabase")
	}
	stopFile := os.Getenv("SAASLENS_HELPER_STOP_FILE")
	stopAt, _ := strconv.ParseUint(os.Getenv("SAASLENS_HELPER_STOP_AT"), 10, 64)
	testHookPacket = func(path string, n uint64) {
		if path == stopFile && n == stopAt {
			fmt.Println("STOPPED")
			select {}
		}
	}
	db := openDB(t, dbPath)
	run(t, db, withPackets, os.Getenv("SAASLENS_HELPER_DIR"))
	t.Fatal("ingest finished without reaching the stop point")
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d\n got: %.300s\nwant: %.300s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}

// A file older than what its directory already holds is read on its own
// rather than cutting the streams of both.
func TestOlderFileReadOnItsOwn(t *testing.T) {
	dir := t.TempDir()
	paths := rotation(t, dir, 4000, 2)
	older := filepath.Join(dir, "older.pcap")
	writeFile(t, older, shifted(t, paths[0], -time.Hour))
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	run(t, db, withPackets, paths[0], paths[1])
	rep := run(t, db, withPackets, older)
	if rep.Count("ok") != 1 {
		t.Fatalf("%+v", rep.Files)
	}
	var continued int64
	must(t, db.SQL().QueryRow(`SELECT continued FROM captures WHERE path = ?`, older).Scan(&continued))
	if continued != 0 {
		t.Error("an older file was joined to a newer one")
	}
	checkUsage(t, db.SQL())
}

// shifted returns a capture file with every timestamp moved by d.
func shifted(t testing.TB, path string, d time.Duration) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	w.WriteFileHeader(65535, r.LinkType())
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		ci.Timestamp = ci.Timestamp.Add(d)
		w.WritePacket(ci, data)
	}
	return out.Bytes()
}

func TestRetentionKeepsDailyTotals(t *testing.T) {
	dir := t.TempDir()
	rotation(t, dir, 4000, 2)
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	run(t, db, withPackets, dir)
	before := count(t, db.SQL(), "SELECT sum(streams) FROM usage_daily")
	var last int64
	must(t, db.SQL().QueryRow("SELECT max(last) FROM streams").Scan(&last))
	pruned, err := db.Prune(context.Background(), last+1)
	if err != nil {
		t.Fatal(err)
	}
	if pruned["stream_packets"] == 0 || pruned["streams"] == 0 {
		t.Errorf("pruned %v", pruned)
	}
	for _, table := range []string{"packets", "tls", "streams", "dns"} {
		if n := count(t, db.SQL(), "SELECT count(*) FROM "+table); n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
	if after := count(t, db.SQL(), "SELECT sum(streams) FROM usage_daily"); after != before || after == 0 {
		t.Errorf("daily totals went from %d to %d streams", before, after)
	}
	if again := run(t, db, withPackets, dir); len(again.Files) != 0 {
		t.Error("pruned files were ingested again")
	}
}

// A file stored while a writer was still filling it (cut inside a record,
// as an unflushed buffer leaves it) and grown since is read on from where
// the first run stopped: the database ends up as if the whole file had
// been read at once, nothing twice.
func TestGrownFileReadsOnlyItsNewRecords(t *testing.T) {
	full, err := fixture.Rotation(6000, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "live.pcap")
	writeFile(t, path, full[0][:len(full[0])*2/3])
	db := openDB(t, filepath.Join(t.TempDir(), "grown.db"))
	if rep := run(t, db, withPackets, dir); rep.Count("damaged") != 1 {
		t.Fatalf("first part: %+v", rep.Files)
	}
	writeFile(t, path, full[0])
	rep := run(t, db, withPackets, dir)
	if rep.Count("ok") != 1 {
		t.Fatalf("grown file: %+v", rep.Files)
	}
	var readFrom int64
	must(t, db.SQL().QueryRow("SELECT read_from FROM captures WHERE id = 2").Scan(&readFrom))
	if readFrom == 0 {
		t.Error("grown file read from the start")
	}

	whole := openDB(t, filepath.Join(t.TempDir(), "whole.db"))
	run(t, whole, withPackets, dir)
	// capture_id differs by design: the new records belong to the grown file's own row.
	for _, q := range []string{"SELECT * FROM packets",
		"SELECT stream_id, time, src, dst, sport, dport, server_name, alpn, version, transport, ech FROM tls",
		"SELECT time, stream_id, client, resolver, query, name, type, ttl, answer FROM dns",
		"SELECT id, first, last, packets_up, packets_down, bytes_up, bytes_down, server_name, end_reason FROM streams",
		"SELECT * FROM usage_daily"} {
		got, want := dumpQuery(t, db.SQL(), q), dumpQuery(t, whole.SQL(), q)
		if got != want {
			t.Errorf("%s differs from reading the whole file at once:\n%s", q, firstDifference(got, want))
		}
	}
	if n := count(t, db.SQL(), "SELECT count(*) FROM packets"); n != count(t, whole.SQL(), "SELECT count(*) FROM packets") || n == 0 {
		t.Errorf("%d packet rows", n)
	}
}
