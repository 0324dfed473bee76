package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/saaslens/saaslens/pkg/classifierhost"
	"github.com/saaslens/saaslens/pkg/classify"
)

// classifyCommand prints the service of each name, so that a user can try
// a name before writing a contract pattern.
func classifyCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "one JSON object per name")
	contractsPath := fs.String("contracts", "", "contracts file whose patterns come before the catalogs")
	catalogPath := fs.String("catalog", "", "your own catalog file, whose entries come before the built-in ones")
	var plugins pluginFlags
	fs.Var(&plugins, "classifier-plugin", "classifier plugin asked first, as PATH or PATH=SHA256 (repeatable)")
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	var cfg classify.Config
	if *contractsPath != "" {
		if cfg.Contracts, err = classify.LoadContracts(*contractsPath); err != nil {
			fmt.Fprintln(stderr, "saaslens classify:", shown(err.Error()))
			return 1
		}
	}
	if *catalogPath != "" {
		if cfg.Catalog, err = classify.LoadCatalog(*catalogPath); err != nil {
			fmt.Fprintln(stderr, "saaslens classify:", shown(err.Error()))
			return 1
		}
	}
	for _, p := range plugins {
		h := classifierhost.New(p)
		defer h.Close()
		cfg.Plugins = append(cfg.Plugins, h)
	}
	c, err := classify.Builtin(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "saaslens classify:", err)
		return 1
	}
	if len(names) == 0 {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			if n := strings.TrimSpace(sc.Text()); n != "" {
				names = append(names, n)
			}
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintln(stderr, "saaslens classify: reading names:", err)
			return 1
		}
	}
	enc := json.NewEncoder(stdout)
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "NAME\tVENDOR\tPRODUCT\tCATEGORY\tKIND\tSOURCE\tPATTERN\tWHERE")
	}
	results, err := c.ClassifyAll(context.Background(), names)
	if err != nil {
		// The names still have the contracts' and the catalog's answers.
		fmt.Fprintln(stderr, "saaslens classify:", shown(err.Error()))
	}
	for i, n := range names {
		r := results[i]
		if *asJSON {
			enc.Encode(struct {
				Name string `json:"name"`
				classify.Result
			}{n, r})
			continue
		}
		source, dash := r.Source, func(s string) string {
			if s == "" {
				return "-"
			}
			return s
		}
		if source == "" {
			source = "none"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", shown(n), dash(r.Vendor), dash(r.Product), dash(r.Category), dash(r.Kind), source, dash(r.Pattern), dash(shown(r.Where)))
	}
	tw.Flush()
	if err != nil {
		return 1
	}
	return 0
}
