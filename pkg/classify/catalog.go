// Package classify turns server names into services: vendor, product,
// category and kind (SaaS use or infrastructure), from the built-in
// catalog and the user's contracts.
package classify

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Service is what a server name belongs to.
type Service struct {
	Vendor   string `json:"vendor" yaml:"vendor"`
	Product  string `json:"product" yaml:"product"`
	Category string `json:"category" yaml:"category"`
	// Kind is KindSaaS or KindInfra.
	Kind string `json:"kind" yaml:"kind"`
}

// Kinds of service.
const (
	KindSaaS  = "saas"
	KindInfra = "infra"
)

// Sources of a classification, in precedence order.
const (
	SourcePlugin   = "plugin"
	SourceContract = "contract"
	SourceCatalog  = "catalog"
	SourceNone     = ""
)

// Categories are the categories an entry may have; a new one is added
// here, reviewed like the catalog.
var Categories = map[string]bool{
	"accounting": true, "ads": true, "ai": true, "analytics": true, "analytics-trackers": true, "backup": true,
	"cdn": true, "certificates": true, "chat": true, "cloud-platform": true, "communications-api": true,
	"consumer": true, "crm": true, "design": true, "dev-tools": true, "dns": true, "e-commerce": true,
	"e-signature": true, "erp": true, "forms": true, "groupware": true, "hr": true, "identity": true,
	"integration": true, "itsm": true, "learning": true, "mail": true, "marketing": true, "meetings": true,
	"monitoring": true, "music": true, "news": true, "office-suite": true, "os-update": true,
	"password-manager": true, "payments": true, "procurement": true, "productivity": true,
	"project-management": true, "remote-access": true, "security": true, "social": true, "storage": true,
	"support": true, "telecom": true, "telemetry": true, "time": true, "travel-expense": true, "video": true,
	"web": true, "web-builder": true, "web-hosting": true, "other": true,
}

// Entry is one catalog line: a service and the names that are its.
type Entry struct {
	Service  `yaml:",inline"`
	Patterns []string `yaml:"patterns"`
	// Ranges are the service's published address ranges (CIDR), for
	// traffic that carries no name: it is named by the entry's first
	// pattern (name_source "range").
	Ranges []string `yaml:"ranges"`
	Source string   `yaml:"source"`
	// Line is where the entry is in its file, for error messages.
	Line int `yaml:"-"`
}

//go:embed catalog.yaml
var catalogYAML []byte

// Catalog returns the built-in catalog's entries, parsed once per process
// (a classifier is rebuilt whenever the contracts change); callers share
// the slice and must not modify it.
var Catalog = sync.OnceValues(func() ([]Entry, error) { return parseCatalog("catalog.yaml", catalogYAML) })

func parseCatalog(name string, b []byte) ([]Entry, error) {
	var doc struct {
		Entries yaml.Node `yaml:"entries"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Entries.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: no entries list", name)
	}
	out := make([]Entry, 0, len(doc.Entries.Content))
	var problems []string
	for _, n := range doc.Entries.Content {
		var e Entry
		if err := n.Decode(&e); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", name, n.Line, err))
			continue
		}
		e.Line = n.Line
		if err := e.check(); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", name, n.Line, err))
		}
		out = append(out, e)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return out, nil
}

func (e *Entry) check() error {
	switch {
	case e.Vendor == "" || e.Product == "":
		return errors.New("vendor and product are required")
	case !Categories[e.Category]:
		return fmt.Errorf("category %q is not one of the known categories", e.Category)
	case e.Kind != KindSaaS && e.Kind != KindInfra:
		return fmt.Errorf("kind %q: want saas or infra", e.Kind)
	case len(e.Patterns) == 0:
		return errors.New("no patterns")
	case !strings.HasPrefix(e.Source, "doc: ") && !strings.HasPrefix(e.Source, "domains: "):
		return fmt.Errorf("source %q: say where the patterns came from (doc: URL or domains: URL)", e.Source)
	}
	for _, p := range e.Patterns {
		if _, err := parsePattern(p); err != nil {
			return err
		}
	}
	for _, r := range e.Ranges {
		p, err := netip.ParsePrefix(r)
		if err != nil || p != p.Masked() {
			return fmt.Errorf("range %q: want a CIDR prefix like 52.112.0.0/14", r)
		}
	}
	return nil
}

// RangeName is the name traffic to one of the entry's ranges gets: its
// first pattern, as a name.
func (e *Entry) RangeName() string {
	p := strings.TrimPrefix(strings.TrimPrefix(e.Patterns[0], "*."), ".")
	if i := strings.IndexByte(p, '*'); i >= 0 {
		p = p[strings.IndexByte(p, '.')+1:]
	}
	return p
}

// AddressNames names server addresses by the catalog's ranges, the most
// specific prefix first.
type AddressNames struct {
	ranges []addressRange
}

type addressRange struct {
	prefix netip.Prefix
	name   string
}

// CatalogAddressNames builds the namer of the built-in catalog's ranges.
func CatalogAddressNames() (*AddressNames, error) {
	entries, err := Catalog()
	if err != nil {
		return nil, err
	}
	return NewAddressNames(entries)
}

// NewAddressNames builds a namer over entries' ranges; a range claimed by
// two entries, or overlapping another's, is an error.
func NewAddressNames(entries []Entry) (*AddressNames, error) {
	a := &AddressNames{}
	owner := map[netip.Prefix]string{}
	for _, e := range entries {
		for _, r := range e.Ranges {
			p := netip.MustParsePrefix(r)
			for q, o := range owner {
				if q.Overlaps(p) {
					return nil, fmt.Errorf("catalog line %d: range %s of %s / %s overlaps %s of %s", e.Line, p, e.Vendor, e.Product, q, o)
				}
			}
			owner[p] = e.Vendor + " / " + e.Product
			a.ranges = append(a.ranges, addressRange{p, e.RangeName()})
		}
	}
	sort.Slice(a.ranges, func(i, j int) bool { return a.ranges[i].prefix.Bits() > a.ranges[j].prefix.Bits() })
	return a, nil
}

// Name returns the name of the service whose range holds addr.
func (a *AddressNames) Name(addr netip.Addr) (string, bool) {
	addr = addr.Unmap()
	for _, r := range a.ranges {
		if r.prefix.Contains(addr) {
			return r.name, true
		}
	}
	return "", false
}

// Vendors lists the catalog's distinct vendors, sorted.
func Vendors(entries []Entry) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range entries {
		if !seen[e.Vendor] {
			seen[e.Vendor] = true
			out = append(out, e.Vendor)
		}
	}
	sort.Strings(out)
	return out
}
