package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The YAML decoder's own errors speak Go ("field registry not found in type
// config.Config", "cannot unmarshal !!str into []string"). Before decoding,
// the document is walked against Config's own type (its yaml tags), so keys
// added to Config are known here without a second list, and every problem
// is said in the file's terms: the key path, what was expected, the valid
// keys, and the nearest one.

// Problem is one thing wrong in a config file.
type Problem struct {
	Line int // 1-based; 0 when unknown
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return p.Msg
}

// Error lists the problems of a config file. It wraps ErrInvalid.
type Error struct {
	Problems []Problem
}

// maxProblems bounds how many problems one error lists.
const maxProblems = 5

func (e *Error) Error() string {
	ps := e.Problems
	more := ""
	if len(ps) > maxProblems {
		more = fmt.Sprintf("; and %d more", len(ps)-maxProblems)
		ps = ps[:maxProblems]
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return ErrInvalid.Error() + ": " + strings.Join(parts, "; ") + more
}

func (e *Error) Unwrap() error { return ErrInvalid }

// explain checks doc's shape against Config and returns its problems.
func explain(doc *yaml.Node) []Problem {
	if doc == nil || doc.Kind == 0 {
		return nil
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		doc = doc.Content[0]
	}
	var ps []Problem
	walkShape(doc, reflect.TypeOf(Config{}), "", &ps)
	return ps
}

// walkShape checks that n can hold a value of type t; key is n's dotted
// path for messages ("" at the top).
func walkShape(n *yaml.Node, t reflect.Type, key string, ps *[]Problem) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with nothing: the default
	}
	where := key
	if where == "" {
		where = "the file"
	}
	bad := func() {
		msg := fmt.Sprintf("%s must be %s, not %s", where, describeType(t), describeNode(n))
		if n.Kind == yaml.ScalarNode && t.Kind() == reflect.Slice && key != "" {
			// The most common slip: a single value where a list goes.
			msg += fmt.Sprintf("; write %s: [%s]", lastKey(key), quoteIfNeeded(n.Value))
		}
		*ps = append(*ps, Problem{Line: n.Line, Msg: msg})
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			bad()
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue // merge keys: the merged map is checked where it is written
			}
			ft, ok := fields[k.Value]
			if !ok {
				*ps = append(*ps, Problem{Line: k.Line, Msg: unknownKey(k.Value, key, fields)})
				continue
			}
			walkShape(v, ft, join(key, k.Value), ps)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			bad()
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkShape(n.Content[i+1], t.Elem(), join(key, n.Content[i].Value), ps)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			bad()
			return
		}
		for i, item := range n.Content {
			walkShape(item, t.Elem(), fmt.Sprintf("%s[%d]", key, i), ps)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			bad()
		}
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			bad()
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			bad()
		}
	}
}

// yamlFields maps the yaml keys of struct type t to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

// unknownKey says that k is not a key of the map at key, names the nearest
// valid key and lists them all.
func unknownKey(k, key string, fields map[string]reflect.Type) string {
	valid := make([]string, 0, len(fields))
	for name := range fields {
		valid = append(valid, name)
	}
	sort.Strings(valid)
	where := "at the top level"
	if key != "" {
		where = "in " + key
	}
	msg := fmt.Sprintf("unknown key %q %s", k, where)
	if s := Nearest(k, valid); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	}
	return msg + " (valid keys: " + strings.Join(valid, ", ") + ")"
}

// Nearest returns the candidate closest to s when it is close enough to be
// a plausible typo, else "". Case, '_' for '-' and a plural 's' are slips
// that always count; so do singular for plural.
func Nearest(s string, candidates []string) string {
	norm := func(x string) string { return strings.ReplaceAll(strings.ToLower(x), "_", "-") }
	best, bestD := "", 1<<30
	for _, c := range candidates {
		a, b := norm(s), norm(c)
		d := editDistance(a, b)
		if a == b || singular(a) == singular(b) {
			d = 0
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, len(s)/3)
	if bestD > limit {
		return ""
	}
	return best
}

// singular drops an English plural ending: registries → registry.
func singular(s string) string {
	switch {
	case strings.HasSuffix(s, "ies"):
		return strings.TrimSuffix(s, "ies") + "y"
	case strings.HasSuffix(s, "s"):
		return strings.TrimSuffix(s, "s")
	}
	return s
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and swaps of two neighbours ("hots" → "host")
// cost one each.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// describeType says what a value of type t looks like in YAML.
func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct:
		keys := make([]string, 0)
		for k := range yamlFields(t) {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "a map with the keys " + strings.Join(keys, ", ")
	case reflect.Map:
		return "a map of names to " + strings.TrimPrefix(describeType(t.Elem()), "a ")
	case reflect.Slice:
		return "a list of " + plural(describeType(t.Elem()))
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}

func plural(s string) string {
	s = strings.TrimPrefix(s, "a ")
	if strings.HasPrefix(s, "map") || strings.HasPrefix(s, "list") {
		return strings.Replace(s, " ", "s ", 1)
	}
	return s + "s"
}

// describeNode says what n is, in YAML's terms.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		kind := "the string"
		switch n.Tag {
		case "!!int", "!!float":
			kind = "the number"
		case "!!bool":
			kind = "the boolean"
		}
		return fmt.Sprintf("%s %s", kind, quoteIfNeeded(clip(n.Value, 40)))
	}
	return "something else"
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " :#{}[],&*!|>'\"%@`") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func join(key, k string) string {
	if key == "" {
		return k
	}
	return key + "." + k
}

func lastKey(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[i+1:]
	}
	return key
}
