package classify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/saaslens/saaslens/pkg/classifiersdk"
)

// Result is a name's classification; Source is SourceNone when nothing
// matched.
type Result struct {
	Service
	Source  string `json:"source"`
	Pattern string `json:"pattern,omitempty"`
}

// Plugin is a classifier plugin as the classifier uses it
// (classifiersdk.Host).
type Plugin interface {
	// Identity changes whenever the plugin's answers may.
	Identity() string
	Classify(ctx context.Context, names []string) ([]classifiersdk.Result, error)
}

// Classifier applies its plugins, then the user's contract patterns, then
// the catalog.
type Classifier struct {
	plugins            []Plugin
	contracts, catalog Matcher
	fingerprint        string
}

// New builds a classifier. Plugins come first, in order, then contract
// patterns, then the catalog's; a contract whose vendor the catalog lacks
// is classified by its own patterns.
func New(catalog []Entry, contracts []Contract, plugins ...Plugin) (*Classifier, error) {
	c := &Classifier{plugins: plugins}
	h := sha256.New()
	for _, p := range plugins {
		fmt.Fprintf(h, "plugin %q\n", p.Identity())
	}
	known := map[[2]string]string{} // vendor, product → category
	vendorCategory := map[string]string{}
	for _, e := range catalog {
		for _, p := range e.Patterns {
			if err := c.catalog.Add(p, e.Service, SourceCatalog); err != nil {
				return nil, fmt.Errorf("catalog line %d: %w", e.Line, err)
			}
		}
		known[[2]string{e.Vendor, e.Product}] = e.Category
		if _, ok := vendorCategory[e.Vendor]; !ok {
			vendorCategory[e.Vendor] = e.Category
		}
		fmt.Fprintf(h, "catalog %q %q %q %q %q\n", e.Vendor, e.Product, e.Category, e.Kind, e.Patterns)
	}
	for _, k := range contracts {
		svc := k.Service()
		if svc.Category == "" {
			svc.Category = known[[2]string{svc.Vendor, svc.Product}]
		}
		if svc.Category == "" {
			svc.Category = vendorCategory[svc.Vendor]
		}
		if svc.Category == "" {
			svc.Category = "other"
		}
		for _, p := range k.Patterns {
			if err := c.contracts.Add(p, svc, SourceContract); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", k.File, k.Line, err)
			}
		}
		fmt.Fprintf(h, "contract %q %q %q %q\n", svc.Vendor, svc.Product, svc.Category, k.Patterns)
	}
	c.fingerprint = hex.EncodeToString(h.Sum(nil))[:16]
	return c, nil
}

// Fingerprint changes whenever what the classifier would answer may: the
// store reclassifies every name when it differs from the one it used.
func (c *Classifier) Fingerprint() string { return c.fingerprint }

// ClassifyAll classifies names, asking the plugins first. A plugin that
// fails leaves its names to the contracts and the catalog; the error says
// which plugin and why, and the results are complete either way.
func (c *Classifier) ClassifyAll(ctx context.Context, names []string) ([]Result, error) {
	out := make([]Result, len(names))
	open := make([]int, len(names)) // indexes no plugin answered yet
	for i := range open {
		open[i] = i
	}
	var errs []error
	for _, p := range c.plugins {
		if len(open) == 0 {
			break
		}
		ask := make([]string, len(open))
		for k, i := range open {
			ask[k] = withoutPort(names[i])
		}
		answers, err := p.Classify(ctx, ask)
		if err == nil && len(answers) != len(ask) {
			err = fmt.Errorf("classifier plugin answered %d results for %d names", len(answers), len(ask))
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		still := open[:0]
		for k, i := range open {
			if r, ok := fromPlugin(answers[k]); ok {
				out[i] = r
			} else {
				still = append(still, i)
			}
		}
		open = still
	}
	for _, i := range open {
		out[i] = c.Classify(names[i])
	}
	return out, errors.Join(errs...)
}

// fromPlugin checks a plugin's answer: a vendor is needed, the kind and
// category must be known ones (else saas and other).
func fromPlugin(r classifiersdk.Result) (Result, bool) {
	if !r.Known || strings.TrimSpace(r.Vendor) == "" {
		return Result{}, false
	}
	out := Result{Service: Service{Vendor: r.Vendor, Product: r.Product, Category: r.Category, Kind: r.Kind}, Source: SourcePlugin}
	if out.Product == "" {
		out.Product = out.Vendor
	}
	if !Categories[out.Category] {
		out.Category = "other"
	}
	if out.Kind != KindSaaS && out.Kind != KindInfra {
		out.Kind = KindSaaS
	}
	return out, true
}

// Classify returns name's service from the contracts and the catalog (not
// the plugins: see ClassifyAll). An HTTP Host may carry a port, which is
// not part of the name.
func (c *Classifier) Classify(name string) Result {
	name = withoutPort(name)
	for _, m := range []*Matcher{&c.contracts, &c.catalog} {
		if mt := m.Match(name); mt != nil {
			return Result{Service: mt.Service, Source: mt.source, Pattern: mt.pattern}
		}
	}
	return Result{}
}

// Builtin is the classifier of the built-in catalog, the given contracts
// and plugins.
func Builtin(contracts []Contract, plugins ...Plugin) (*Classifier, error) {
	entries, err := Catalog()
	if err != nil {
		return nil, err
	}
	return New(entries, contracts, plugins...)
}

// withoutPort strips ":port" from "host:port" and "[v6]:port".
func withoutPort(name string) string {
	i := strings.LastIndexByte(name, ':')
	if i < 0 {
		return name
	}
	if strings.HasPrefix(name, "[") {
		if j := strings.IndexByte(name, ']'); j > 0 {
			return name[1:j]
		}
		return name
	}
	if strings.IndexByte(name[:i], ':') >= 0 {
		return name // a bare IPv6 address
	}
	for _, ch := range name[i+1:] {
		if ch < '0' || ch > '9' {
			return name
		}
	}
	return name[:i]
}
