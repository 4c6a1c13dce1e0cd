package rewriters

// The .env file beside compose files: Compose reads it for variables, so an
// `image: ${VAR}` whose VAR the .env defines names the image written there.
// When every use of VAR in that folder's compose files is a whole image:
// value, the ref is located in the .env (at the value) and pinned there;
// otherwise the compose file reports it as a composed ref (compose.go).
//
// The .env is read as Compose (compose-go's dotenv) reads it: `KEY=value`
// or `KEY: value`, an optional `export `, comments on their own lines and
// after a blank in unquoted values, single quotes taken literally, double
// quotes with escapes, and variables (${X}) in unquoted and double-quoted
// values expanded from earlier entries; the last definition of a key wins.

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// dotenvFormat claims the .env beside compose files.
type dotenvFormat struct{}

func (dotenvFormat) Kind() Kind { return Compose }

func (dotenvFormat) Candidate(p string) bool { return path.Base(p) == ".env" }

// Claim takes a .env only when a compose file sits in the same folder.
func (dotenvFormat) Claim(f *File) bool {
	return f.Tree != nil && len(composeFilesIn(f.Tree, path.Dir(f.Path))) > 0
}

// dotenvVar is one variable of a .env file.
type dotenvVar struct {
	name  string
	value string
	// span holds the value's bytes (without quotes); why, when set, says
	// why they are not the value (escapes, variables, several lines).
	span Span
	why  string
	// composed lists the variables an unquoted or double-quoted value
	// reads (value holds the result).
	composed []composeVarUse
}

// maxDotenvSize caps the .env files read through File.Tree.
const maxDotenvSize = 1 << 20

// Find returns the refs held by variables of the .env that the folder's
// compose files use only as whole image: values.
func (dotenvFormat) Find(f *File) ([]Ref, error) {
	vars, err := parseDotenv(f.Src)
	if err != nil {
		return nil, err
	}
	uses := composeFolderUses(f.Tree, path.Dir(f.Path))
	var refs []Ref
	for _, v := range vars {
		u := uses[v.name]
		if u == nil || !u.pinnable() {
			continue
		}
		r := Ref{Span: v.span, Text: v.value, Context: "VAR " + v.name + " (" + u.whole[0] + ")"}
		switch {
		case v.composed != nil:
			// Composed in the .env itself: read and checked, not edited.
			r.Text = oneLine(string(f.Src[v.span.Start:v.span.End]))
			r.Expanded, r.Composed, r.Note = v.value, true, composeNote(v.composed)
			why := fmt.Errorf("%w: .env variable %s is composed from %s; a digest written there would override them; to pin it, write the whole reference in %s",
				ErrCannotPin, v.name, v.composed[0].name, v.name)
			r.pin = func(string) ([]Edit, error) { return nil, why }
		case v.why != "" && !strings.ContainsAny(v.value, "\r\n"):
			r.Text = oneLine(string(f.Src[v.span.Start:v.span.End]))
			r.Expanded = v.value
			why := fmt.Errorf("%w: .env variable %s %s", ErrCannotPin, v.name, v.why)
			r.pin = func(string) ([]Edit, error) { return nil, why }
		case v.why != "":
			r.Skip = v.why
			r.Text = oneLine(string(f.Src[v.span.Start:v.span.End]))
		case v.value == "":
			r.Skip = "empty value"
		default:
			r.pin = spanPin(v.span, v.value)
		}
		refs = append(refs, r)
	}
	return yamlFinishRefs(f.Src, refs), nil
}

