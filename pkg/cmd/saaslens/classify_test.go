package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saaslens/saaslens/pkg/classify"
)

// whereInCatalog is where the built-in catalog claims pattern, as
// saaslens classify shows it.
func whereInCatalog(t *testing.T, pattern string) (where, reference string) {
	t.Helper()
	entries, err := classify.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if slices.Contains(e.Patterns, pattern) {
			return e.Where(), e.Reference()
		}
	}
	t.Fatalf("no catalog entry claims %s", pattern)
	return "", ""
}

func TestClassifyCommand(t *testing.T) {
	dir := t.TempDir()
	contracts := filepath.Join(dir, "contracts.yaml")
	if err := os.WriteFile(contracts, []byte("contracts:\n  - vendor: Cybozu\n    product: kintone\n    seats: 50\n    patterns: [acme.cybozu.com]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	catalog := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(catalog, []byte("entries:\n  - {vendor: ACME, product: Wiki, category: productivity, kind: saas, patterns: [.acme.internal]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := classifyCommand([]string{"--contracts", contracts, "--catalog", catalog}, strings.NewReader("acme.cybozu.com\nteams.microsoft.com\n\nwiki.acme.internal\nwiki.acme.example\n"), &out, &errOut)
	teams, _ := whereInCatalog(t, "teams.microsoft.com")
	rows := [][]string{
		{"NAME", "VENDOR", "PRODUCT", "CATEGORY", "KIND", "SOURCE", "PATTERN", "WHERE"},
		{"acme.cybozu.com", "Cybozu", "kintone", "productivity", "saas", "contract", "acme.cybozu.com", contracts + ":2"},
		{"teams.microsoft.com", "Microsoft", "Microsoft Teams", "chat", "saas", "catalog", "teams.microsoft.com", teams},
		{"wiki.acme.internal", "ACME", "Wiki", "productivity", "saas", "usercatalog", ".acme.internal", catalog + ":2"},
		{"wiki.acme.example", "-", "-", "-", "-", "none", "-", "-"},
	}
	if code != 0 || errOut.Len() > 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if diff := cmp.Diff(rows, fieldsOf(out.String())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	out.Reset()
	if code := classifyCommand([]string{"--json", "ocsp.digicert.com"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d", code)
	}
	where, reference := whereInCatalog(t, "ocsp.digicert.com")
	if want := fmt.Sprintf(`{"name":"ocsp.digicert.com","vendor":"DigiCert","product":"DigiCert","category":"certificates","kind":"infra","source":"catalog","pattern":"ocsp.digicert.com","where":%q,"reference":%q}`, where, reference) + "\n"; out.String() != want {
		t.Errorf("json: %s\nwant %s", out.String(), want)
	}
	errOut.Reset()
	if err := os.WriteFile(contracts, []byte("contracts:\n  - product: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := classifyCommand([]string{"--contracts", contracts, "a.example"}, nil, &out, &errOut); code != 1 ||
		errOut.String() != "saaslens classify: "+contracts+":2: vendor: required\n" {
		t.Errorf("bad contracts: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if err := os.WriteFile(catalog, []byte("entries:\n  - {vendor: ACME, product: Wiki, category: productivity, kind: saas}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := classifyCommand([]string{"--catalog", catalog, "a.example"}, nil, &out, &errOut); code != 1 ||
		errOut.String() != "saaslens classify: "+catalog+":2: patterns: none: name at least one\n" {
		t.Errorf("bad catalog: exit %d, %q", code, errOut.String())
	}
}

// fieldsOf splits the table's lines into their columns, which the table
// sets two spaces or more apart.
func fieldsOf(table string) [][]string {
	var out [][]string
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		out = append(out, columnGap.Split(strings.TrimSpace(line), -1))
	}
	return out
}

var columnGap = regexp.MustCompile(`\s{2,}`)
