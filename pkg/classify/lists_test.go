package classify

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/catalogimport"
	"github.com/saaslens/saaslens/pkg/internal/golden"
)

// vendorLists reads every vendor list kept in lists/: Microsoft 365's
// endpoint JSON through its rules, and the lists transcribed from vendors'
// pages.
func vendorLists(t testing.TB) []catalogimport.List {
	t.Helper()
	lists := []catalogimport.List{microsoft365(t)}
	files, err := filepath.Glob("lists/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "-rules.yaml") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		l, err := catalogimport.Transcribed(f, b)
		if err != nil {
			t.Fatal(err)
		}
		lists = append(lists, l)
	}
	return lists
}

func microsoft365(t testing.TB) catalogimport.List {
	t.Helper()
	l, _ := microsoft365Catalog(t)
	return l
}

func microsoft365Catalog(t testing.TB) (catalogimport.List, []byte) {
	t.Helper()
	rules, err := os.ReadFile("lists/microsoft365-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	endpoints, err := os.ReadFile("lists/microsoft365-worldwide.json")
	if err != nil {
		t.Fatal(err)
	}
	l, catalog, err := catalogimport.Microsoft365(rules, endpoints)
	if err != nil {
		t.Fatal(err)
	}
	return l, catalog
}

// Every name of every vendor list kept in lists/ gets the service the list
// says: its vendor, product, category and kind. A name another entry
// takes (a wider pattern of another vendor, a CDN's) shows here.
func TestVendorListsClassifyAsTheySay(t *testing.T) {
	c := builtin(t, nil)
	for _, l := range vendorLists(t) {
		t.Run(l.Title, func(t *testing.T) {
			want, got := map[string]string{}, map[string]string{}
			for _, e := range l.Names {
				key := e.Name + " (" + e.Section + ")"
				want[key] = strings.Join([]string{e.Vendor, e.Product, e.Category, e.Kind}, " / ")
				r := c.Classify(e.Example())
				got[key] = strings.Join([]string{r.Vendor, r.Product, r.Category, r.Kind}, " / ")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s, version %s (-list +catalog):\n%s", l.Title, l.Version, diff)
			}
		})
	}
}

func googleRanges(t testing.TB) (catalogimport.AddressList, []byte) {
	t.Helper()
	goog, err := os.ReadFile("lists/google-goog.json")
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := os.ReadFile("lists/google-cloud.json")
	if err != nil {
		t.Fatal(err)
	}
	l, catalog, err := catalogimport.GoogleRanges(goog, cloud)
	if err != nil {
		t.Fatal(err)
	}
	return l, catalog
}

// The catalog files made of the vendors' machine-readable lists are the
// importer's output for the lists kept in lists/: none was changed without
// running go run ./tools/catalogimport.
func TestImportedCatalogsAreUpToDate(t *testing.T) {
	_, m365 := microsoft365Catalog(t)
	_, google := googleRanges(t)
	for file, want := range map[string][]byte{"catalog/microsoft365.yaml": m365, "catalog/google-ranges.yaml": google} {
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the importer makes of lists/: run go run ./tools/catalogimport\n%s", file, cmp.Diff(string(want), string(got)))
		}
	}
}

