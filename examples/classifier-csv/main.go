// Command classifier-csv is an example SaaSLens classifier plugin. It
// knows two things the built-in catalog cannot: the company's own tenants,
// from a CSV (pattern,vendor,product,category; a pattern is a name or a
// .domain for it and every name under it), and its internal host names
// (under .internal, .corp, .lan or .local), which it calls Internal.
//
// The CSV is tenants.csv beside the binary, or SAASLENS_TENANTS_CSV; it is
// read again when it changes, and its content is the plugin's version, so
// SaaSLens relabels stored names after an edit. Build it, then list it in
// the datasource's classifierPlugins setting (or saaslens --classifier-plugin):
//
//	go build -o /usr/local/lib/saaslens/classifier-csv ./examples/classifier-csv
package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/saaslens/saaslens/pkg/classifiersdk"
)

func main() { classifiersdk.Serve(&tenants{path: csvPath()}) }

func csvPath() string {
	if p := os.Getenv("SAASLENS_TENANTS_CSV"); p != "" {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return "tenants.csv"
	}
	return exe[:strings.LastIndexByte(exe, os.PathSeparator)+1] + "tenants.csv"
}

type tenant struct{ pattern, vendor, product, category string }

type tenants struct {
	path    string
	mu      sync.Mutex
	mtime   time.Time
	version string
	list    []tenant
}

// reload reads the CSV when it changed; a missing file is an empty list.
func (t *tenants) reload() {
	info, err := os.Stat(t.path)
	if err != nil {
		t.list, t.version = nil, "no tenants file"
		return
	}
	if info.ModTime().Equal(t.mtime) {
		return
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		return // keep the last good list
	}
	var list []tenant
	for _, r := range rows {
		if len(r) == 4 && r[0] != "pattern" {
			list = append(list, tenant{strings.ToLower(strings.TrimSpace(r[0])), r[1], r[2], r[3]})
		}
	}
	sum := sha256.Sum256(b)
	t.list, t.mtime, t.version = list, info.ModTime(), hex.EncodeToString(sum[:8])
}

func (t *tenants) Describe() (string, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reload()
	return "classifier-csv", t.version
}

func (t *tenants) Classify(_ context.Context, names []string) ([]classifiersdk.Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reload()
	out := make([]classifiersdk.Result, len(names))
	for i, n := range names {
		n = strings.ToLower(n)
		for _, tn := range t.list {
			if n == tn.pattern || strings.HasPrefix(tn.pattern, ".") && (strings.HasSuffix(n, tn.pattern) || n == tn.pattern[1:]) {
				out[i] = classifiersdk.Result{Known: true, Vendor: tn.vendor, Product: tn.product, Category: tn.category, Kind: "saas"}
				break
			}
		}
		if out[i].Known {
			continue
		}
		for _, d := range []string{".internal", ".corp", ".lan", ".local"} {
			if strings.HasSuffix(n, d) {
				out[i] = classifiersdk.Result{Known: true, Vendor: "Internal", Product: strings.TrimSuffix(n, d), Category: "other", Kind: "infra"}
				break
			}
		}
	}
	return out, nil
}
