package rewriters

// Helpers shared by the YAML CI formats (CircleCI, Cloud Build, Bitbucket
// Pipelines, Drone, Woodpecker, Azure Pipelines). Each format knows where
// its images are; these helpers turn a yaml.v3 scalar into a Ref whose span
// is verified against the raw bytes (yamlspan.go), skip values that the CI
// expands at run time, and report a scalar reached twice (an anchor and its
// aliases) once.

import (
	"bytes"
	"path"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ciVarRe finds what a CI expands in a value: GitHub/Azure expressions
// ${{ }}, Azure macros $( ) and runtime expressions $[ ], shell-style
// ${VAR} and $VAR, CircleCI parameters << >>, Go templates {{ }}.
var ciVarRe = regexp.MustCompile(`\$\{\{.*?\}\}|\$\{[^}]*\}?|\$\([^)]*\)?|\$\[[^\]]*\]?|\$[A-Za-z_][A-Za-z0-9_]*|<<[^>]*>>|\{\{.*?\}\}`)

// ciSkipVariables returns why a value cannot be resolved as written (it
// holds something the CI expands), or "" when it is a literal. ci names the
// tool for the message.
func ciSkipVariables(v, ci string) string {
	if !strings.ContainsAny(v, "$<{") {
		return ""
	}
	ms := ciVarRe.FindAllString(v, -1)
	if len(ms) == 0 {
		if strings.Contains(v, "$") {
			return "holds $: expanded by " + ci + " at run time; write the image literally to pin it"
		}
		return ""
	}
	seen := map[string]bool{}
	var uniq []string
	for _, m := range ms {
		if !seen[m] {
			seen[m] = true
			uniq = append(uniq, m)
		}
	}
	return "uses " + strings.Join(uniq, ", ") + ": expanded by " + ci + "; write the image literally to pin it"
}

// ciYAML collects the refs of one YAML CI file.
type ciYAML struct {
	ci       string // the tool, for skip messages ("CircleCI")
	ys       *yamlSource
	reported map[*yaml.Node]bool
	refs     []Ref
}

// ciParse parses src for a CI format. CI files are not Go templates, and
// ${{ }} (Azure, GitHub) is ordinary text in a valid file: only a file
// that fails to parse and holds "{{" is taken as a template, whose literal
// image lines are returned skipped (templated is then true).
func ciParse(src []byte, ci string) (docs []*yaml.Node, c *ciYAML, refs []Ref, templated bool, err error) {
	docs, err = yamlDecodeStream(src)
	if err != nil {
		if bytes.Contains(src, []byte("{{")) {
			return nil, nil, yamlFinishRefs(src, yamlTemplatedRefs(src)), true, nil
		}
		return nil, nil, nil, false, err
	}
	return docs, &ciYAML{ci: ci, ys: newYAMLSource(src), reported: map[*yaml.Node]bool{}}, nil, false, nil
}

// finish orders the refs and fills Text, Line and Column.
func (c *ciYAML) finish() []Ref { return yamlFinishRefs(c.ys.src, c.refs) }

// add reports scalar n as an image reference found at context. A non-empty
// prefix (docker://) must start the value; the ref is what follows it, and
// a value without the prefix is not a reference at all.
func (c *ciYAML) add(n *yaml.Node, context, prefix string) {
	c.addRef(n, context, prefix, nil)
}

// addRef is add; when the value is skipped for what the CI expands in it
// (ciSkipVariables) and has no prefix, expand (if not nil) gets the ref and
// the value, whose bytes are exactly those at the ref's span, and may make
// it a composed ref (or refine the skip).
func (c *ciYAML) addRef(n *yaml.Node, context, prefix string, expand func(r *Ref, text string)) {
	n = yamlResolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" || c.reported[n] {
		return
	}
	v := n.Value
	if prefix != "" {
		if !strings.HasPrefix(v, prefix) {
			return
		}
		v = v[len(prefix):]
	}
	if strings.TrimSpace(v) == "" {
		return
	}
	c.reported[n] = true
	loc := c.ys.locateRef(n)
	r := Ref{Span: loc.span, Context: context, Skip: loc.skip}
	if r.Skip != "" && bytes.HasPrefix(c.ys.src[r.Span.Start:r.Span.End], []byte(prefix)) {
		r.Span.Start += len(prefix)
	}
	if r.Skip == "" {
		// locate verified that the bytes at the span are the value, so the
		// prefix's bytes are the span's first len(prefix) bytes.
		r.Span.Start += len(prefix)
		r.Skip = ciSkipVariables(v, c.ci)
		switch {
		case r.Skip == "":
			r.pin = spanPin(r.Span, v)
		case expand != nil && prefix == "":
			expand(&r, v)
		}
	}
	c.refs = append(c.refs, r)
}

