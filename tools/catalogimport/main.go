// Command catalogimport turns the vendors' machine-readable endpoint
// lists kept in pkg/classify/lists into catalog files, so that a list's
// next version is a rerun rather than hand edits:
//
//	go run ./tools/catalogimport
//
// reads pkg/classify/lists/microsoft365-worldwide.json with the rules
// beside it and writes pkg/classify/catalog/microsoft365.yaml, and reads
// Google's address ranges (lists/google-goog.json and google-cloud.json)
// and writes catalog/google-ranges.yaml. Run it from the repository's
// root.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/saaslens/saaslens/pkg/catalogimport"
)

func main() {
	if err := run("."); err != nil {
		fmt.Fprintln(os.Stderr, "catalogimport:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	lists := filepath.Join(root, "pkg", "classify", "lists")
	catalog := filepath.Join(root, "pkg", "classify", "catalog")
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(lists, name)) }
	rules, err := read("microsoft365-rules.yaml")
	if err != nil {
		return err
	}
	endpoints, err := read("microsoft365-worldwide.json")
	if err != nil {
		return err
	}
	m365, m365Catalog, err := catalogimport.Microsoft365(rules, endpoints)
	if err != nil {
		return fmt.Errorf("microsoft365: %w", err)
	}
	out := filepath.Join(catalog, "microsoft365.yaml")
	if err := os.WriteFile(out, m365Catalog, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d names of %s, version %s\n", out, len(m365.Names), m365.Title, m365.Version)
	goog, err := read("google-goog.json")
	if err != nil {
		return err
	}
	cloud, err := read("google-cloud.json")
	if err != nil {
		return err
	}
	google, googleCatalog, err := catalogimport.GoogleRanges(goog, cloud)
	if err != nil {
		return fmt.Errorf("google: %w", err)
	}
	out = filepath.Join(catalog, "google-ranges.yaml")
	if err := os.WriteFile(out, googleCatalog, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d ranges of %s, of %s\n", out, len(google.Ranges), google.Title, google.Version)
	return nil
}
