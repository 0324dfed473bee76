package classify

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saaslens/saaslens/pkg/catalogimport"
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

// The catalog file made of Microsoft 365's list is the importer's output
// for the list and rules kept beside it: neither was changed without
// running go run ./tools/catalogimport.
func TestMicrosoft365CatalogIsImported(t *testing.T) {
	_, want := microsoft365Catalog(t)
	got, err := os.ReadFile("catalog/microsoft365.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("catalog/microsoft365.yaml differs from what the importer makes of lists/microsoft365-*: run go run ./tools/catalogimport\n%s",
			cmp.Diff(string(want), string(got)))
	}
}