// addImage reports an image given as a string, or as a mapping whose
// nameKey holds the string (Bitbucket's image: {name: …}, Azure's
// container: {image: …}).
func (c *ciYAML) addImage(n *yaml.Node, context, nameKey string) {
	n = yamlResolve(n)
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		c.add(n, context, "")
	case yaml.MappingNode:
		if v, ok := yamlLookup(n, nameKey); ok {
			c.add(v, context+"."+nameKey, "")
		}
	}
}

// containers reports the image of each container in a list of mappings
// (steps: [{name, image}]) or a mapping of name to mapping (steps: {build:
// {image}}), the two shapes Drone and Woodpecker accept.
func (c *ciYAML) containers(n *yaml.Node, context string) {
	n = yamlResolve(n)
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if img, ok := yamlLookup(item, "image"); ok {
				c.add(img, context+"["+strconv.Itoa(i)+"].image", "")
			}
		}
	case yaml.MappingNode:
		for _, kv := range yamlPairs(n) {
			if img, ok := yamlLookup(kv.val, "image"); ok {
				c.add(img, context+"."+kv.key+".image", "")
			}
		}
	}
}

// yamlPair is one key/value pair of a mapping, aliases resolved.
type yamlPair struct {
	key string
	val *yaml.Node
}

// yamlPairs lists a mapping's pairs with scalar keys, in order, merged
// mappings (<<) after the keys written in the mapping, keys written first
// winning, as YAML defines merges.
func yamlPairs(m *yaml.Node) []yamlPair {
	m = yamlResolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []yamlPair
	seen := map[string]bool{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if yamlMergeKey(k) {
			merged = append(merged, m.Content[i+1])
			continue
		}
		if k.Kind != yaml.ScalarNode || seen[k.Value] {
			continue
		}
		seen[k.Value] = true
		out = append(out, yamlPair{k.Value, yamlResolve(m.Content[i+1])})
	}
	// One level of merges is what CI files use; keys come from each merged
	// mapping through yamlLookup, which follows nested merges boundedly.
	for _, mv := range merged {
		mv = yamlResolve(mv)
		if mv == nil {
			continue
		}
		srcs := []*yaml.Node{mv}
		if mv.Kind == yaml.SequenceNode {
			srcs = mv.Content
		}
		for _, s := range srcs {
			s = yamlResolve(s)
			if s == nil || s.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(s.Content); i += 2 {
				k := s.Content[i]
				if k.Kind != yaml.ScalarNode || yamlMergeKey(k) || seen[k.Value] {
					continue
				}
				seen[k.Value] = true
				out = append(out, yamlPair{k.Value, yamlResolve(s.Content[i+1])})
			}
		}
	}
	return out
}

// ciRoots returns the root mappings of the documents.
func ciRoots(docs []*yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for _, d := range docs {
		if r := yamlDocRoot(d); r != nil && r.Kind == yaml.MappingNode {
			out = append(out, r)
		}
	}
	return out
}

// lowerBase is a path's last element in lower case.
func lowerBase(p string) string { return strings.ToLower(path.Base(p)) }

// parentDir is the name of the folder holding p ("" at the root).
func parentDir(p string) string {
	d := path.Dir(p)
	if d == "." {
		return ""
	}
	return path.Base(d)
}
