package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/saaslens/saaslens/pkg/classifierhost"
	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/store"
)

type ingestFlags struct {
	db         *string
	noPackets  *bool
	settle     *time.Duration
	retainDays *int
	interval   *time.Duration
	contracts  *string
	catalog    *string
	inventory  *string
	timeZone   *string
	plugins    pluginFlags
}

func newIngestFlags(name string, stderr io.Writer, watch bool) (*flag.FlagSet, *ingestFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &ingestFlags{
		db:         fs.String("db", "saaslens.db", "SQLite database to create or update"),
		noPackets:  fs.Bool("no-packets", false, "leave out the per-packet rows of the packets table (streams keep every count)"),
		settle:     fs.Duration("settle", 10*time.Second, "how long a file must go unmodified before it is read"),
		contracts:  fs.String("contracts", "", "contracts file: the company's SaaS contracts and its tenants' server names (see docs/classifying.md)"),
		catalog:    fs.String("catalog", "", "your own catalog file, in the built-in catalog's format: its entries come before the built-in ones (see docs/classifying.md)"),
		inventory:  fs.String("inventory", "", "device inventory CSV (mac or address, device, user, department) naming devices, users and departments (see docs/inventory.md)"),
		retainDays: fs.Int("retain-days", 0, "after ingesting, delete details more than this many days older than the latest packet (daily totals stay); 0 keeps everything"),
		timeZone:   fs.String("time-zone", "", "IANA zone (like Asia/Tokyo) the monthly totals cut months and days in, as the datasource's timeZone; empty keeps the database's"),
	}
	fs.Var(&f.plugins, "classifier-plugin", "classifier plugin to run, as PATH or PATH=SHA256 (repeatable; asked before the contracts and the catalog)")
	if watch {
		f.interval = fs.Duration("interval", time.Minute, "time between scans")
	}
	return fs, f
}

func ingestCommand(args []string, stdout, stderr io.Writer) int {
	fs, f := newIngestFlags("ingest", stderr, false)
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(paths) == 0 && *f.retainDays == 0 {
		fmt.Fprintln(stderr, "saaslens ingest: no files or directories given")
		return 2
	}
	cfg, err := f.config(paths)
	if err != nil {
		fmt.Fprintln(stderr, "saaslens ingest:", shown(err.Error()))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, svc, err := openService(*f.db, cfg, stderr, true)
	if err != nil {
		fmt.Fprintln(stderr, "saaslens ingest:", shown(err.Error()))
		return 1
	}
	defer db.Close()
	defer svc.Close()
	rep, err := svc.Run(ctx)
	clearProgress(stderr)
	printReport(stdout, rep)
	printRetained(stdout, svc.Status(), cfg.RetainDays)
	if err != nil {
		fmt.Fprintln(stderr, "saaslens ingest:", shown(err.Error()))
		return 1
	}
	if rep != nil {
		// The run's streams are garbage now; handing their pages back
		// before the summary's query takes its own keeps a flood's
		// ingest under 500 MB.
		debug.FreeOSMemory()
		printFindings(stdout, db)
		if rep.Count("unreadable")+rep.Count("vanished") > 0 {
			return 1
		}
	}
	return 0
}

func watchCommand(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return watch(ctx, args, stdout, stderr)
}

// watch scans until ctx ends; an interrupt lets the file being read roll
// back and the process exit cleanly.
func watch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, f := newIngestFlags("watch", stderr, true)
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "saaslens watch: no directories given")
		return 2
	}
	cfg, err := f.config(paths)
	if err != nil {
		fmt.Fprintln(stderr, "saaslens watch:", shown(err.Error()))
		return 2
	}
	db, svc, err := openService(*f.db, cfg, stderr, false)
	if err != nil {
		fmt.Fprintln(stderr, "saaslens watch:", shown(err.Error()))
		return 1
	}
	defer db.Close()
	defer svc.Close()
	// Files never stop the loop (they are reported); the database failing
	// (a full disk, a lock held too long, another ingest) may pass, so the
	// next scan tries again. A database deleted under it does not: writing
	// on would lose everything, so watch stops for its supervisor to start
	// it again, which makes the database anew.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	code := 0
	svc.Watch(ctx, func(rep *ingest.Report, err error) {
		if errors.Is(err, store.ErrReplaced) {
			fmt.Fprintln(stderr, "saaslens watch:", shown(err.Error())+"; stopping: start it again to make the database anew from the captures on disk")
			code = 1
			stop()
			return
		}
		clearProgress(stderr)
		if rep != nil && (len(rep.Files) > 0 || len(rep.Growing) > 0) {
			fmt.Fprintf(stdout, "%s  %d files read, %d packets, %d left growing\n",
				time.Now().Format(time.RFC3339), len(rep.Files), rep.Packets, len(rep.Growing))
			for _, r := range rep.Files {
				if r.Status != "ok" {
					fmt.Fprintf(stdout, "  %s: %s %s%s\n", shown(r.Path), r.Status, shown(r.Error), shown(r.Duplicate))
				}
			}
		}
		printRetained(stdout, svc.Status(), cfg.RetainDays)
		if err != nil {
			fmt.Fprintln(stderr, "saaslens watch:", shown(err.Error()), "(trying again in", cfg.Interval.String()+")")
		}
	})
	return code
}