// parseDotenv reads a .env file; it returns each variable's last
// definition, in file order.
func parseDotenv(src []byte) ([]dotenvVar, error) {
	byName := map[string]int{}
	var out []dotenvVar
	env := map[string]string{}
	i := 0
	if bytes.HasPrefix(src, yamlBOM) {
		i = len(yamlBOM)
	}
	for {
		// The start of a statement: skip blanks and comment lines.
		for i < len(src) {
			r, w := utf8.DecodeRune(src[i:])
			if unicode.IsSpace(r) {
				i += w
				continue
			}
			if src[i] == '#' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
				continue
			}
			break
		}
		if i >= len(src) {
			break
		}
		lineStart := i
		if bytes.HasPrefix(src[i:], []byte("export")) {
			j := i + len("export")
			if j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				i = j
				for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
					i++
				}
			}
		}
		keyStart := i
		for i < len(src) && src[i] != '=' && src[i] != ':' && src[i] != '\n' {
			c := src[i]
			// Compose allows letters and digits of any script, _ and .
			if !(c == '_' || c == '.' || c == ' ' || c == '\t' || c == '\r' || c >= 0x80 || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				line, _ := LineCol(src, i)
				return nil, &ParseError{Line: line, Msg: fmt.Sprintf("unexpected character %q in a variable name: Compose reads only letters, digits, _ and . there", string(rune(c)))}
			}
			i++
		}
		name := strings.TrimSpace(string(src[keyStart:i]))
		if strings.ContainsAny(name, " \t") {
			line, _ := LineCol(src, lineStart)
			return nil, &ParseError{Line: line, Msg: "key cannot contain a space"}
		}
		if i >= len(src) || src[i] == '\n' {
			continue // KEY alone: inherited from the environment, not the repository
		}
		i++ // = or :
		for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\v' || src[i] == '\f') {
			i++
		}
		v := dotenvVar{name: name}
		if i < len(src) && (src[i] == '"' || src[i] == '\'') {
			q := src[i]
			j := i + 1
			for j < len(src) && (src[j] != q || src[j-1] == '\\') {
				j++
			}
			if j >= len(src) {
				line, _ := LineCol(src, lineStart)
				return nil, &ParseError{Line: line, Msg: "unterminated quoted value"}
			}
			raw := string(src[i+1 : j])
			v.span, v.value = Span{i + 1, j}, raw
			switch {
			case strings.ContainsAny(raw, "\r\n"):
				v.why = "the value runs over several lines"
			case q == '"' && strings.Contains(raw, `\`):
				v.why = "uses escapes: edit it by hand"
				v.value = dotenvUnescape(raw)
			}
			if q == '"' && strings.Contains(v.value, "$") {
				v.value, v.composed = dotenvExpand(v.value, env)
			}
			i = j + 1
			for i < len(src) && src[i] != '\n' {
				i++ // the rest of the line (a comment)
			}
		} else {
			e := i
			for e < len(src) && src[e] != '\n' {
				e++
			}
			line := src[i:e]
			if k := dotenvCommentStart(line); k >= 0 {
				line = line[:k]
			}
			line = bytes.TrimRightFunc(line, unicode.IsSpace)
			v.span, v.value = Span{i, i + len(line)}, string(line)
			if strings.Contains(v.value, "$") {
				v.value, v.composed = dotenvExpand(v.value, env)
			}
			i = e
		}
		env[name] = v.value
		if k, ok := byName[name]; ok {
			out[k] = v
			continue
		}
		byName[name] = len(out)
		out = append(out, v)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].span.Start < out[b].span.Start })
	return out, nil
}

// dotenvCommentStart is where an inline comment starts in an unquoted
// value: a # at the start or after a blank.
func dotenvCommentStart(line []byte) int {
	for k, c := range line {
		if c == '#' && (k == 0 || line[k-1] == ' ' || line[k-1] == '\t') {
			return k
		}
	}
	return -1
}

func dotenvUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// dotenvExpand expands ${X} and $X from earlier entries (for messages and
// resolution only: such values are never edited).
func dotenvExpand(s string, env map[string]string) (string, []composeVarUse) {
	c := &composeInterp{src: s, env: func(n string) (string, bool) { v, ok := env[n]; return v, ok }}
	t, _, err := c.word(0, 0)
	if err != nil || len(c.vars) == 0 {
		return s, nil
	}
	for i := range c.vars {
		c.vars[i].fromEnv = false
	}
	return string(t.s), c.vars
}

// composeFilesIn lists the compose files in folder dir of tree: by name, or
// YAML with a top-level services: map of services.
func composeFilesIn(tree fs.FS, dir string) []string {
	if tree == nil {
		return nil
	}
	entries, err := fs.ReadDir(tree, dir)
	if err != nil {
		return nil
	}
	var out []string
	looked := 0
	for _, e := range entries {
		if e.IsDir() || !isYAMLName(e.Name()) {
			continue
		}
		p := path.Join(dir, e.Name())
		if isComposeName(e.Name()) {
			out = append(out, p)
			continue
		}
		if looked++; looked > 20 {
			continue // a folder of manifests: do not read them all
		}
		if src, ok := readTreeFile(tree, p, maxComposeSize); ok && !looksLikeKubernetes(src) && looksLikeCompose(src) {
			out = append(out, p)
		}
	}
	return out
}

// maxComposeSize caps the compose files read through File.Tree.
const maxComposeSize = 4 << 20

func readTreeFile(tree fs.FS, p string, max int64) ([]byte, bool) {
	if st, err := fs.Stat(tree, p); err != nil || !st.Mode().IsRegular() || st.Size() > max {
		return nil, false
	}
	b, err := fs.ReadFile(tree, p)
	return b, err == nil && int64(len(b)) <= max
}

// readDotenv reads the .env of folder dir, nil when there is none.
func readDotenv(tree fs.FS, dir string) map[string]dotenvVar {
	if tree == nil {
		return nil
	}
	src, ok := readTreeFile(tree, path.Join(dir, ".env"), maxDotenvSize)
	if !ok {
		return nil
	}
	vars, err := parseDotenv(src)
	if err != nil {
		return nil // reported when the .env itself is read
	}
	m := make(map[string]dotenvVar, len(vars))
	for _, v := range vars {
		m[v.name] = v
	}
	return m
}

// envUses is how a folder's compose files use one variable.
type envUses struct {
	whole []string // where it is a whole image: value (file and context)
	other string   // one use elsewhere, for messages
}

func (u *envUses) pinnable() bool { return u != nil && len(u.whole) > 0 && u.other == "" }

// composeFolderUses reads every compose file of folder dir and records,
// per variable, whether each use is a whole `image:` value of a service
// that does not build it.
func composeFolderUses(tree fs.FS, dir string) map[string]*envUses {
	uses := map[string]*envUses{}
	get := func(n string) *envUses {
		if uses[n] == nil {
			uses[n] = &envUses{}
		}
		return uses[n]
	}
	for _, p := range composeFilesIn(tree, dir) {
		src, ok := readTreeFile(tree, p, maxComposeSize)
		if !ok {
			continue
		}
		name := path.Base(p)
		docs, err := yamlDecodeStream(src)
		if err != nil {
			// Unreadable: every variable it names counts as used elsewhere.
			for _, m := range composeVarRe.FindAllStringSubmatch(string(src), -1) {
				if u := get(m[1]); u.other == "" {
					u.other = name
				}
			}
			continue
		}
		images := map[*yaml.Node]string{}
		for _, doc := range docs {
			for _, s := range composeServiceImages(doc) {
				if !s.built {
					images[s.node] = s.context
				}
			}
		}
		seen := map[*yaml.Node]bool{}
		var walk func(n *yaml.Node, depth int)
		walk = func(n *yaml.Node, depth int) {
			if n == nil || seen[n] || depth > maxYAMLDepth {
				return
			}
			seen[n] = true
			if n.Kind == yaml.AliasNode {
				walk(n.Alias, depth+1)
				return
			}
			if n.Kind == yaml.ScalarNode {
				if !strings.Contains(n.Value, "$") {
					return
				}
				whole := ""
				if ctx, ok := images[n]; ok {
					whole = composeWholeVar(n.Value)
					if whole != "" {
						get(whole).whole = append(get(whole).whole, name+" "+ctx)
					}
				}
				for _, v := range composeVarNames(n.Value) {
					if v != whole {
						if u := get(v); u.other == "" {
							u.other = fmt.Sprintf("%s line %d", name, n.Line)
						}
					}
				}
				return
			}
			for k, c := range n.Content {
				if n.Kind == yaml.MappingNode && k%2 == 0 {
					continue // keys are not interpolated
				}
				walk(c, depth+1)
			}
		}
		for _, doc := range docs {
			walk(doc, 0)
		}
	}
	return uses
}
