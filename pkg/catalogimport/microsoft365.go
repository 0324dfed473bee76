package catalogimport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// endpointSet is one entry of the Microsoft 365 endpoint web service's
// answer (https://endpoints.office.com/endpoints/worldwide).
type endpointSet struct {
	ID                     int      `json:"id"`
	ServiceArea            string   `json:"serviceArea"`
	ServiceAreaDisplayName string   `json:"serviceAreaDisplayName"`
	URLs                   []string `json:"urls"`
	IPs                    []string `json:"ips"`
	TCPPorts               string   `json:"tcpPorts"`
	UDPPorts               string   `json:"udpPorts"`
	ExpressRoute           bool     `json:"expressRoute"`
	Category               string   `json:"category"`
	Required               bool     `json:"required"`
	Notes                  string   `json:"notes"`
}

// m365Rules says how the endpoint sets become catalog entries (see
// pkg/classify/lists/microsoft365-rules.yaml).
type m365Rules struct {
	List     string                 `yaml:"list"`
	Doc      string                 `yaml:"doc"`
	Version  string                 `yaml:"version"`
	Products map[string]m365Product `yaml:"products"`
	Sets     map[int]string         `yaml:"sets"`
	Names    []m365Name             `yaml:"names"`
	Earlier  []struct {
		Version string   `yaml:"version"`
		Set     int      `yaml:"set"`
		Names   []string `yaml:"names"`
	} `yaml:"earlier"`
}

type m365Product struct {
	Category  string `yaml:"category"`
	Kind      string `yaml:"kind"`
	RangeName string `yaml:"range_name"`
}

type m365Name struct {
	Name     string `yaml:"name"`
	Product  string `yaml:"product"`
	Why      string `yaml:"why"`
	Vendor   string `yaml:"vendor"`
	Category string `yaml:"category"`
	Kind     string `yaml:"kind"`
}

// microsoft is the vendor of every name the rules do not give to another.
const microsoft = "Microsoft"

// listed is a name as the importer gathered it: where the list gives it,
// and its product.
type listed struct {
	name    string
	section string
	sets    []int
	product string
	why     string
	// elsewhere is the service of another vendor's entry that answers
	// for the name; the importer leaves such a name out.
	elsewhere *Expectation
}

