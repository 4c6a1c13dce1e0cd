package rewriters

// Compose files: services.*.image.
//
// Decisions beyond DESIGN.md:
//   - Version-1 files (services at the top level, no "services:" key) are
//     read as Renovate reads them. Find applies this to any document
//     without a "services" key; in practice that means files that are
//     compose by name, because looksLikeCompose (classification by content)
//     requires a top-level "services:" mapping.
//   - An image reached through an anchor or a merge key (<<: *x) is one
//     scalar in the file: it is reported once, with the context of the first
//     service that uses it, and skipped if any service using it builds it.
//   - A file with template syntax ({{ }}) where YAML structure is, or that
//     does not parse and contains "{{", is treated as a template exactly as
//     for Kubernetes: its literal image lines are reported skipped.
//   - Variables are interpolated as Compose does (compose-go's template:
//     $X, ${X}, ${X:-d}, ${X-d}, ${X:+w}, ${X+w}, ${X:?e}, ${X?e}, $$),
//     with values from the .env beside the file and the defaults written in
//     the value; the shell environment is not the repository's and is not
//     read. A value that is one default (${X:-image:tag}) is a ref located
//     at the default; `${X}` whose X the .env defines, and that the
//     folder's compose files use only as whole image: values, is reported by
//     the .env (dotenv.go), not here; anything else with variables is a
//     composed ref.

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/digestbot/digestbot/pkg/imgref"
)

// composeFormat is the compose format.
type composeFormat struct{}

func (composeFormat) Kind() Kind                 { return Compose }
func (composeFormat) Candidate(path string) bool { return isYAMLName(path) }
func (composeFormat) Claim(f *File) bool {
	return isComposeName(f.Path) || (!looksLikeKubernetes(f.Src) && looksLikeCompose(f.Src))
}

const skipComposeBuilt = "built locally (service has build:)"

