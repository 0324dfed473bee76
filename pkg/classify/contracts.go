package classify

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Contract is what the company pays for: a vendor's product, its seats
// and cost, and the names of the company's own tenants.
type Contract struct {
	Vendor      string   `yaml:"vendor" json:"vendor"`
	Product     string   `yaml:"product" json:"product"`
	Category    string   `yaml:"category" json:"category,omitempty"`
	Plan        string   `yaml:"plan" json:"plan,omitempty"`
	Seats       int      `yaml:"seats" json:"seats"`
	MonthlyCost float64  `yaml:"monthly_cost" json:"monthly_cost"`
	Currency    string   `yaml:"currency" json:"currency,omitempty"`
	Start       string   `yaml:"start" json:"start,omitempty"`
	Renewal     string   `yaml:"renewal" json:"renewal,omitempty"`
	Owner       string   `yaml:"owner" json:"owner,omitempty"`
	Patterns    []string `yaml:"patterns" json:"patterns,omitempty"`
	// File and Line locate the contract, for messages.
	File string `yaml:"-" json:"-"`
	Line int    `yaml:"-" json:"-"`
}

// Service is the service a contract's names belong to.
func (k Contract) Service() Service {
	return Service{Vendor: k.Vendor, Product: k.Product, Category: k.Category, Kind: KindSaaS}
}

var currency = regexp.MustCompile(`^[A-Z]{3}$`)

// LoadContracts reads a contracts file; every problem is named by file,
// line and field.
func LoadContracts(path string) ([]Contract, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("contracts: %w", err)
	}
	return ParseContracts(path, b)
}

// ParseContracts reads contracts from b, named name in messages.
func ParseContracts(name string, b []byte) ([]Contract, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	var list *yaml.Node
	if root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "contracts" {
				list = root.Content[i+1]
			}
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: want a top-level contracts: list", name, root.Line)
	}
	var out []Contract
	var problems []string
	for _, n := range list.Content {
		k := Contract{File: name, Line: n.Line}
		if n.Kind != yaml.MappingNode {
			problems = append(problems, fmt.Sprintf("%s:%d: a contract is a mapping of fields", name, n.Line))
			continue
		}
		fields := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			fields[n.Content[i].Value] = n.Content[i+1]
		}
		bad := func(field string, why string) {
			line := n.Line
			if f, ok := fields[field]; ok {
				line = f.Line
			}
			problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", name, line, field, why))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if field := n.Content[i].Value; !contractFields[field] {
				bad(field, "unknown field (known: vendor, product, category, plan, seats, monthly_cost, currency, start, renewal, owner, patterns)")
			}
		}
		if err := n.Decode(&k); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				for _, e := range te.Errors {
					// yaml says "line 3: cannot unmarshal ..."
					if rest, ok := strings.CutPrefix(e, "line "); ok {
						if line, msg, ok := strings.Cut(rest, ": "); ok {
							problems = append(problems, fmt.Sprintf("%s:%s: %s", name, line, msg))
							continue
						}
					}
					problems = append(problems, fmt.Sprintf("%s:%d: %s", name, n.Line, e))
				}
				continue
			}
			problems = append(problems, fmt.Sprintf("%s:%d: %v", name, n.Line, err))
			continue
		}
		k.File, k.Line = name, n.Line
		if strings.TrimSpace(k.Vendor) == "" {
			bad("vendor", "required")
		}
		if strings.TrimSpace(k.Product) == "" {
			k.Product = k.Vendor
		}
		if k.Category != "" && !Categories[k.Category] {
			bad("category", fmt.Sprintf("%q is not a known category", k.Category))
		}
		if k.Seats < 0 {
			bad("seats", "must be 0 or more")
		}
		if k.MonthlyCost < 0 {
			bad("monthly_cost", "must be 0 or more")
		}
		if k.MonthlyCost > 0 && !currency.MatchString(k.Currency) {
			bad("currency", fmt.Sprintf("%q: want an ISO 4217 code like JPY, USD, EUR", k.Currency))
		}
		var start, renewal time.Time
		var err error
		if k.Start != "" {
			if start, err = time.Parse(time.DateOnly, k.Start); err != nil {
				bad("start", fmt.Sprintf("%q: want a date like 2026-04-01", k.Start))
			}
		}
		if k.Renewal != "" {
			if renewal, err = time.Parse(time.DateOnly, k.Renewal); err != nil {
				bad("renewal", fmt.Sprintf("%q: want a date like 2027-03-31", k.Renewal))
			}
		}
		if !start.IsZero() && !renewal.IsZero() && !renewal.After(start) {
			bad("renewal", "must come after start")
		}
		for _, p := range k.Patterns {
			if _, err := parsePattern(p); err != nil {
				bad("patterns", err.Error())
			}
		}
		out = append(out, k)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return out, nil
}

var contractFields = map[string]bool{"vendor": true, "product": true, "category": true, "plan": true, "seats": true,
	"monthly_cost": true, "currency": true, "start": true, "renewal": true, "owner": true, "patterns": true}