// Microsoft365 reads the rules and the endpoint web service's JSON, and
// returns the list (each name with the service the catalog must give it)
// and the catalog file made of it.
func Microsoft365(rulesYAML, endpointsJSON []byte) (List, []byte, error) {
	var r m365Rules
	dec := yaml.NewDecoder(bytes.NewReader(rulesYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return List{}, nil, fmt.Errorf("rules: %w", err)
	}
	var sets []endpointSet
	if err := json.Unmarshal(endpointsJSON, &sets); err != nil {
		return List{}, nil, fmt.Errorf("endpoints: %w", err)
	}
	for name, p := range r.Products {
		if p.Category == "" || (p.Kind != "saas" && p.Kind != "infra") {
			return List{}, nil, fmt.Errorf("rules: product %q: give its category and kind (saas or infra)", name)
		}
	}
	productOf := func(set int) (string, error) {
		p, ok := r.Sets[set]
		if !ok {
			return "", fmt.Errorf("rules: endpoint set %d has no product; add it under sets", set)
		}
		if _, ok := r.Products[p]; !ok {
			return "", fmt.Errorf("rules: endpoint set %d: product %q is not under products", set, p)
		}
		return p, nil
	}

	// Every endpoint set needs a product, even one whose names other
	// entries answer: a set the rules do not know is new, to review.
	for _, s := range sets {
		if _, err := productOf(s.ID); err != nil {
			return List{}, nil, err
		}
	}

	// Gather every name with the sets that list it, the current list's
	// first, then the earlier versions'.
	byName := map[string]*listed{}
	var order []string
	add := func(name, section string, set int) {
		key := strings.ToLower(strings.TrimSpace(name))
		l := byName[key]
		if l == nil {
			l = &listed{name: strings.TrimSpace(name), section: section}
			byName[key] = l
			order = append(order, key)
		}
		for _, s := range l.sets {
			if s == set {
				return
			}
		}
		l.sets = append(l.sets, set)
	}
	for _, s := range sets {
		for _, u := range s.URLs {
			add(u, fmt.Sprintf("set %d (%s)", s.ID, s.ServiceAreaDisplayName), s.ID)
		}
	}
	for _, e := range r.Earlier {
		for _, u := range e.Names {
			add(u, fmt.Sprintf("set %d, listed until version %s", e.Set, e.Version), e.Set)
		}
	}

	rules := map[string]m365Name{}
	for _, n := range r.Names {
		key := strings.ToLower(n.Name)
		if _, dup := rules[key]; dup {
			return List{}, nil, fmt.Errorf("rules: name %s is given twice", n.Name)
		}
		if byName[key] == nil {
			return List{}, nil, fmt.Errorf("rules: name %s is in no endpoint set: the list dropped it; move it under earlier or remove it", n.Name)
		}
		rules[key] = n
	}

	// Each name's product: its rule, else its sets', which must agree.
	for _, key := range order {
		l := byName[key]
		if n, ok := rules[key]; ok {
			l.why = n.Why
			if n.Vendor != "" {
				if n.Product == "" || n.Category == "" || n.Kind == "" {
					return List{}, nil, fmt.Errorf("rules: name %s: another vendor's name needs its product, category and kind", n.Name)
				}
				l.elsewhere = &Expectation{Vendor: n.Vendor, Product: n.Product, Category: n.Category, Kind: n.Kind}
				continue
			}
			if _, ok := r.Products[n.Product]; !ok {
				return List{}, nil, fmt.Errorf("rules: name %s: product %q is not under products", n.Name, n.Product)
			}
			l.product = n.Product
			continue
		}
		for _, set := range l.sets {
			p, err := productOf(set)
			if err != nil {
				return List{}, nil, err
			}
			if l.product != "" && l.product != p {
				return List{}, nil, fmt.Errorf("rules: %s is in sets %v, of %s and %s: give it a rule under names", l.name, l.sets, l.product, p)
			}
			l.product = p
		}
	}

	list := List{Title: r.List, Doc: r.Doc, Version: r.Version}
	patterns := map[string][]string{} // product → patterns, with comments
	claimed := map[string]string{}    // pattern → name that gave it
	for _, key := range order {
		l := byName[key]
		if l.elsewhere != nil {
			e := *l.elsewhere
			e.Name, e.Section = l.name, l.section
			list.Names = append(list.Names, e)
			continue
		}
		p := r.Products[l.product]
		list.Names = append(list.Names, Expectation{Name: l.name, Section: l.section, Vendor: microsoft, Product: l.product, Category: p.Category, Kind: p.Kind})
		pt, err := pattern(l.name)
		if err != nil {
			return List{}, nil, err
		}
		if other, dup := claimed[pt]; dup {
			if rp := byName[strings.ToLower(other)]; rp.product != l.product {
				return List{}, nil, fmt.Errorf("rules: %s and %s are both %s, of %s and %s: give one a rule under names", other, l.name, pt, rp.product, l.product)
			}
			continue
		}
		claimed[pt] = l.name
		comment := "set " + joinInts(l.sets)
		if len(l.sets) > 1 {
			comment = "sets " + joinInts(l.sets)
		}
		if l.why != "" {
			comment += ": " + l.why
		}
		patterns[l.product] = append(patterns[l.product], fmt.Sprintf("%q # %s", pt, comment))
	}

	// Address ranges, each to the product of the first set listing it.
	ranges := map[string][]string{}
	owner := map[netip.Prefix]string{}
	for _, s := range sets {
		if len(s.IPs) == 0 {
			continue
		}
		p, err := productOf(s.ID)
		if err != nil {
			return List{}, nil, err
		}
		for _, ip := range s.IPs {
			pr, err := netip.ParsePrefix(ip)
			if err != nil || pr != pr.Masked() {
				return List{}, nil, fmt.Errorf("endpoints: set %d: %q is not a CIDR prefix", s.ID, ip)
			}
			if _, dup := owner[pr]; dup {
				continue
			}
			owner[pr] = p
			ranges[p] = append(ranges[p], pr.String())
		}
	}

	return list, m365Catalog(r, patterns, ranges), nil
}

// m365Catalog writes the catalog file: an entry per product, patterns
// and ranges in the list's order, each pattern saying which endpoint sets
// gave it.
func m365Catalog(r m365Rules, patterns, ranges map[string][]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `# Generated by go run ./tools/catalogimport from %s, version %s
# (pkg/classify/lists/microsoft365-worldwide.json) and the rules beside it
# (pkg/classify/lists/microsoft365-rules.yaml). Do not edit: change the
# rules or the list and run it again.
entries:
`, r.List, r.Version)
	products := make([]string, 0, len(patterns))
	for p := range patterns {
		products = append(products, p)
	}
	sort.Strings(products)
	for _, name := range products {
		p := r.Products[name]
		fmt.Fprintf(&b, "- vendor: %s\n  product: %s\n  category: %s\n  kind: %s\n  patterns:\n", microsoft, name, p.Category, p.Kind)
		list := patterns[name]
		if p.RangeName != "" {
			// The first pattern names traffic to the ranges that carries
			// no name.
			list = append([]string{fmt.Sprintf("%q # names the product's address ranges", p.RangeName)}, without(list, p.RangeName)...)
		}
		for _, pt := range list {
			fmt.Fprintf(&b, "  - %s\n", pt)
		}
		if rs := ranges[name]; len(rs) > 0 {
			fmt.Fprintf(&b, "  ranges: [%s]\n", quoteAll(rs))
		}
		fmt.Fprintf(&b, "  source: %q\n  as_of: %q\n", "doc: "+r.Doc, r.Version)
	}
	return b.Bytes()
}

// without drops the pattern named (quoted at the start of its line).
func without(list []string, name string) []string {
	out := list[:0:0]
	for _, l := range list {
		if !strings.HasPrefix(l, strconv.Quote(name)+" ") {
			out = append(out, l)
		}
	}
	return out
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func joinInts(list []int) string {
	s := make([]string, len(list))
	for i, n := range list {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