// composeVarRe finds the variables a value uses ($X, ${X…}); $$ is an
// escaped dollar, not a variable.
var composeVarRe = regexp.MustCompile(`\$\$|\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// composeWholeRe matches a value that is one variable, with or without a
// default: $X, ${X}, ${X:-d}, ${X-d}.
var composeWholeRe = regexp.MustCompile(`^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(?::?-)[^${}]*)?\})$`)

func composeWholeVar(v string) string {
	m := composeWholeRe.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// composeVarNames lists the variables a value uses, once each.
func composeVarNames(v string) []string {
	var names []string
	for _, m := range composeVarRe.FindAllStringSubmatch(v, -1) {
		if m[1] != "" && !containsString(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// composeImage is one service image scalar.
type composeImage struct {
	node    *yaml.Node
	context string
	built   bool
}

// composeServiceImages returns the image scalars of a document's services,
// each scalar once (anchors), built when any service using it has build:.
func composeServiceImages(doc *yaml.Node) []*composeImage {
	services, prefix := composeServices(yamlDocRoot(doc))
	if services == nil {
		return nil
	}
	var out []*composeImage
	byNode := map[*yaml.Node]*composeImage{}
	for i := 0; i+1 < len(services.Content); i += 2 {
		k := services.Content[i]
		if k.Kind != yaml.ScalarNode || yamlMergeKey(k) {
			continue
		}
		if prefix == "" && (k.Value == "version" || strings.HasPrefix(k.Value, "x-")) {
			continue // version-1 file: these top-level keys are not services
		}
		svc := yamlResolve(services.Content[i+1])
		if svc == nil || svc.Kind != yaml.MappingNode {
			continue
		}
		img, ok := yamlLookup(svc, "image")
		if !ok || img == nil || img.Kind != yaml.ScalarNode || img.Tag == "!!null" || img.Value == "" {
			continue
		}
		_, built := yamlLookup(svc, "build")
		if u := byNode[img]; u != nil {
			u.built = u.built || built
			continue
		}
		u := &composeImage{node: img, context: prefix + k.Value + ".image", built: built}
		byNode[img] = u
		out = append(out, u)
	}
	return out
}

// Find returns services.*.image of every document in f.
func (composeFormat) Find(f *File) ([]Ref, error) {
	src := f.Src
	docs, ys, templated, err := yamlPrepare(src)
	if err != nil {
		return nil, err
	}
	if templated != nil {
		return templated.refs, nil
	}
	var imgs []*composeImage
	seen := map[*yaml.Node]*composeImage{}
	for _, doc := range docs {
		for _, u := range composeServiceImages(doc) {
			if prev := seen[u.node]; prev != nil {
				prev.built = prev.built || u.built
				continue
			}
			seen[u.node] = u
			imgs = append(imgs, u)
		}
	}
	// Variables come from the .env beside the file (read only when a value
	// uses one).
	var env map[string]dotenvVar
	var uses map[string]*envUses
	envRead := false
	dir := path.Dir(f.Path)
	refs := make([]Ref, 0, len(imgs))
	for _, u := range imgs {
		m := ys.locateMapped(u.node)
		r := Ref{Span: m.span, Text: m.text, Context: u.context, Skip: m.skip}
		v := u.node.Value
		switch {
		case r.Skip != "":
		case u.built:
			r.Skip = skipComposeBuilt
		case strings.Contains(v, "{{"):
			r.Skip = skipYAMLTemplateVal
		case strings.Contains(v, "$"):
			if !envRead {
				envRead = true
				env = readDotenv(f.Tree, dir)
				if env != nil {
					uses = composeFolderUses(f.Tree, dir)
				}
			}
			var keep bool
			r, keep = composeVariables(r, m, env, uses)
			if !keep {
				continue
			}
		default:
			r.pin = mappedPin(m.text, m.off)
		}
		refs = append(refs, r)
	}
	return yamlFinishRefs(src, refs), nil
}

// composeVariables reads an image value that uses variables; false when the
// ref is the .env's to report.
func composeVariables(r Ref, m yamlMapped, env map[string]dotenvVar, uses map[string]*envUses) (Ref, bool) {
	c := &composeInterp{src: m.text, env: func(n string) (string, bool) {
		v, ok := env[n]
		return v.value, ok
	}}
	t, whole, err := c.word(0, 0)
	switch {
	case err != nil:
		r.Skip = "invalid variable syntax: " + err.Error()
		return r, true
	case c.unset != "":
		r.Skip = fmt.Sprintf("%s has no value in the repository: set it in the .env beside the compose file, or give a default (${%s:-image:tag})", c.unset, c.unset)
		return r, true
	case len(t.s) == 0:
		r.Skip = "expands to an empty image"
		return r, true
	}
	value := string(t.s)
	if whole {
		if a, ok := t.home(); ok {
			// One default written in this file: the ref is there.
			b := a + len(t.s)
			r.Text, r.Span = m.text[a:b], Span{m.offs[a], m.offs[b-1] + 1}
			if len(c.vars) > 0 {
				r.Context += " (default of ${" + c.vars[0].name + "})"
			}
			offs := m.offs[a:b]
			r.pin = mappedPin(r.Text, func(i int) int { return offs[i] })
			return r, true
		}
		if t.from != "" && uses[t.from].pinnable() {
			return r, false // the .env reports it, at the value
		}
	}
	if len(c.vars) == 0 {
		r.Skip = "escaped dollar signs ($$) inside the reference: pin it by hand"
		return r, true
	}
	r.Expanded, r.Composed, r.Note = value, true, composeNote(c.vars)
	text, vars, envVar := r.Text, c.vars, ""
	if whole {
		envVar = t.from
	}
	r.pin = func(digest string) ([]Edit, error) { return composePin(t, m, text, value, vars, envVar, uses, digest) }
	return r, true
}

// composePin refreshes a composed ref's digest where the compose file
// writes it after the variables; otherwise fix cannot pin it.
func composePin(t composeText, m yamlMapped, text, value string, vars []composeVarUse, envVar string, uses map[string]*envUses, digest string) ([]Edit, error) {
	names := make([]string, len(vars))
	for i, v := range vars {
		names[i] = v.name
	}
	p, err := imgref.Parse(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %s expands to %s: %v", ErrCannotPin, text, value, err)
	}
	at := strings.LastIndexByte(value, '@')
	if p.Digest == "" || at < 0 {
		why := fmt.Sprintf("%s is composed from %s and has no digest of its own to refresh; a digest written after it would override every value of %s in the environment or .env",
			text, strings.Join(names, ", "), names[0])
		if u := uses[envVar]; envVar != "" && u != nil && u.other != "" {
			why = fmt.Sprintf("%s is .env variable %s, which is also used in %s, so fix cannot write a digest into it",
				text, envVar, u.other)
		}
		return nil, fmt.Errorf("%w: %s; to pin it, let one variable hold the whole reference (image: ${IMAGE:-%s}, or IMAGE=%s in .env used only as image: ${IMAGE})",
			ErrCannotPin, why, value, value)
	}
	if p.Tag == "" {
		return nil, fmt.Errorf("%w: %s has a digest and no tag to refresh", ErrCannotPin, text)
	}
	i, j := at+1, len(value)
	for k := i; k < j; k++ {
		if t.idx[k] < 0 {
			return nil, fmt.Errorf("%w: the digest of %s comes from the .env; write it after the variables in the compose file, or let one variable hold the whole reference", ErrCannotPin, text)
		}
		if k > i && m.offs[t.idx[k]] != m.offs[t.idx[k-1]]+1 {
			return nil, fmt.Errorf("%w: the digest of %s is not written in one place on one line", ErrCannotPin, text)
		}
	}
	return []Edit{{Span: Span{m.offs[t.idx[i]], m.offs[t.idx[j-1]] + 1}, New: digest}}, nil
}

func composeNote(vars []composeVarUse) string {
	var b strings.Builder
	for i, v := range vars {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.name)
		switch {
		case !v.set:
			b.WriteString(" unset")
		case v.value == "" || strings.ContainsAny(v.value, " \t\"'\\") || !isPrintableASCII(v.value):
			b.WriteString("=" + strconv.Quote(v.value))
		default:
			b.WriteString("=" + v.value)
		}
		if v.fromEnv {
			b.WriteString(" (.env)")
		}
	}
	return b.String()
}

// composeText is interpolated text with, for each byte, its index in the
// value as written (-1: from the .env).
type composeText struct {
	s    []byte
	idx  []int
	from string // the .env variable the whole text came from
}

func (t *composeText) add(o composeText) {
	t.s = append(t.s, o.s...)
	t.idx = append(t.idx, o.idx...)
}

// home reports whether the text is written in one place of the value as
// written, and where it starts there.
func (t composeText) home() (int, bool) {
	if len(t.idx) == 0 || t.idx[0] < 0 {
		return 0, false
	}
	for k := 1; k < len(t.idx); k++ {
		if t.idx[k] != t.idx[k-1]+1 {
			return 0, false
		}
	}
	return t.idx[0], true
}

type composeVarUse struct {
	name, value  string
	set, fromEnv bool
}

// composeInterp interpolates a compose value as compose-go's template
// package does, keeping where each byte came from.
type composeInterp struct {
	src   string
	env   func(string) (string, bool)
	vars  []composeVarUse
	unset string
}

var errComposeSyntax = fmt.Errorf("a $ must start ${NAME}, $NAME or $$")

// word reads src from i up to stop (0: the end). whole reports that the
// result is one piece: a literal run or one variable's value.
func (c *composeInterp) word(i int, stop byte) (composeText, bool, error) {
	t, _, whole, err := c.wordAt(i, stop)
	return t, whole, err
}

func (c *composeInterp) wordAt(i int, stop byte) (composeText, int, bool, error) {
	var t composeText
	parts, whole, literal := 0, true, false
	from := ""
	for i < len(c.src) {
		ch := c.src[i]
		if stop != 0 && ch == stop {
			if parts == 1 {
				t.from = from
			}
			return t, i + 1, parts == 1 && whole, nil
		}
		if ch != '$' {
			t.s = append(t.s, ch)
			t.idx = append(t.idx, i)
			i++
			if !literal {
				parts++
				literal = true
			}
			continue
		}
		if i+1 < len(c.src) && c.src[i+1] == '$' {
			t.s = append(t.s, '$')
			t.idx = append(t.idx, i+1)
			i += 2
			parts += 2 // an escape breaks the run
			literal = false
			continue
		}
		v, next, w, err := c.dollar(i)
		if err != nil {
			return t, i, false, err
		}
		t.add(v)
		from = v.from
		parts++
		whole = whole && w
		literal = false
		i = next
	}
	if stop != 0 {
		return t, i, false, fmt.Errorf("missing %q", stop)
	}
	if parts == 1 {
		t.from = from
	}
	return t, i, parts == 1 && whole, nil
}

func composeNameChar(ch byte, first bool) bool {
	return ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || (!first && ch >= '0' && ch <= '9')
}

// dollar reads the substitution at src[i] ('$').
func (c *composeInterp) dollar(i int) (composeText, int, bool, error) {
	j := i + 1
	if j < len(c.src) && composeNameChar(c.src[j], true) {
		k := j
		for k < len(c.src) && composeNameChar(c.src[k], false) {
			k++
		}
		v, w := c.lookup(c.src[j:k], true)
		return v, k, w, nil
	}
	if j >= len(c.src) || c.src[j] != '{' {
		return composeText{}, i, false, errComposeSyntax
	}
	k := j + 1
	if k >= len(c.src) || !composeNameChar(c.src[k], true) {
		return composeText{}, i, false, errComposeSyntax
	}
	for k < len(c.src) && composeNameChar(c.src[k], false) {
		k++
	}
	name := c.src[j+1 : k]
	if k >= len(c.src) {
		return composeText{}, i, false, fmt.Errorf("missing }")
	}
	if c.src[k] == '}' {
		v, w := c.lookup(name, true)
		return v, k + 1, w, nil
	}
	colon := false
	if c.src[k] == ':' {
		colon = true
		k++
	}
	if k >= len(c.src) {
		return composeText{}, i, false, fmt.Errorf("missing }")
	}
	op := c.src[k]
	if op != '-' && op != '+' && op != '?' {
		return composeText{}, i, false, fmt.Errorf("unsupported substitution ${%s%s", name, c.src[j+1+len(name):k+1])
	}
	w, next, wWhole, err := c.wordAt(k+1, '}')
	if err != nil {
		return composeText{}, i, false, err
	}
	val, set := c.env(name)
	c.record(name, val, set)
	empty := set && val == ""
	switch op {
	case '-':
		if !set || (colon && empty) {
			return w, next, wWhole, nil
		}
		return composeEnvText(name, val), next, true, nil
	case '+':
		if !set || (colon && empty) {
			return composeText{}, next, false, nil
		}
		return w, next, false, nil
	default: // '?'
		if !set || (colon && empty) {
			// Compose stops with this error unless the environment sets
			// it: the value does not come from the repository.
			if c.unset == "" {
				c.unset = name
			}
			return composeText{}, next, false, nil
		}
		return composeEnvText(name, val), next, true, nil
	}
}

func composeEnvText(name, val string) composeText {
	t := composeText{s: []byte(val), idx: make([]int, len(val)), from: name}
	for k := range t.idx {
		t.idx[k] = -1
	}
	return t
}

// lookup reads a variable used plainly ($X, ${X}).
func (c *composeInterp) lookup(name string, plain bool) (composeText, bool) {
	val, set := c.env(name)
	c.record(name, val, set)
	if !set {
		if plain && c.unset == "" {
			c.unset = name
		}
		return composeText{}, false
	}
	return composeEnvText(name, val), true
}

func (c *composeInterp) record(name, val string, set bool) {
	for _, v := range c.vars {
		if v.name == name {
			return
		}
	}
	c.vars = append(c.vars, composeVarUse{name: name, value: val, set: set, fromEnv: set})
}

// composeServices returns the mapping holding a document's services and the
// context prefix for them: "services." for the compose specification, "" for
// a version-1 document whose services sit at the top level.
func composeServices(root *yaml.Node) (*yaml.Node, string) {
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, ""
	}
	if v, ok := yamlLookup(root, "services"); ok {
		if v != nil && v.Kind == yaml.MappingNode {
			return v, "services."
		}
		return nil, ""
	}
	return root, ""
}

// looksLikeCompose reports whether YAML that is not compose by name is a
// compose file: a top-level "services:" mapping with at least one service
// that has image or build. The parse only happens when a line starts with
// "services:", so scanning large trees stays cheap.
func looksLikeCompose(src []byte) bool {
	// A CI pipeline (Woodpecker, Drone) has a services: map of images too,
	// beside its top-level steps: it is not compose.
	if _, top := yamlKeyLine(src, "steps"); top {
		return false
	}
	if _, top := yamlKeyLine(src, "services"); !top {
		return false
	}
	docs, err := yamlDecodeStream(src)
	if err != nil {
		return false
	}
	for _, doc := range docs {
		root := yamlDocRoot(doc)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		services, ok := yamlLookup(root, "services")
		if !ok || services == nil || services.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(services.Content); i += 2 {
			svc := yamlResolve(services.Content[i+1])
			if _, ok := yamlLookup(svc, "image"); ok {
				return true
			}
			if _, ok := yamlLookup(svc, "build"); ok {
				return true
			}
		}
	}
	return false
}
