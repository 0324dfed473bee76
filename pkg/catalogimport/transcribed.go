package catalogimport

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Transcribed reads a list copied from a vendor's page (file names it in
// messages):
//
//	title: Windows 11 Enterprise connection endpoints
//	doc: https://learn.microsoft.com/...
//	version: "2023-10-06"
//	sections:
//	  Certificates:
//	    ctldl.windowsupdate.com: Microsoft / Microsoft certificates / certificates / infra
//
// Each name of each section, as the page writes it, with the service the
// catalog must give it: vendor / product / category / kind.
func Transcribed(file string, b []byte) (List, error) {
	var doc struct {
		Title    string    `yaml:"title"`
		Doc      string    `yaml:"doc"`
		Version  string    `yaml:"version"`
		Sections yaml.Node `yaml:"sections"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return List{}, fmt.Errorf("%s: %w", file, err)
	}
	if doc.Title == "" || doc.Doc == "" || doc.Version == "" {
		return List{}, fmt.Errorf("%s: give the list's title, doc (its URL) and version (or date)", file)
	}
	if doc.Sections.Kind != yaml.MappingNode {
		return List{}, fmt.Errorf("%s:%d: sections: want a mapping of section titles to names", file, doc.Sections.Line)
	}
	list := List{Title: doc.Title, Doc: doc.Doc, Version: doc.Version}
	var problems []string
	seen := map[string]int{}
	for i := 0; i+1 < len(doc.Sections.Content); i += 2 {
		section, names := doc.Sections.Content[i].Value, doc.Sections.Content[i+1]
		if names.Kind != yaml.MappingNode {
			problems = append(problems, fmt.Sprintf("%s:%d: section %q: want name: vendor / product / category / kind lines", file, names.Line, section))
			continue
		}
		for j := 0; j+1 < len(names.Content); j += 2 {
			name, service := names.Content[j], names.Content[j+1]
			parts := strings.Split(service.Value, " / ")
			if len(parts) != 4 {
				problems = append(problems, fmt.Sprintf("%s:%d: %s: %q: want vendor / product / category / kind", file, service.Line, name.Value, service.Value))
				continue
			}
			for k := range parts {
				parts[k] = strings.TrimSpace(parts[k])
			}
			if parts[3] != "saas" && parts[3] != "infra" {
				problems = append(problems, fmt.Sprintf("%s:%d: %s: kind %q: want saas or infra", file, service.Line, name.Value, parts[3]))
				continue
			}
			// A page may give a name in several sections; the service must
			// be the same.
			key := strings.ToLower(name.Value)
			if at, dup := seen[key]; dup {
				if e := list.Names[at]; e.Vendor != parts[0] || e.Product != parts[1] || e.Category != parts[2] || e.Kind != parts[3] {
					problems = append(problems, fmt.Sprintf("%s:%d: %s: given another service in section %q", file, name.Line, name.Value, e.Section))
				}
				continue
			}
			seen[key] = len(list.Names)
			list.Names = append(list.Names, Expectation{Name: name.Value, Section: section,
				Vendor: parts[0], Product: parts[1], Category: parts[2], Kind: parts[3]})
		}
	}
	if len(problems) > 0 {
		return List{}, errors.New(strings.Join(problems, "\n"))
	}
	return list, nil
}
