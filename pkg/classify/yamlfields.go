package classify

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// topList finds the sequence under key at the top of a YAML document;
// files are named in messages, with the line at fault.
func topList(file string, b []byte, key string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == key {
				if list := root.Content[i+1]; list.Kind == yaml.SequenceNode {
					return list, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%s:%d: want a top-level %s: list", file, root.Line, key)
}

// fieldProblems is where one mapping of a user's file (a contract, a
// catalog entry) is at fault, each problem as "file:line: field: why".
type fieldProblems struct {
	file     string
	node     *yaml.Node
	fields   map[string]*yaml.Node
	problems []string
}

// decodeFields decodes mapping n into v, naming unknown fields (known
// lists the ones allowed) and values of the wrong type by their lines.
// It returns false when v could not be decoded.
func decodeFields(file string, n *yaml.Node, known []string, v any) (*fieldProblems, bool) {
	p := &fieldProblems{file: file, node: n, fields: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		p.problems = append(p.problems, fmt.Sprintf("%s:%d: want a mapping of fields", file, n.Line))
		return p, false
	}
	allowed := map[string]bool{}
	for _, k := range known {
		allowed[k] = true
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		field := n.Content[i].Value
		p.fields[field] = n.Content[i+1]
		if !allowed[field] {
			p.bad(field, "unknown field (known: "+strings.Join(known, ", ")+")")
		}
	}
	if err := n.Decode(v); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			p.problems = append(p.problems, fmt.Sprintf("%s:%d: %v", file, n.Line, err))
			return p, false
		}
		for _, e := range te.Errors {
			// yaml says "line 3: cannot unmarshal ..."
			if rest, ok := strings.CutPrefix(e, "line "); ok {
				if line, msg, ok := strings.Cut(rest, ": "); ok {
					p.problems = append(p.problems, fmt.Sprintf("%s:%s: %s", file, line, msg))
					continue
				}
			}
			p.problems = append(p.problems, fmt.Sprintf("%s:%d: %s", file, n.Line, e))
		}
		return p, false
	}
	return p, true
}

// bad records a problem with field, on the field's line where it is
// written, else on the mapping's.
func (p *fieldProblems) bad(field, why string) {
	line := p.node.Line
	if f, ok := p.fields[field]; ok {
		line = f.Line
	}
	p.problems = append(p.problems, fmt.Sprintf("%s:%d: %s: %s", p.file, line, field, why))
}
