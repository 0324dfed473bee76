package grafanahost

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// What Grafana's plugin catalog shows holds together: plugin.json's links
// and screenshots (which the build copies from src/img to img/), and the
// README, the user's page, whose images and links resolve and which stays
// short enough to read: the internals are under docs/.
func TestCatalogPage(t *testing.T) {
	root := repoRoot()
	var p struct {
		Info struct {
			Links       []struct{ Name, URL string }  `json:"links"`
			Screenshots []struct{ Name, Path string } `json:"screenshots"`
		} `json:"info"`
	}
	b, err := os.ReadFile(filepath.Join(root, "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Info.Links) == 0 || len(p.Info.Screenshots) == 0 {
		t.Errorf("plugin.json: %d links, %d screenshots", len(p.Info.Links), len(p.Info.Screenshots))
	}
	for _, l := range p.Info.Links {
		if l.Name == "" || !strings.HasPrefix(l.URL, "https://") {
			t.Errorf("plugin.json link %+v", l)
		}
	}
	for _, s := range p.Info.Screenshots {
		if _, err := os.Stat(filepath.Join(root, "src", s.Path)); err != nil || s.Name == "" || !strings.HasPrefix(s.Path, "img/screenshots/") {
			t.Errorf("plugin.json screenshot %+v: %v", s, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(readme) > 20000 {
		t.Errorf("README.md is %d bytes: the catalog page is what to do; move internals under docs/", len(readme))
	}
	if !strings.Contains(string(readme), "scripts/demo.sh") || !strings.Contains(string(readme), "scripts/test.sh") {
		t.Error("README.md does not start with scripts/demo.sh and scripts/test.sh")
	}
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	links := link.FindAllStringSubmatch(string(readme), -1)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range append(docs, filepath.Join(root, "README.md"), filepath.Join(root, "CHANGELOG.md")) {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			if target := m[1]; !strings.HasPrefix(target, "http") {
				if _, err := os.Stat(filepath.Join(filepath.Dir(file), target)); err != nil {
					t.Errorf("%s links to %s: %v", filepath.Base(file), target, err)
				}
			}
		}
	}
	if len(links) < 10 {
		t.Errorf("README.md has %d links; the docs should be a link away", len(links))
	}
	for _, doc := range []string{"CHANGELOG.md", "docs/reference.md", "docs/architecture.md"} {
		if _, err := os.Stat(filepath.Join(root, doc)); err != nil {
			t.Error(err)
		}
	}
}
