package classify

import (
	"fmt"
	"path"
	"strings"
)

type patternKind int

// Ranks at the same depth: an exact name beats a glob beats a suffix.
const (
	patternSuffix patternKind = iota
	patternGlob
	patternExact
)

type pattern struct {
	kind patternKind
	// domain holds the labels the pattern is anchored at (for a glob,
	// those under the glob label).
	domain string
	glob   string
}

// parsePattern reads "a.example.com" (that name), ".example.com" or
// "*.example.com" (that name and every name under it), and
// "api-*.example.com" (a glob in the leftmost label).
func parsePattern(p string) (pattern, error) {
	s := strings.ToLower(strings.TrimSpace(p))
	bad := func(why string) (pattern, error) { return pattern{}, fmt.Errorf("pattern %q: %s", p, why) }
	var pt pattern
	switch {
	case strings.HasPrefix(s, "*."):
		pt = pattern{kind: patternSuffix, domain: s[2:]}
	case strings.HasPrefix(s, "."):
		pt = pattern{kind: patternSuffix, domain: s[1:]}
	default:
		first, rest, ok := strings.Cut(s, ".")
		if strings.Contains(first, "*") {
			if !ok || rest == "" {
				return bad("a glob needs a domain under it")
			}
			if _, err := path.Match(first, ""); err != nil {
				return bad("bad glob")
			}
			pt = pattern{kind: patternGlob, domain: rest, glob: first}
		} else {
			pt = pattern{kind: patternExact, domain: s}
		}
	}
	if pt.domain == "" || strings.Contains(pt.domain, "*") || strings.Contains(pt.domain, "..") ||
		strings.HasPrefix(pt.domain, ".") || strings.HasSuffix(pt.domain, ".") || strings.ContainsAny(pt.domain, " /:@") {
		return bad("want a name, .domain, *.domain or a glob in the first label")
	}
	return pt, nil
}

// Origin is what a pattern's answers come from.
type Origin struct {
	// Source is SourceCatalog, SourceUserCatalog, SourceContract.
	Source string
	// Where is the file and line of the entry or contract.
	Where string
	// Reference is where a catalog entry's patterns came from.
	Reference string
}

// match is what a pattern gives.
type match struct {
	Service
	Origin
	pattern string
}

type node struct {
	children map[string]*node
	exact    *match
	suffix   *match
	globs    []globMatch
}

type globMatch struct {
	glob string
	// A glob with one * and no other wildcard, the common case, matches
	// by its prefix and suffix, cheaper than path.Match on a hot node.
	prefix, suffix string
	simple         bool
	m              *match
}

func newGlobMatch(glob string, m *match) globMatch {
	g := globMatch{glob: glob, m: m}
	if strings.Count(glob, "*") == 1 && !strings.ContainsAny(glob, "?[\\") {
		g.prefix, g.suffix, _ = strings.Cut(glob, "*")
		g.simple = true
	}
	return g
}

func (g *globMatch) matches(label string) bool {
	if g.simple {
		return len(label) >= len(g.prefix)+len(g.suffix) && strings.HasPrefix(label, g.prefix) && strings.HasSuffix(label, g.suffix)
	}
	ok, _ := path.Match(g.glob, label)
	return ok
}

// Matcher finds the most specific pattern for a name: a trie over the
// labels read right to left, so a lookup costs one map step per label
// whatever the number of patterns.
type Matcher struct {
	root node
	size int
}

// Add registers pattern p for svc. A pattern already registered (the same
// name, suffix or glob) is an error naming both claims.
func (m *Matcher) Add(p string, svc Service, from Origin) error {
	pt, err := parsePattern(p)
	if err != nil {
		return err
	}
	n := &m.root
	for rest := pt.domain; rest != ""; {
		var label string
		label, rest = lastLabel(rest)
		child := n.children[label]
		if child == nil {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			child = &node{}
			n.children[label] = child
		}
		n = child
	}
	mt := &match{Service: svc, Origin: from, pattern: p}
	claimed := func(old *match) error {
		return fmt.Errorf("pattern %q of %s / %s is already claimed by %q of %s / %s (%s)", p, svc.Vendor, svc.Product, old.pattern, old.Vendor, old.Product, old.Where)
	}
	switch pt.kind {
	case patternExact:
		if n.exact != nil {
			return claimed(n.exact)
		}
		n.exact = mt
	case patternSuffix:
		if n.suffix != nil {
			return claimed(n.suffix)
		}
		n.suffix = mt
	case patternGlob:
		for _, g := range n.globs {
			if g.glob == pt.glob {
				return claimed(g.m)
			}
		}
		n.globs = append(n.globs, newGlobMatch(pt.glob, mt))
	}
	m.size++
	return nil
}

// Len is the number of patterns.
func (m *Matcher) Len() int { return m.size }

// Match returns the most specific match for name (more labels win, then
// exact over glob over suffix), or nil.
func (m *Matcher) Match(name string) *match {
	return m.match(normalName(name))
}

// normalName is name as the trie holds names: lower case, without the
// root's dot.
func normalName(name string) string {
	name = strings.TrimSuffix(name, ".")
	if hasUpper(name) {
		name = strings.ToLower(name)
	}
	return name
}

// match is Match of a name already normal.
func (m *Matcher) match(name string) *match {
	if m.size == 0 {
		return nil
	}
	var best *match
	bestDepth, bestRank := -1, patternKind(-1)
	consider := func(mt *match, depth int, rank patternKind) {
		if mt != nil && (depth > bestDepth || depth == bestDepth && rank > bestRank) {
			best, bestDepth, bestRank = mt, depth, rank
		}
	}
	n := &m.root
	depth := 0
	for rest := name; rest != ""; {
		var label string
		label, rest = lastLabel(rest)
		child := n.children[label]
		if child == nil {
			break
		}
		n = child
		depth++
		consider(n.suffix, depth, patternSuffix)
		if rest == "" {
			consider(n.exact, depth, patternExact)
			break
		}
		if len(n.globs) > 0 && strings.IndexByte(rest, '.') < 0 {
			for i := range n.globs {
				if g := &n.globs[i]; g.matches(rest) {
					consider(g.m, depth+1, patternGlob)
				}
			}
		}
	}
	return best
}

// lastLabel splits the rightmost label off a name: the trie is walked
// from the top-level domain down.
func lastLabel(name string) (label, rest string) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:], name[:i]
	}
	return name, ""
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
