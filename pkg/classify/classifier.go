package classify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/saaslens/saaslens/pkg/classifiersdk"
	"golang.org/x/net/publicsuffix"
)

// Result is a name's classification; Source is SourceNone when nothing
// matched.
type Result struct {
	Service
	Source  string `json:"source"`
	Pattern string `json:"pattern,omitempty"`
	// Where names what answered: the file and line of the catalog entry
	// or contract, or the plugin.
	Where string `json:"where,omitempty"`
	// Reference is where a catalog entry's patterns came from.
	Reference string `json:"reference,omitempty"`
}

// Plugin is a classifier plugin as the classifier uses it
// (classifierhost.Plugin).
type Plugin interface {
	// Identity changes whenever the plugin's answers may.
	Identity() string
	Classify(ctx context.Context, names []string) ([]classifiersdk.Result, error)
}

// Classifier applies its plugins, then the user's contract patterns, then
// the user's catalog, then the built-in catalog.
type Classifier struct {
	plugins                  []Plugin
	contracts, user, builtin Matcher
	fingerprint              string
}

// Config is what the user adds to the built-in catalog, in precedence
// order: plugins, contracts, then the user's own catalog entries.
type Config struct {
	Plugins   []Plugin
	Contracts []Contract
	// Catalog holds the entries of the user's catalog file (LoadCatalog).
	Catalog []Entry
}

// New builds a classifier over the built-in entries and what cfg adds.
// Plugins come first, in order, then contract patterns, then the user's
// catalog, then the built-in one; a contract whose vendor no catalog
// knows is classified by its own patterns.
func New(builtin []Entry, cfg Config) (*Classifier, error) {
	c := &Classifier{plugins: cfg.Plugins}
	h := sha256.New()
	for _, p := range cfg.Plugins {
		fmt.Fprintf(h, "plugin %q\n", p.Identity())
	}
	known := map[[2]string]string{} // vendor, product → category
	vendorCategory := map[string]string{}
	for _, set := range []struct {
		entries []Entry
		into    *Matcher
		source  string
	}{{cfg.Catalog, &c.user, SourceUserCatalog}, {builtin, &c.builtin, SourceCatalog}} {
		for _, e := range set.entries {
			for _, p := range e.Patterns {
				if err := set.into.Add(p, e.Service, Origin{Source: set.source, Where: e.Where(), Reference: e.Reference()}); err != nil {
					return nil, fmt.Errorf("%s: %w", e.Where(), err)
				}
			}
			if _, ok := known[[2]string{e.Vendor, e.Product}]; !ok {
				known[[2]string{e.Vendor, e.Product}] = e.Category
			}
			if _, ok := vendorCategory[e.Vendor]; !ok {
				vendorCategory[e.Vendor] = e.Category
			}
			fmt.Fprintf(h, "%s %q %q %q %q %q\n", set.source, e.Vendor, e.Product, e.Category, e.Kind, e.Patterns)
		}
	}
	for _, k := range cfg.Contracts {
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
		where := fmt.Sprintf("%s:%d", k.File, k.Line)
		for _, p := range k.Patterns {
			if err := c.contracts.Add(p, svc, Origin{Source: SourceContract, Where: where}); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
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
				r.Where = p.Identity()
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

// Classify returns name's service from the contracts and the catalogs
// (not the plugins: see ClassifyAll). An HTTP Host may carry a port,
// which is not part of the name.
func (c *Classifier) Classify(name string) Result {
	name = normalName(withoutPort(name))
	for _, m := range [...]*Matcher{&c.contracts, &c.user, &c.builtin} {
		if mt := m.match(name); mt != nil {
			return Result{Service: mt.Service, Source: mt.Source, Pattern: mt.pattern, Where: mt.Where, Reference: mt.Reference}
		}
	}
	return Result{}
}

// Builtin is the classifier of the built-in catalog and what cfg adds.
func Builtin(cfg Config) (*Classifier, error) {
	entries, err := Catalog()
	if err != nil {
		return nil, err
	}
	return New(entries, cfg)
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

// Domain is the registrable domain a server name is under (the public
// suffix list's eTLD+1: "unknown.example.co.jp" is under "example.co.jp"),
// so that names no catalog knows group by whoever registered them. An
// address, a name that is a public suffix itself, a name under a suffix
// no registry hands out (wiki.acme.internal, printer.local), or no name
// has none: nobody on the Internet runs it.
func Domain(name string) string {
	name = strings.TrimSuffix(strings.ToLower(withoutPort(name)), ".")
	if name == "" || strings.IndexByte(name, '.') < 0 {
		return ""
	}
	if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return ""
	}
	// The list's default rule makes any last label a suffix; one that is
	// not an ICANN top-level domain and not on the list's private part is
	// a local name.
	if suffix, icann := publicsuffix.PublicSuffix(name); !icann && strings.IndexByte(suffix, '.') < 0 {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return ""
	}
	return d
}
