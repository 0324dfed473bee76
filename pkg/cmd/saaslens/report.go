package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/report"
	"github.com/saaslens/saaslens/pkg/store"
)

// reportCommand writes a month's SaaS report as one HTML file.
func reportCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := fs.String("db", "saaslens.db", "SQLite database ingest wrote")
	monthFlag := fs.String("month", "", "the month, as YYYY-MM; when empty, the last month the captures have passed (or the one they end in, when they cover none of the one before)")
	zone := fs.String("time-zone", "", "IANA zone (like Asia/Tokyo) months are cut in; the database's (the datasource's timeZone) when empty")
	contracts := fs.String("contracts", "", "contracts file to store first, as ingest would (the database's stored contracts otherwise)")
	inventory := fs.String("inventory", "", "inventory CSV to store first, as ingest would")
	lang := fs.String("lang", "", "en or ja; ja for Asia/Tokyo, else en, when empty")
	home := fs.String("home-country", "", "the office's country (two letters, like JP): servers elsewhere are abroad")
	geoDB := fs.String("geo-database", "", "MaxMind-format country database instead of the embedded table")
	out := fs.String("o", "", "file to write; saaslens-YYYY-MM.html when empty, - for standard output")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "saaslens report:", shown(err.Error()))
		return 1
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "saaslens report: unexpected %q; flags only\n", fs.Arg(0))
		return 2
	}
	ctx := context.Background()
	if *contracts != "" || *inventory != "" {
		if err := storeFiles(ctx, *dbPath, *contracts, *inventory); err != nil {
			return fail(err)
		}
	}
	db, err := store.OpenReader(*dbPath)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	o := report.Options{Lang: *lang, Home: strings.ToUpper(*home), Locator: geo.Builtin()}
	if o.Location, err = db.RollupZone(ctx); err != nil {
		return fail(err)
	}
	if *zone != "" {
		if o.Location, err = time.LoadLocation(*zone); err != nil {
			return fail(fmt.Errorf("--time-zone %q: want an IANA name like Asia/Tokyo", *zone))
		}
	}
	if *geoDB != "" {
		m, err := geo.OpenMMDB(*geoDB)
		if err != nil {
			return fail(err)
		}
		defer m.Close()
		o.Locator = m
	}
	if *monthFlag != "" {
		if o.Month, err = report.ParseMonth(*monthFlag, o.Location); err != nil {
			return fail(err)
		}
	} else {
		end, err := db.TrafficEnd(ctx)
		if err != nil {
			return fail(err)
		}
		if end == 0 {
			return fail(errors.New("the database holds no captures yet"))
		}
		if o.Month, err = report.LatestMonth(ctx, db.SQL(), end, o.Location); err != nil {
			return fail(err)
		}
	}
	path := *out
	if path == "" {
		path = report.FileName(o.Month)
	}
	if path == "-" {
		r, err := report.Build(ctx, db.SQL(), o)
		if err != nil {
			return fail(err)
		}
		if err := r.HTML(stdout); err != nil {
			return fail(err)
		}
		return 0
	}
	if err := report.Write(ctx, db.SQL(), o, path); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "%s: the report of %s\n", path, o.Month.Format("2006-01"))
	return 0
}

// storeFiles stores the contracts and inventory and classifies the names
// again, as an ingest run naming them would (without reading captures).
func storeFiles(ctx context.Context, dbPath, contracts, inventory string) error {
	cfg := ingest.DefaultConfig()
	cfg.Contracts, cfg.Inventory, cfg.Interval = contracts, inventory, 0
	db, svc, err := openService(dbPath, cfg, io.Discard, false)
	if err != nil {
		return err
	}
	defer db.Close()
	defer svc.Close()
	_, err = svc.Run(ctx)
	return err
}
