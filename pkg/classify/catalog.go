// Package classify turns server names into services: vendor, product,
// category and kind (SaaS use or infrastructure), from the built-in
// catalog and the user's contracts.
package classify

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
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
	SourcePlugin      = "plugin"
	SourceContract    = "contract"
	SourceUserCatalog = "usercatalog"
	SourceCatalog     = "catalog"
	SourceNone        = ""
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
	// Source says where the patterns came from: "doc: URL" (the vendor's
	// published network requirements), "domains: URL" (the vendor's own
	// domains, as its site names them). Required in the built-in catalog.
	Source string `yaml:"source"`
	// AsOf is the version or date of the vendor's list the patterns were
	// taken from, so the next update knows what it compares with.
	AsOf string `yaml:"as_of"`
	// File and Line locate the entry, for messages and for saying which
	// entry named a name.
	File string `yaml:"-"`
	Line int    `yaml:"-"`
}

var entryFields = []string{"vendor", "product", "category", "kind", "patterns", "ranges", "source", "as_of"}

//go:embed catalog/*.yaml
var catalogFiles embed.FS

// Catalog returns the built-in catalog's entries (every file of catalog/,
// in name order), parsed once per process (a classifier is rebuilt
// whenever the contracts change); callers share the slice and must not
// modify it.
var Catalog = sync.OnceValues(func() ([]Entry, error) {
	files, err := fs.Glob(catalogFiles, "catalog/*.yaml")
	if err != nil {
		return nil, err
	}
	var all []Entry
	var problems []string
	for _, f := range files {
		b, err := catalogFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		entries, err := parseCatalog(f, true, b)
		if err != nil {
			problems = append(problems, err.Error())
		}
		all = append(all, entries...)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return all, nil
})

// LoadCatalog reads a user's catalog file, in the built-in catalog's
// format (source and as_of optional); every problem is named by file and
// line.
func LoadCatalog(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return parseCatalog(path, false, b)
}

// parseCatalog reads the entries: list of b, named file in messages; the
// built-in catalog must say where each entry's patterns came from.
func parseCatalog(file string, builtin bool, b []byte) ([]Entry, error) {
	list, err := topList(file, b, "entries")
	if err != nil {
		return nil, err
	}
	if list == nil {
		if builtin {
			return nil, fmt.Errorf("%s: no entries list", file)
		}
		return nil, nil
	}
	out := make([]Entry, 0, len(list.Content))
	var problems []string
	for _, n := range list.Content {
		var e Entry
		p, ok := decodeFields(file, n, entryFields, &e)
		if ok {
			e.File, e.Line = file, n.Line
			e.check(p, builtin)
			out = append(out, e)
		}
		problems = append(problems, p.problems...)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return out, nil
}

func (e *Entry) check(p *fieldProblems, builtin bool) {
	switch {
	case e.Vendor == "":
		p.bad("vendor", "required")
	case e.Product == "":
		p.bad("product", "required")
	}
	if !Categories[e.Category] {
		p.bad("category", fmt.Sprintf("%q is not one of the known categories", e.Category))
	}
	if e.Kind != KindSaaS && e.Kind != KindInfra {
		p.bad("kind", fmt.Sprintf("%q: want saas (a person's use of the service) or infra (what devices do on their own, static assets)", e.Kind))
	}
	if len(e.Patterns) == 0 {
		p.bad("patterns", "none: name at least one")
	}
	for _, pt := range e.Patterns {
		if _, err := parsePattern(pt); err != nil {
			p.bad("patterns", err.Error())
		}
	}
	for _, r := range e.Ranges {
		if pr, err := netip.ParsePrefix(r); err != nil || pr != pr.Masked() {
			p.bad("ranges", fmt.Sprintf("%q: want a CIDR prefix like 52.112.0.0/14", r))
		}
	}
	if builtin && !strings.HasPrefix(e.Source, "doc: ") && !strings.HasPrefix(e.Source, "domains: ") {
		p.bad("source", fmt.Sprintf("%q: say where the patterns came from (doc: URL or domains: URL)", e.Source))
	}
}

// Where is the entry's place, as messages and saaslens classify name it.
func (e *Entry) Where() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// Reference is where the entry's patterns came from, with the list's
// version where known.
func (e *Entry) Reference() string {
	if e.AsOf == "" {
		return e.Source
	}
	return e.Source + " (as of " + e.AsOf + ")"
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

// AddressNames names server addresses by catalogs' ranges: the user's
// catalog before the built-in one, and within a catalog the most specific
// range, so a vendor's meeting-media /24 inside its company-wide /16 names
// the meetings.
type AddressNames struct {
	layers [][]addressSpan
}

// addressSpan is a run of addresses one name answers for. A catalog's
// ranges, nested or not, become disjoint spans sorted by address, so a
// lookup is a binary search however many ranges there are.
type addressSpan struct {
	first, last netip.Addr
	name        string
}

// CatalogAddressNames builds the namer of the built-in catalog's ranges.
func CatalogAddressNames() (*AddressNames, error) {
	entries, err := Catalog()
	if err != nil {
		return nil, err
	}
	return NewAddressNames(entries)
}

// NewAddressNames builds a namer over catalogs' entries, the first catalog
// first. Within a catalog, a range may lie inside another entry's, but
// one prefix claimed by two entries is an error: neither would be more
// specific.
func NewAddressNames(catalogs ...[]Entry) (*AddressNames, error) {
	a := &AddressNames{}
	for _, entries := range catalogs {
		type claim struct {
			prefix netip.Prefix
			entry  *Entry
		}
		var claims []claim
		owner := map[netip.Prefix]*Entry{}
		for i := range entries {
			e := &entries[i]
			for _, r := range e.Ranges {
				p := netip.MustParsePrefix(r)
				if o := owner[p]; o != nil {
					if o.Service != e.Service {
						return nil, fmt.Errorf("%s: range %s of %s / %s is claimed by %s / %s too (%s)", e.Where(), p, e.Vendor, e.Product, o.Vendor, o.Product, o.Where())
					}
					continue
				}
				owner[p] = e
				claims = append(claims, claim{p, e})
			}
		}
		if len(claims) == 0 {
			continue
		}
		// Outer prefixes before the ones inside them: in address order,
		// a prefix's start is never before an outer one's.
		sort.Slice(claims, func(i, j int) bool {
			if c := claims[i].prefix.Addr().Compare(claims[j].prefix.Addr()); c != 0 {
				return c < 0
			}
			return claims[i].prefix.Bits() < claims[j].prefix.Bits()
		})
		var spans []addressSpan
		type open struct {
			last netip.Addr
			name string
		}
		var stack []open
		var next netip.Addr // the first address no span covers yet
		emit := func(upTo netip.Addr, name string) {
			if next.IsValid() && next.Compare(upTo) <= 0 {
				spans = append(spans, addressSpan{next, upTo, name})
				next = upTo.Next()
			}
		}
		closeBefore := func(addr netip.Addr) {
			for len(stack) > 0 && (!addr.IsValid() || stack[len(stack)-1].last.Compare(addr) < 0) {
				top := stack[len(stack)-1]
				emit(top.last, top.name)
				stack = stack[:len(stack)-1]
			}
		}
		for _, c := range claims {
			first := c.prefix.Addr()
			closeBefore(first)
			if len(stack) > 0 {
				emit(first.Prev(), stack[len(stack)-1].name)
			}
			stack = append(stack, open{lastAddress(c.prefix), c.entry.RangeName()})
			next = first
		}
		closeBefore(netip.Addr{})
		a.layers = append(a.layers, spans)
	}
	return a, nil
}

// lastAddress is the highest address of p.
func lastAddress(p netip.Prefix) netip.Addr {
	a := p.Addr().As16()
	from := p.Bits()
	if p.Addr().Is4() {
		from += 96
	}
	for bit := from; bit < 128; bit++ {
		a[bit/8] |= 0x80 >> (bit % 8)
	}
	last := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		return last.Unmap()
	}
	return last
}

// Name returns the name of the service whose range holds addr.
func (a *AddressNames) Name(addr netip.Addr) (string, bool) {
	addr = addr.Unmap().WithZone("")
	for _, spans := range a.layers {
		i := sort.Search(len(spans), func(i int) bool { return spans[i].last.Compare(addr) >= 0 })
		if i < len(spans) && spans[i].first.Compare(addr) <= 0 {
			return spans[i].name, true
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
