package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/store"
)

func newService(t *testing.T, db *store.DB, cfg Config) *Service {
	t.Helper()
	s, err := NewService(db, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfigValidateNamesTheSetting(t *testing.T) {
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Settle = -time.Second }, "settle -1s: must be 0 or more"},
		{func(c *Config) { c.Interval = -time.Minute }, "interval -1m0s: must be 0 (run only when asked) or more"},
		{func(c *Config) { c.Interval = time.Nanosecond }, "interval 1ns: at least 1s between runs, or 0 to run only when asked"},
		{func(c *Config) { c.RetainDays = -1 }, "retain-days -1: must be 0 (keep everything) or more"},
		{func(c *Config) { c.Flow.UDPIdle = 0 }, "flow idle timeouts (TCP 5m0s, UDP 0s): must be more than 0"},
		{func(c *Config) { c.Flow.MaxStreams = -1 }, "flow max streams -1: must be 0 (no bound) or more"},
		{func(c *Config) { c.Paths = []string{"/a", " "} }, "paths: an empty path; name a capture file or directory"},
		{func(c *Config) { c.TimeZone = time.Local }, "time zone: the machine's local zone has no name another process can read; name it, like Asia/Tokyo"},
	} {
		cfg := DefaultConfig()
		c.change(&cfg)
		err := cfg.Validate()
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}

