package classify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Result is a name's classification; Source is SourceNone when nothing
// matched.
type Result struct {
	Service
	Source  string `json:"source"`
	Pattern string `json:"pattern,omitempty"`
}

// Classifier applies the user's contract patterns, then the catalog.
type Classifier struct {
	contracts, catalog Matcher
	fingerprint        string
}

// New builds a classifier. Contract patterns take precedence over the
// catalog's; a contract whose vendor the catalog lacks is classified by
// its own patterns.
func New(catalog []Entry, contracts []Contract) (*Classifier, error) {
	c := &Classifier{}
	h := sha256.New()
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

// Classify returns name's service and where it came from. An HTTP Host
// may carry a port, which is not part of the name.
func (c *Classifier) Classify(name string) Result {
	name = withoutPort(name)
	for _, m := range []*Matcher{&c.contracts, &c.catalog} {
		if mt := m.Match(name); mt != nil {
			return Result{Service: mt.Service, Source: mt.source, Pattern: mt.pattern}
		}
	}
	return Result{}
}

// Builtin is the classifier of the built-in catalog and the given
// contracts.
func Builtin(contracts []Contract) (*Classifier, error) {
	entries, err := Catalog()
	if err != nil {
		return nil, err
	}
	return New(entries, contracts)
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