// Every address of Google's own ranges is named after Google, as the list
// says or by a Google product's more specific range (Meet's media, Public
// DNS); no address of Google Cloud's customers is named after Google's
// services.
func TestGoogleRangesNameAsTheySay(t *testing.T) {
	l, _ := googleRanges(t)
	names, err := CatalogAddressNames()
	if err != nil {
		t.Fatal(err)
	}
	c := builtin(t, nil)
	if r := c.Classify(l.Name); r.Vendor != l.Vendor || r.Product != l.Product || r.Kind != KindInfra {
		t.Errorf("%s classifies as %+v, want %s / %s, infra", l.Name, r.Service, l.Vendor, l.Product)
	}
	var wrong []string
	for _, p := range l.Ranges {
		for _, addr := range []netip.Addr{p.Addr(), lastAddress(p)} {
			name, _ := names.Name(addr)
			if r := c.Classify(name); r.Vendor != l.Vendor {
				wrong = append(wrong, fmt.Sprintf("%s (of %s): named %q, %s", addr, p, name, r.Vendor))
			}
		}
	}
	for _, p := range l.Excluded {
		for _, addr := range []netip.Addr{p.Addr(), lastAddress(p)} {
			if name, ok := names.Name(addr); ok && name == l.Name {
				wrong = append(wrong, fmt.Sprintf("%s (Google Cloud's %s): named %q", addr, p, name))
			}
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%s of %s: %d of %d ranges:\n%s", l.Title, l.Version, len(wrong), len(l.Ranges)+len(l.Excluded), strings.Join(wrong, "\n"))
	}
	meet, _ := names.Name(netip.MustParseAddr("74.125.250.9"))
	dns, _ := names.Name(netip.MustParseAddr("8.8.8.8"))
	other, _ := names.Name(netip.MustParseAddr("74.125.251.9"))
	if got := []string{meet, dns, other}; !cmp.Equal(got, []string{"meet.google.com", "dns.google", l.Name}) {
		t.Errorf("nested ranges: %q", got)
	}
}

var update = flag.Bool("update", false, "rewrite docs/classifying.md's coverage table from the vendors' lists")

// coverageMarkers bound docs/classifying.md's table of the vendors' lists.
const coverageStart, coverageEnd = "<!-- coverage: generated by go test ./pkg/classify -run TestCoverageTable -update -->\n", "<!-- /coverage -->\n"

// docs/classifying.md's coverage tables are the vendors' lists as kept: each list
// with its version and names, and per vendor the names the lists give it,
// how many of them are use and how many background. That every name
// classifies as its list says is TestVendorListsClassifyAsTheySay's.
func TestCoverageTable(t *testing.T) {
	var b strings.Builder
	lists := vendorLists(t)
	b.WriteString("| vendor's list | version | names |\n|---|---|---|\n")
	c := builtin(t, nil)
	type count struct{ names, classified, saas, infra int }
	vendors := map[string]*count{}
	total := 0
	for _, l := range lists {
		fmt.Fprintf(&b, "| [%s](%s) | %s | %d |\n", l.Title, l.Doc, l.Version, len(l.Names))
		total += len(l.Names)
		for _, e := range l.Names {
			n := vendors[e.Vendor]
			if n == nil {
				n = &count{}
				vendors[e.Vendor] = n
			}
			n.names++
			if r := c.Classify(e.Example()); r.Service == (Service{e.Vendor, e.Product, e.Category, e.Kind}) {
				n.classified++
			}
			if e.Kind == KindSaaS {
				n.saas++
			} else {
				n.infra++
			}
		}
	}
	fmt.Fprintf(&b, "| **all %d lists** | | %d |\n\n", len(lists), total)
	names := make([]string, 0, len(vendors))
	for v := range vendors {
		names = append(names, v)
	}
	sort.Slice(names, func(i, j int) bool {
		if vendors[names[i]].names != vendors[names[j]].names {
			return vendors[names[i]].names > vendors[names[j]].names
		}
		return names[i] < names[j]
	})
	b.WriteString("| vendor | names in the lists | classified as listed | use (saas) | background (infra) |\n|---|---|---|---|---|\n")
	for _, v := range names {
		n := vendors[v]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", v, n.names, n.classified, n.saas, n.infra)
	}
	google, _ := googleRanges(t)
	b.WriteString("\n| vendor's address list | version | ranges the catalog names | ranges left to their names |\n|---|---|---|---|\n")
	for _, l := range []catalogimport.AddressList{google} {
		fmt.Fprintf(&b, "| [%s](%s) | %s | %d, as %s | %d |\n", l.Title, l.Doc, l.Version, len(l.Ranges), l.Name, len(l.Excluded))
	}
	golden.Section(t, "../../docs/classifying.md", coverageStart, coverageEnd, b.String(), *update, "go test ./pkg/classify -run TestCoverageTable -update")
}