// Two owners of one database never ingest at once: the second is told who
// holds it, and gets its turn once the first is done.
func TestOneIngestPerDatabase(t *testing.T) {
	dir := t.TempDir()
	rotation(t, dir, 2000, 2)
	dbPath := filepath.Join(t.TempDir(), "db")
	db := openDB(t, dbPath)
	cfg := DefaultConfig()
	cfg.Paths = []string{dir}
	first, second := newService(t, db, cfg), newService(t, db, cfg)

	unlock, err := lockDatabase(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = second.Run(context.Background())
	want := fmt.Sprintf("another ingest holds the database %s (held by process %d; it writes %s.ingest-lock)", dbPath, os.Getpid(), dbPath)
	if !errors.Is(err, ErrBusy) || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if st := second.Status(); st.LastError != want || st.Runs != 1 {
		t.Errorf("status after a refused run: %+v", st)
	}
	unlock()
	rep, err := first.Run(context.Background())
	if err != nil || len(rep.Files) != 2 {
		t.Fatalf("run after the lock was freed: %v, %+v", err, rep)
	}
	if st := first.Status(); st.LastError != "" || st.LastReport != rep || st.Running || st.LastEnd.Before(st.LastStart) {
		t.Errorf("status after a run: %+v", st)
	}
}

// A service watching with no schedule runs only when asked.
func TestWatchRunsWhenAsked(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := DefaultConfig()
	cfg.Paths = []string{dir}
	cfg.Settle = 0
	cfg.Interval = 0
	svc := newService(t, db, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan *Report)
	finished := make(chan struct{})
	go func() {
		svc.Watch(ctx, func(r *Report, err error) {
			if err != nil {
				t.Error(err)
			}
			runs <- r
		})
		close(finished)
	}()
	rotation(t, dir, 1000, 1)
	select {
	case r := <-runs:
		t.Fatalf("ran unasked: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
	svc.RunNow()
	if r := <-runs; len(r.Files) != 1 || r.Files[0].Status != "ok" {
		t.Fatalf("run asked for: %+v", r)
	}
	cancel()
	<-finished
}

// Retention counts days back from the latest stored packet, so captures
// from last year are kept as they are analysed today.
func TestRetentionCountsFromTheLatestPacket(t *testing.T) {
	dir := t.TempDir()
	rotation(t, dir, 4000, 1)
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := DefaultConfig()
	cfg.Paths = []string{dir}
	cfg.RetainDays = 1
	svc := newService(t, db, cfg)
	if _, err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var packets, streams int64
	if err := db.SQL().QueryRow(`SELECT (SELECT count(*) FROM packets), (SELECT count(*) FROM streams)`).Scan(&packets, &streams); err != nil {
		t.Fatal(err)
	}
	if packets != 4000 || streams == 0 || svc.Status().Retained != 0 {
		t.Fatalf("a capture within a day of its own end lost rows: %d packets, %d streams, %d retained", packets, streams, svc.Status().Retained)
	}
}

// Pruning deletes in batches and deletes everything it should.
func TestPruneInBatches(t *testing.T) {
	dir := t.TempDir()
	rotation(t, dir, 3*pruneBatchForTest+17, 1)
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := DefaultConfig()
	cfg.Paths = []string{dir}
	if _, err := newService(t, db, cfg).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	end, err := db.TrafficEnd(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pruned, err := db.Prune(context.Background(), end+1)
	if err != nil {
		t.Fatal(err)
	}
	if pruned["stream_packets"] != 3*pruneBatchForTest+17 {
		t.Errorf("pruned %d packets, want %d", pruned["stream_packets"], 3*pruneBatchForTest+17)
	}
	var left int64
	if err := db.SQL().QueryRow(`SELECT (SELECT count(*) FROM packets) + (SELECT count(*) FROM streams) + (SELECT count(*) FROM tls)`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d rows left after pruning past the end", left)
	}
}

const pruneBatchForTest = 20000

func TestServiceRefusesABadConfig(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := DefaultConfig()
	cfg.Settle = -1
	if _, err := NewService(db, cfg, Options{}); err == nil || !strings.Contains(err.Error(), "settle") {
		t.Fatalf("got %v", err)
	}
}

// A watch that finds the database held (a Grafana datasource's new instance
// while the old one finishes) tries again soon rather than at the next
// interval.
func TestWatchWaitsForTheHolder(t *testing.T) {
	dir := t.TempDir()
	rotation(t, dir, 1000, 1)
	dbPath := filepath.Join(t.TempDir(), "db")
	db := openDB(t, dbPath)
	cfg := DefaultConfig()
	cfg.Paths = []string{dir}
	cfg.Interval = time.Hour
	svc := newService(t, db, cfg)
	unlock, err := lockDatabase(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 4)
	go svc.Watch(ctx, func(_ *Report, err error) { errs <- err })
	if err := <-errs; !errors.Is(err, ErrBusy) {
		t.Fatalf("first run: %v, want ErrBusy", err)
	}
	unlock()
	select {
	case err := <-errs:
		if err != nil {
			t.Fatalf("run after the holder let go: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no run within 10 s of the holder letting go")
	}
}

// A new database hands the pages retention frees back: the file shrinks.
func TestPruneShrinksTheFile(t *testing.T) {
	dir := t.TempDir()
	rotation(t, dir, 60000, 1)
	dbPath := filepath.Join(t.TempDir(), "db")
	db := openDB(t, dbPath)
	var mode int
	if err := db.SQL().QueryRow("PRAGMA auto_vacuum").Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("auto_vacuum %d (%v), want 2 (incremental)", mode, err)
	}
	cfg := DefaultConfig()
	cfg.Paths = []string{dir}
	if _, err := newService(t, db, cfg).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	pages := func() int64 {
		var n int64
		if err := db.SQL().QueryRow("PRAGMA page_count").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := pages()
	end, err := db.TrafficEnd(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Prune(context.Background(), end+1); err != nil {
		t.Fatal(err)
	}
	// What pruning keeps (the totals, the tracker's open streams) stays;
	// every page the details held went back to the file system.
	var detail, free int64
	if err := db.SQL().QueryRow(`SELECT coalesce(sum(pgsize), 0) / 4096 FROM dbstat WHERE name IN
		('stream_packets', 'stream_packets_time', 'stream_packets_stream', 'streams', 'streams_first', 'tls', 'dns', 'dhcp')`).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().QueryRow(`PRAGMA freelist_count`).Scan(&free); err != nil {
		t.Fatal(err)
	}
	if after := pages(); after > before/2 || detail > 8 || free != 0 {
		t.Errorf("%d pages after pruning everything (%d of details, %d free), %d before", after, detail, free, before)
	}
}

// Every server name gets its service after a run; a contracts change
// relabels the names already stored, with no new capture.
func TestRunClassifiesNames(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tunnels.pcap"), fixtureFile(t, "tunnels.pcap"))
	contracts := filepath.Join(t.TempDir(), "contracts.yaml")
	write := func(vendor string, mtime time.Time) {
		t.Helper()
		body := "contracts:\n  - vendor: " + vendor + "\n    product: Mirror Lab\n    seats: 3\n    patterns: [.example.com]\n"
		if err := os.WriteFile(contracts, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(contracts, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("Example Corp", past)
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := DefaultConfig()
	cfg.Paths = []string{dir}
	cfg.Contracts = contracts
	svc := newService(t, db, cfg)
	if _, err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	vendors := func() string {
		rows, err := db.SQL().Query(`SELECT vendor || '/' || source, count(*) FROM services GROUP BY 1 ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v string
			var n int
			if err := rows.Scan(&v, &n); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s=%d", v, n))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	var names int
	if err := db.SQL().QueryRow(`SELECT count(DISTINCT server_name) FROM streams WHERE server_name != ''`).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if got, want := vendors(), fmt.Sprintf("Example Corp/contract=%d", names); got != want || svc.Status().Classified != names {
		t.Fatalf("after the first run: %s (classified %d), want %s", got, svc.Status().Classified, want)
	}
	if _, err := svc.Run(context.Background()); err != nil || svc.Status().Classified != 0 {
		t.Fatalf("a run with nothing new classified %d names (%v)", svc.Status().Classified, err)
	}
	write("Example Holdings", past.Add(time.Minute))
	if _, err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := vendors(), fmt.Sprintf("Example Holdings/contract=%d", names); got != want {
		t.Errorf("after the contracts changed: %s, want %s", got, want)
	}
	// A broken edit keeps the last good contracts and says why; the run
	// goes on.
	if err := os.WriteFile(contracts, []byte("contracts:\n  - seats: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Run(context.Background()); err != nil {
		t.Errorf("a run with broken contracts: %v", err)
	}
	if got := fileProblems(svc); got != contracts+":2: vendor: required" {
		t.Errorf("broken contracts: %q", got)
	}
	if got := vendors(); !strings.HasPrefix(got, "Example Holdings/contract=") {
		t.Errorf("after a broken edit: %s", got)
	}
	stored := func() string {
		var products string
		if err := db.SQL().QueryRow(`SELECT group_concat(vendor || '/' || product) FROM contracts`).Scan(&products); err != nil {
			t.Fatal(err)
		}
		return products
	}
	if got := stored(); got != "Example Holdings/Mirror Lab" {
		t.Errorf("stored contracts after a broken edit: %s", got)
	}
	// So does a file gone, and a service started while it is gone runs
	// without it, the stored contracts kept for the licence questions.
	if err := os.Remove(contracts); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Run(context.Background()); err != nil {
		t.Errorf("a run without the contracts file: %v", err)
	}
	if got, want := fileProblems(svc), "contracts: stat "+contracts+": no such file or directory"; got != want {
		t.Errorf("contracts gone: %q, want %q", got, want)
	}
	restarted := newService(t, db, cfg)
	if got, want := fileProblems(restarted), "contracts: stat "+contracts+": no such file or directory"; got != want {
		t.Errorf("started without the contracts: %q, want %q", got, want)
	}
	if _, err := restarted.Run(context.Background()); err != nil {
		t.Errorf("a run started without the contracts file: %v", err)
	}
	if got := stored(); got != "Example Holdings/Mirror Lab" {
		t.Errorf("stored contracts without the file: %s", got)
	}
	write("Example Group", past.Add(2*time.Minute))
	if _, err := restarted.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fileProblems(restarted); got != "" || stored() != "Example Group/Mirror Lab" {
		t.Errorf("contracts back: problems %q, stored %s", got, stored())
	}
}

// fileProblems are the service's problems with the files it reads, one
// line each.
func fileProblems(svc *Service) string {
	var lines []string
	for _, err := range svc.Status().FileProblems {
		lines = append(lines, err.Error())
	}
	return strings.Join(lines, "\n")
}

// The user's catalog file names what the built-in catalog does not, after
// the contracts; an edit relabels stored names with no new capture, and a
// broken edit keeps the last good catalog and says where it is broken.
func TestRunReadsTheUserCatalog(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "tunnels.pcap"), fixtureFile(t, "tunnels.pcap"))
	catalog := filepath.Join(t.TempDir(), "catalog.yaml")
	write := func(body string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(catalog, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(catalog, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	entry := func(product string) string {
		return "entries:\n  - {vendor: Example Lab, product: " + product + ", category: dev-tools, kind: saas, patterns: [.example.com]}\n"
	}
	write(entry("Mirror"), past)
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := DefaultConfig()
	cfg.Paths = []string{dir}
	cfg.Catalog = catalog
	svc := newService(t, db, cfg)
	if _, err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	products := func() string {
		rows, err := db.SQL().Query(`SELECT DISTINCT product || '/' || source FROM services ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	if got, want := products(), "Mirror/usercatalog"; got != want {
		t.Fatalf("after the first run: %s, want %s", got, want)
	}
	write(entry("Mirror Lab"), past.Add(time.Minute))
	if _, err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := products(), "Mirror Lab/usercatalog"; got != want {
		t.Errorf("after the catalog changed: %s, want %s", got, want)
	}
	write("entries:\n  - {vendor: Example Lab, product: X, category: dev-tools, kind: sometimes, patterns: [.example.com]}\n", past.Add(2*time.Minute))
	if _, err := svc.Run(context.Background()); err != nil {
		t.Errorf("a run with a broken catalog: %v", err)
	}
	if got, want := fileProblems(svc), catalog+`:2: kind: "sometimes": want saas (a person's use of the service) or infra (what devices do on their own, static assets)`; got != want {
		t.Errorf("broken catalog: %q, want %q", got, want)
	}
	if got, want := products(), "Mirror Lab/usercatalog"; got != want {
		t.Errorf("after a broken edit: %s, want %s", got, want)
	}
}

// The user's catalog's ranges name the servers no DNS answer or handshake
// named, before the built-in catalog's; a name the traffic carries still
// wins over a range.
func TestRunNamesServersByTheUserCatalogsRanges(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "lan.pcap.gz"), fixtureFile(t, "lan.pcap.gz"))
	catalog := filepath.Join(t.TempDir(), "catalog.yaml")
	writeFile(t, catalog, []byte(`entries:
  - {vendor: ACME, product: Office network, category: other, kind: infra, patterns: [gw.acme.example], ranges: [10.0.0.0/24]}
  - {vendor: ACME, product: Web, category: web, kind: saas, patterns: [web.acme.example], ranges: [203.0.113.0/24]}
`))
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := DefaultConfig()
	cfg.Paths = []string{dir}
	cfg.Catalog = catalog
	if _, err := newService(t, db, cfg).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := db.SQL().Query(`SELECT s.server, s.server_name, s.name_source, coalesce(nullif(v.product || '/' || v.source, '/'), '-')
		FROM streams s LEFT JOIN services v ON v.server_name = s.server_name ORDER BY s.first, s.server`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var server, name, source, service string
		if err := rows.Scan(&server, &name, &source, &service); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{server, name, source, service}, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"255.255.255.255   -",
		"10.0.0.1 gw.acme.example range Office network/usercatalog",
		"203.0.113.15 lan.example.com sni -",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("streams (-want +got):\n%s", diff)
	}
}

// A run cuts the monthly totals in the configured zone, and without one
// keeps the database's.
func TestRunSetsTheRollupZone(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		zone *time.Location
		want string
	}{{nil, "UTC"}, {tokyo, "Asia/Tokyo"}, {nil, "Asia/Tokyo"}, {time.UTC, "UTC"}} {
		cfg := DefaultConfig()
		cfg.TimeZone = c.zone
		svc := newService(t, db, cfg)
		if _, err := svc.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		var zone string
		must(t, db.SQL().QueryRow(`SELECT zone FROM rollup_zone`).Scan(&zone))
		if zone != c.want {
			t.Errorf("after a run in %v: rollup zone %s, want %s", c.zone, zone, c.want)
		}
	}
}

// A database deleted while open is noticed at the next run, which writes
// nothing; the captures it held that are no longer on disk are named,
// for whoever makes the database anew to say what is lost.
func TestRunNoticesADeletedDatabase(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"tunnels.pcap", "vlan-qinq.pcap"} {
		writeFile(t, filepath.Join(dir, name), fixtureFile(t, name))
	}
	path := filepath.Join(t.TempDir(), "s.db")
	db := openDB(t, path)
	cfg := DefaultConfig()
	cfg.Paths, cfg.Settle = []string{dir}, 0
	svc := newService(t, db, cfg)
	if _, err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := db.Replaced(); err != nil {
		t.Fatalf("before the deletion: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "vlan-qinq.pcap")); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	_, err := svc.Run(context.Background())
	if want := "store: " + path + ": the database file was deleted or replaced while in use (deleted)"; err == nil || err.Error() != want || !errors.Is(err, store.ErrReplaced) {
		t.Errorf("a run after the deletion: %v, want %s", err, want)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run made the database again: %v", err)
	}
	gone, err := db.CapturesGone(context.Background())
	if err != nil || !cmp.Equal(gone, []string{filepath.Join(dir, "vlan-qinq.pcap")}) {
		t.Errorf("captures gone: %v, %v", gone, err)
	}
	// Another file at the path is not the one opened either.
	other := openDB(t, path)
	defer other.Close()
	if err := db.Replaced(); err == nil || !strings.HasSuffix(err.Error(), "(another file is there now)") {
		t.Errorf("with another database at the path: %v", err)
	}
	if err := other.Replaced(); err != nil {
		t.Errorf("the new database: %v", err)
	}
}
