package classify

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
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
	list, err := topList(name, b, "contracts")
	if list == nil || err != nil {
		return nil, err
	}
	var out []Contract
	var problems []string
	for _, n := range list.Content {
		k := Contract{File: name, Line: n.Line}
		p, ok := decodeFields(name, n, contractFields, &k)
		if !ok {
			problems = append(problems, p.problems...)
			continue
		}
		k.File, k.Line = name, n.Line
		if strings.TrimSpace(k.Vendor) == "" {
			p.bad("vendor", "required")
		}
		if strings.TrimSpace(k.Product) == "" {
			k.Product = k.Vendor
		}
		if k.Category != "" && !Categories[k.Category] {
			p.bad("category", fmt.Sprintf("%q is not a known category", k.Category))
		}
		if k.Seats < 0 {
			p.bad("seats", "must be 0 or more")
		}
		if k.MonthlyCost < 0 {
			p.bad("monthly_cost", "must be 0 or more")
		}
		if k.MonthlyCost > 0 && !currency.MatchString(k.Currency) {
			p.bad("currency", fmt.Sprintf("%q: want an ISO 4217 code like JPY, USD, EUR", k.Currency))
		}
		var start, renewal time.Time
		var err error
		if k.Start != "" {
			if start, err = time.Parse(time.DateOnly, k.Start); err != nil {
				p.bad("start", fmt.Sprintf("%q: want a date like 2026-04-01", k.Start))
			}
		}
		if k.Renewal != "" {
			if renewal, err = time.Parse(time.DateOnly, k.Renewal); err != nil {
				p.bad("renewal", fmt.Sprintf("%q: want a date like 2027-03-31", k.Renewal))
			}
		}
		if !start.IsZero() && !renewal.IsZero() && !renewal.After(start) {
			p.bad("renewal", "must come after start")
		}
		for _, pt := range k.Patterns {
			if _, err := parsePattern(pt); err != nil {
				p.bad("patterns", err.Error())
			}
		}
		problems = append(problems, p.problems...)
		out = append(out, k)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return out, nil
}

var contractFields = []string{"vendor", "product", "category", "plan", "seats", "monthly_cost", "currency", "start", "renewal", "owner", "patterns"}
