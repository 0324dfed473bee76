// Package catalogimport turns vendors' published endpoint lists into the
// catalog's entries, and says for every name of a list which service the
// catalog must give it, so that a test holds the catalog to the lists.
//
// Two kinds of list: a vendor's machine-readable one (Microsoft 365's
// endpoint JSON, read with rules that give each endpoint set and name its
// product and kind), and a list transcribed from a vendor's page into
// YAML (Transcribed), for vendors that publish theirs as prose.
package catalogimport

import (
	"fmt"
	"strings"
)

// Expectation is one name of a vendor's list and the service the catalog
// must give it.
type Expectation struct {
	// Name is as the list writes it: "outlook.office.com",
	// "*.sharepoint.com", "<tenant>-my.sharepoint.com".
	Name string
	// Section is where the list gives it (an endpoint set, a heading).
	Section                         string
	Vendor, Product, Category, Kind string
}

// Example is a name Name stands for: a wildcard or placeholder filled in.
func (e Expectation) Example() string { return Example(e.Name) }

// Example fills a list's wildcards and placeholders in with a name, so
// that "*.example.com" and "<tenant>.example.com" give a name to classify.
func Example(name string) string {
	name = strings.ReplaceAll(name, "<tenant>", "contoso")
	return strings.ReplaceAll(name, "*", "any")
}

// List is a vendor's published list as the project keeps it.
type List struct {
	// Title names the list, Doc is where the vendor publishes it, and
	// Version the version or date of the copy the names come from.
	Title, Doc, Version string
	Names               []Expectation
}

// pattern turns a list's name into a catalog pattern: a placeholder for
// the customer's own label becomes a wildcard ("<tenant>.x" and
// "<tenant>-my.x" become "*.x" and "*-my.x"), and a placeholder deeper
// down ("autodiscover.<tenant>.x") makes the pattern the domain under it.
func pattern(name string) (string, error) {
	labels := strings.Split(strings.ToLower(strings.TrimSpace(name)), ".")
	for i, l := range labels {
		if !strings.Contains(l, "<tenant>") {
			continue
		}
		if i > 0 {
			return "*." + strings.Join(labels[i+1:], "."), nil
		}
		labels[0] = strings.ReplaceAll(l, "<tenant>", "*")
	}
	p := strings.Join(labels, ".")
	if strings.ContainsAny(p, "<> /:") || p == "" {
		return "", fmt.Errorf("%q is not a name the catalog can hold", name)
	}
	return p, nil
}
