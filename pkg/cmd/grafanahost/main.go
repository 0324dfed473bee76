// Command grafanahost serves the built plugin the way Grafana would, without
// Grafana: it starts dist/'s binary through go-plugin, provisions the
// datasource from provisioning/ over local capture directories, waits for
// its first ingest, then runs every panel of the bundled dashboards and
// prints what each would show.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/saaslens/saaslens/pkg/internal/grafanahost"
	"github.com/saaslens/saaslens/pkg/plugin"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("grafanahost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dist := fs.String("dist", "dist", "the built plugin directory")
	provisioning := fs.String("provisioning", "provisioning", "Grafana provisioning directory (datasources/, dashboards/)")
	db := fs.String("db", filepath.Join(os.TempDir(), "saaslens-demo.db"), "database the datasource writes")
	rows := fs.Int("rows", 8, "rows shown per table panel")
	contracts := fs.String("contracts", "examples/contracts.yaml", "contracts file instead of the provisioned one")
	inventory := fs.String("inventory", "examples/inventory.csv", "device inventory instead of the provisioned one")
	var captures stringList
	fs.Var(&captures, "captures", "capture directory to ingest instead of the provisioned ones (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	binary := filepath.Join(*dist, fmt.Sprintf("gpx_saaslens_pcap_datasource_%s_%s", runtime.GOOS, runtime.GOARCH))
	if _, err := os.Stat(binary); err != nil {
		fmt.Fprintf(stderr, "grafanahost: %v (build it first: go run github.com/magefile/mage -v build:backend)\n", err)
		return 1
	}
	if err := serve(binary, *provisioning, *db, *contracts, *inventory, captures, *rows, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "grafanahost:", err)
		return 1
	}
	return 0
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func serve(binary, provisioning, dbPath, contracts, inventory string, captures []string, rows int, stdout, stderr io.Writer) error {
	sources, err := grafanahost.ProvisionedDatasources(filepath.Join(provisioning, "datasources"))
	if err != nil {
		return err
	}
	var ds *grafanahost.Datasource
	for i := range sources {
		if sources[i].Type == plugin.ID {
			ds = &sources[i]
		}
	}
	if ds == nil {
		return fmt.Errorf("no %s datasource in %s", plugin.ID, provisioning)
	}
	if len(captures) > 0 {
		var dirs []any
		for _, c := range captures {
			abs, err := filepath.Abs(c)
			if err != nil {
				return err
			}
			dirs = append(dirs, abs)
		}
		ds.JSONData["captureDirs"] = dirs
	}
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return err
	}
	ds.JSONData["databasePath"] = abs
	ds.JSONData["reportDir"] = filepath.Join(filepath.Dir(abs), "reports")
	for setting, path := range map[string]string{"contractsFile": contracts, "inventoryFile": inventory} {
		if path == "" {
			continue
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		ds.JSONData[setting] = abs
	}
	ds.JSONData["settle"] = "0s"
	pc, err := ds.PluginContext(plugin.ID, ds.JSONData, time.Now())
	if err != nil {
		return err
	}
	h, err := grafanahost.Start(binary, nil, stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	ctx := context.Background()
	start := time.Now()
	fmt.Fprintf(stdout, "plugin %s started; datasource %q over %v, database %s\n", filepath.Base(binary), ds.Name, ds.JSONData["captureDirs"], abs)
	for {
		resp, err := h.CallResource(ctx, &backend.CallResourceRequest{PluginContext: pc, Method: http.MethodGet, Path: "status", URL: "status"})
		if err != nil {
			return err
		}
		var st plugin.Status
		if err := json.Unmarshal(resp.Body, &st); err != nil {
			return fmt.Errorf("status: %w", err)
		}
		if st.LastRun != nil && !st.Running && st.LastRun.Start.After(start.Add(-time.Second)) {
			fmt.Fprintf(stdout, "first ingest: %d files, %d packets in %s\n", st.LastRun.Files, st.LastRun.Packets, st.LastRun.End.Sub(st.LastRun.Start).Round(time.Millisecond))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	health, err := h.CheckHealth(ctx, pc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "health: %s: %s\n", health.Status, health.Message)

	dashboards, err := grafanahost.LoadDashboards(filepath.Join(provisioning, "dashboards"))
	if err != nil {
		return err
	}
	for _, d := range dashboards {
		tr, err := d.Range(time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n=== dashboard %q (%s to %s)\n", d.Title, d.Time.From, d.Time.To)
		values := d.CurrentValues(pc.DataSourceInstanceSettings.UID)
		for _, p := range d.AllPanels() {
			for _, target := range p.Targets {
				q, err := grafanahost.Interpolate(target, values)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "\n--- %s (%s)\n", p.Title, p.Type)
				if err := answer(ctx, h, pc, q, tr, rows, p.Type, stdout); err != nil {
					return err
				}
			}
		}
		for _, a := range d.Annotations.List {
			if a.BuiltIn == 1 {
				continue
			}
			q, err := grafanahost.Interpolate(a.Target, values)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\n--- annotations: %s\n", a.Name)
			if err := answer(ctx, h, pc, q, tr, rows, "table", stdout); err != nil {
				return err
			}
		}
	}
	rules, err := grafanahost.LoadAlertRules(filepath.Join(provisioning, "alerting", "saaslens.yaml"))
	if err != nil {
		return err
	}
	now := time.Now()
	for _, g := range rules.Groups {
		for _, rule := range g.Rules {
			for _, d := range rule.Data {
				if d.DatasourceUID == "__expr__" {
					continue
				}
				q, err := json.Marshal(d.Model)
				if err != nil {
					return err
				}
				tr := backend.TimeRange{From: now.Add(-time.Duration(d.RelativeTimeRange.From) * time.Second), To: now.Add(-time.Duration(d.RelativeTimeRange.To) * time.Second)}
				fmt.Fprintf(stdout, "\n--- alert rule %q: query %s, evaluated now\n", rule.Title, d.RefID)
				if err := answer(ctx, h, pc, q, tr, rows, "table", stdout); err != nil {
					return err
				}
			}
		}
	}
	fmt.Fprintln(stdout, "\nWith Docker, `docker compose up` serves the same in Grafana at http://localhost:3000/d/saaslens-overview")
	return nil
}

// answer runs one query and shows its frames as a panel of panelType
// would, or its error.
func answer(ctx context.Context, h *grafanahost.Host, pc backend.PluginContext, q json.RawMessage, tr backend.TimeRange, rows int, panelType string, stdout io.Writer) error {
	var model struct {
		QueryType string `json:"queryType"`
	}
	if err := json.Unmarshal(q, &model); err != nil {
		return err
	}
	resp, err := h.QueryData(ctx, &backend.QueryDataRequest{PluginContext: pc, Queries: []backend.DataQuery{{
		RefID: "A", QueryType: model.QueryType, JSON: q, TimeRange: tr, Interval: time.Minute, MaxDataPoints: 200}}})
	if err != nil {
		return err
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		fmt.Fprintf(stdout, "error: %v\n", r.Error)
		return nil
	}
	for _, f := range r.Frames {
		show(stdout, f, panelType, rows)
	}
	return nil
}

// show prints a table panel's first rows, or a time series panel's
// series with their totals.
func show(w io.Writer, f *data.Frame, panelType string, rows int) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	defer tw.Flush()
	if panelType == "timeseries" {
		fmt.Fprintln(tw, "SERIES\tTOTAL\tPOINTS")
		for _, field := range f.Fields {
			if !field.Type().Numeric() {
				continue
			}
			total := 0.0
			for i := 0; i < field.Len(); i++ {
				if v, ok := field.ConcreteAt(i); ok {
					if x, ok := v.(float64); ok {
						total += x
					}
				}
			}
			name := field.Name
			if field.Config != nil && field.Config.DisplayNameFromDS != "" {
				name = field.Config.DisplayNameFromDS
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%d\n", name, total, field.Len())
		}
		return
	}
	var names []string
	for _, field := range f.Fields {
		names = append(names, strings.ToUpper(field.Name))
	}
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	n, _ := f.RowLen()
	for i := 0; i < n && i < rows; i++ {
		var cells []string
		for _, field := range f.Fields {
			v, ok := field.ConcreteAt(i)
			switch {
			case !ok:
				cells = append(cells, "")
			case field.Type().Time():
				cells = append(cells, v.(time.Time).Format(time.RFC3339))
			default:
				s := fmt.Sprint(v)
				if len(s) > 60 {
					s = s[:57] + "..."
				}
				cells = append(cells, s)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if n > rows {
		fmt.Fprintf(tw, "... %d rows in all\n", n)
	}
}