// config turns the flags into the ingest configuration, refusing values
// that would make no sense or spin a core.
func (f *ingestFlags) config(paths []string) (ingest.Config, error) {
	cfg := ingest.DefaultConfig()
	cfg.Paths = paths
	cfg.PacketRows = !*f.noPackets
	cfg.Settle = *f.settle
	cfg.RetainDays = *f.retainDays
	cfg.Contracts = *f.contracts
	cfg.Catalog = *f.catalog
	cfg.Inventory = *f.inventory
	cfg.Plugins = f.plugins
	if *f.timeZone != "" {
		loc, err := time.LoadLocation(*f.timeZone)
		if err != nil {
			return cfg, fmt.Errorf("--time-zone %q: not a time zone; write an IANA name like Asia/Tokyo", *f.timeZone)
		}
		cfg.TimeZone = loc
	}
	cfg.Interval = 0
	if f.interval != nil {
		if *f.interval <= 0 {
			return cfg, fmt.Errorf("--interval %s: must be more than 0 (run saaslens ingest for a single pass)", f.interval)
		}
		cfg.Interval = *f.interval
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("--%w", err)
	}
	return cfg, nil
}

func openService(path string, cfg ingest.Config, stderr io.Writer, wait bool) (*store.DB, *ingest.Service, error) {
	db, err := store.Open(path)
	if err != nil {
		return nil, nil, err
	}
	opts := ingest.Options{
		WaitToSettle: wait,
		Log:          slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if isTerminal(stderr) {
		opts.Progress = func(p ingest.Progress) { showProgress(stderr, p) }
	}
	svc, err := ingest.NewService(db, cfg, opts)
	if err == nil {
		// A file named on the command line must be there at the start;
		// watch then keeps the last good version through a broken edit.
		err = errors.Join(svc.Status().FileProblems...)
		if err != nil {
			svc.Close()
		}
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, svc, nil
}

func printRetained(w io.Writer, st ingest.Status, days int) {
	if st.Retained > 0 {
		fmt.Fprintf(w, "retention: deleted %d rows more than %d days older than the latest packet; daily totals kept\n", st.Retained, days)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func showProgress(w io.Writer, p ingest.Progress) {
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Bytes) / s / 1e6
	}
	fmt.Fprintf(w, "\r\033[K[%d/%d] %s  %d packets  %.0f MB/s", p.FileIndex, p.Files, filepath.Base(p.File), p.Packets, rate)
}

func clearProgress(w io.Writer) {
	if isTerminal(w) {
		fmt.Fprint(w, "\r\033[K")
	}
}

func printReport(w io.Writer, r *ingest.Report) {
	if r == nil {
		return
	}
	for _, f := range r.Files {
		switch f.Status {
		case "ok":
		case "duplicate":
			fmt.Fprintf(w, "%s: same content as %s, skipped\n", shown(f.Path), shown(f.Duplicate))
		default:
			fmt.Fprintf(w, "%s: %s: %s\n", shown(f.Path), f.Status, shown(f.Error))
		}
	}
	for _, g := range r.Growing {
		fmt.Fprintf(w, "%s: still being written, or an earlier file of its directory is; left for a later run\n", shown(g))
	}
	if n := len(r.Standalone); n > 0 {
		fmt.Fprintf(w, "%d files start before what their directory already held and were read on their own, their streams not continued (first %s)\n", n, shown(r.Standalone[0]))
	}
	rate := 0.0
	if s := r.Elapsed.Seconds(); s > 0 {
		rate = float64(r.Packets) / s
	}
	fmt.Fprintf(w, "ingested %d files (%d damaged, %d unreadable, %d duplicates), %d packets in %s (%.0f packets/s); %d already known, %d not captures\n",
		r.Count("ok")+r.Count("damaged"), r.Count("damaged"), r.Count("unreadable"), r.Count("duplicate"),
		r.Packets, r.Elapsed.Round(time.Millisecond), rate, r.Known, r.Skipped)
	if r.Evicted > 0 {
		fmt.Fprintf(w, "%d streams ended early (end_reason evicted): more were open at once than tracked, as in a flood or a scan\n", r.Evicted)
	}
}

// printFindings shows what the database now knows: the services used most
// and the devices seen. It reads the daily and hourly totals, which hold
// all history (retention keeps them) and are a few rows per client and
// day: summing ten million streams took a minute and 1.7 GB.
func printFindings(w io.Writer, db *store.DB) {
	if err := writeFindings(w, db); err != nil {
		fmt.Fprintln(w, "summary:", err)
	}
}

func writeFindings(w io.Writer, db *store.DB) error {
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Counting distinct clients regroups the daily rows; a flood's million
	// clients would be sorted in memory (the writer's temp_store), not
	// spilled to a file past the cache.
	if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, `PRAGMA temp_store = MEMORY`)
	rows, err := conn.QueryContext(ctx, `WITH used AS (SELECT server_name, sum(streams) AS streams, count(DISTINCT client) AS clients,
			sum(bytes_up + bytes_down) AS bytes FROM client_usage_daily GROUP BY 1),
		handshakes AS (SELECT server_name, sum(handshake_sum_ns) * 1.0 / nullif(sum(handshake_count), 0) / 1e6 AS ms
			FROM usage_hourly GROUP BY 1)
		SELECT CASE u.server_name WHEN '' THEN '(unnamed)' ELSE u.server_name END,
			coalesce(nullif(sv.vendor, ''), '-'), coalesce(nullif(sv.product, ''), '-'), coalesce(nullif(sv.kind, ''), '-'),
			u.streams, u.clients, u.bytes, h.ms
		FROM used u LEFT JOIN handshakes h ON h.server_name = u.server_name LEFT JOIN services sv ON sv.server_name = u.server_name
		ORDER BY u.bytes DESC, 1 LIMIT 15`)
	if err != nil {
		return err
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSERVER NAME\tVENDOR\tPRODUCT\tKIND\tSTREAMS\tCLIENTS\tBYTES\tTLS HANDSHAKE ms")
	for rows.Next() {
		var name, vendor, product, kind string
		var streams, clients, bytes int64
		var hs *float64
		if err := rows.Scan(&name, &vendor, &product, &kind, &streams, &clients, &bytes, &hs); err != nil {
			return err
		}
		handshake := ""
		if hs != nil {
			handshake = fmt.Sprintf("%.1f", *hs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", shown(name), shown(vendor), shown(product), kind, streams, clients, bytes, handshake)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	tw.Flush()
	var devices, named, captures int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*), count(nullif(hostname, '')) FROM devices`).Scan(&devices, &named); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM captures`).Scan(&captures); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d devices (%d with DHCP host names), %d capture files in %s\n", devices, named, captures, db.Path())
	return nil
}

// pluginFlags collects --classifier-plugin PATH[=SHA256].
type pluginFlags []classifierhost.Config

func (p *pluginFlags) String() string { return fmt.Sprint(*p) }

func (p *pluginFlags) Set(v string) error {
	path, sum, _ := strings.Cut(v, "=")
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	cfg := classifierhost.Config{Path: abs, SHA256: sum}
	if err := cfg.Check(); err != nil {
		return err
	}
	*p = append(*p, cfg)
	return nil
}
