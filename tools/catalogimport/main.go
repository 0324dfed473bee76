// Command catalogimport turns the vendors' machine-readable endpoint
// lists kept in pkg/classify/lists into catalog files, so that a list's
// next version is a rerun rather than hand edits:
//
//	go run ./tools/catalogimport
//
// reads pkg/classify/lists/microsoft365-worldwide.json with the rules
// beside it and writes pkg/classify/catalog/microsoft365.yaml. Run it from
// the repository's root.
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
	rules, err := os.ReadFile(filepath.Join(lists, "microsoft365-rules.yaml"))
	if err != nil {
		return err
	}
	endpoints, err := os.ReadFile(filepath.Join(lists, "microsoft365-worldwide.json"))
	if err != nil {
		return err
	}
	list, catalog, err := catalogimport.Microsoft365(rules, endpoints)
	if err != nil {
		return err
	}
	out := filepath.Join(root, "pkg", "classify", "catalog", "microsoft365.yaml")
	if err := os.WriteFile(out, catalog, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d names of %s, version %s\n", out, len(list.Names), list.Title, list.Version)
	return nil
}
