package rewriters

// Kubernetes manifests: image of every item of containers, initContainers
// and ephemeralContainers at any depth, and volumes[].image.reference, in
// every document that carries apiVersion and kind.
//
// A file with template syntax where YAML structure is ("{{" in a plain
// scalar or opening a flow collection), or that fails to parse and contains
// "{{", is a template (Helm, sed placeholders): it is not what gets applied,
// so its literal image lines are reported skipped and nothing is edited.
// "{{" inside quoted or block scalars (Argo Workflows parameters, Grafana
// dashboards) does not make a file a template.

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// kubernetesFormat is the Kubernetes plug-in (Format); kubernetesRewriter
// is its byte-level core, which the older YAML tests call directly.
type kubernetesFormat struct{}

func (kubernetesFormat) Kind() Kind                 { return Kubernetes }
func (kubernetesFormat) Candidate(path string) bool { return isYAMLName(path) }
func (kubernetesFormat) Claim(f *File) bool         { return looksLikeKubernetes(f.Src) }
func (kubernetesFormat) Find(f *File) ([]Ref, error) {
	return kubernetesRewriter{}.Find(f.Src)
}

type kubernetesRewriter struct{}

func (kubernetesRewriter) Kind() Kind { return Kubernetes }

// Skip reasons of the Kubernetes format.
const (
	skipTektonNoDefault = "Tekton parameter with no string default in this resource: set by the run"
	skipTektonVariable  = "Tekton variable: set at run time"
)

// Find returns the container and image-volume references in src, each with
// its pin.
func (kubernetesRewriter) Find(src []byte) ([]Ref, error) {
	docs, err := yamlDecodeStream(src)
	if err != nil {
		if bytes.Contains(src, []byte("{{")) {
			// A template source (Helm, sed placeholders) that is not YAML
			// until rendered: report its literal image lines, skipped.
			return yamlFinishRefs(src, yamlTemplatedRefs(src)), nil
		}
		return nil, err
	}
	// A file that parses is read as YAML even when it holds {{ }} (Argo
	// Workflows parameters, sed placeholders in other keys): only the
	// values that hold a template are skipped.
	ys := newYAMLSource(src)
	w := &k8sWalker{ys: ys, seen: map[*yaml.Node]bool{}, reported: map[*yaml.Node]bool{}}
	for _, doc := range docs {
		root := yamlDocRoot(doc)
		if !k8sIsObject(root) {
			continue
		}
		w.scopes = w.scopes[:0]
		if kind, _ := yamlLookup(root, "kind"); kind.Value == "StepAction" {
			// A Tekton StepAction is one step: spec.image.
			if spec, ok := yamlLookup(root, "spec"); ok {
				w.scopes = append(w.scopes, tektonParams(spec))
				if img, ok := yamlLookup(spec, "image"); ok {
					w.add(img, "spec.image")
				}
				w.scopes = w.scopes[:0]
			}
		}
		if err := w.walk(root, "", 0); err != nil {
			return nil, err
		}
	}
	refs := yamlFinishRefs(src, w.refs)
	for i := range refs {
		if refs[i].Composed {
			refs[i].pin = tektonComposedPin(refs[i])
		}
	}
	return yamlSpanPins(refs), nil
}

// k8sIsObject reports whether a document's root mapping has apiVersion and kind.
func k8sIsObject(root *yaml.Node) bool {
	if root == nil || root.Kind != yaml.MappingNode {
		return false
	}
	for _, key := range []string{"apiVersion", "kind"} {
		v, ok := yamlLookup(root, key)
		if !ok || v == nil || v.Kind != yaml.ScalarNode || v.Value == "" {
			return false
		}
	}
	return true
}

type k8sWalker struct {
	ys       *yamlSource
	seen     map[*yaml.Node]bool // collections walked (an alias is walked once)
	reported map[*yaml.Node]bool // scalars reported
	refs     []Ref
	// scopes are the Tekton params lists of the mappings being walked,
	// innermost last: a step's $(params.x) names its Task's param.
	scopes []map[string]*yaml.Node
}

func k8sJoinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *k8sWalker) walk(n *yaml.Node, path string, depth int) error {
	n = yamlResolve(n)
	if n == nil || w.seen[n] || (n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode) {
		return nil
	}
	if depth > maxYAMLDepth {
		return errYAMLTooDeep
	}
	w.seen[n] = true
	if n.Kind == yaml.SequenceNode {
		for i, c := range n.Content {
			if err := w.walk(c, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if p := tektonParams(n); p != nil {
		w.scopes = append(w.scopes, p)
		defer func() { w.scopes = w.scopes[:len(w.scopes)-1] }()
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := path
		if k.Kind == yaml.ScalarNode && !yamlMergeKey(k) {
			p = k8sJoinPath(path, k.Value)
			switch k.Value {
			case "containers", "initContainers", "ephemeralContainers",
				"sidecars", "steps": // Tekton steps and sidecars, Argo sidecars
				w.containers(v, p)
			case "stepTemplate", "container", "script": // Tekton, Argo templates
				if img, ok := yamlLookup(v, "image"); ok {
					w.add(img, p+".image")
				}
			case "volumes":
				w.volumes(v, p)
			}
		}
		if err := w.walk(v, p, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// containers reports image of each mapping in a containers-like sequence.
func (w *k8sWalker) containers(v *yaml.Node, path string) {
	seq := yamlResolve(v)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return
	}
	for i, item := range seq.Content {
		if img, ok := yamlLookup(item, "image"); ok {
			w.add(img, path+"["+strconv.Itoa(i)+"].image")
		}
	}
}

// volumes reports image.reference of each image volume.
func (w *k8sWalker) volumes(v *yaml.Node, path string) {
	seq := yamlResolve(v)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return
	}
	for i, item := range seq.Content {
		im, ok := yamlLookup(item, "image")
		if !ok || im == nil || im.Kind != yaml.MappingNode {
			continue
		}
		if ref, ok := yamlLookup(im, "reference"); ok {
			w.add(ref, path+"["+strconv.Itoa(i)+"].image.reference")
		}
	}
}

// tektonParamRe matches one Tekton parameter reference: $(params.name),
// $(params["name"]) or $(params['name']); the name is group 1, 2 or 3.
var tektonParamRe = regexp.MustCompile(`\$\(params(?:\.([A-Za-z0-9_.-]+)|\["([^"\]]+)"\]|\['([^'\]]+)'\])\)`)

// k8sTagCommentRe finds the tag a trailing comment names, the tektoncd
// catalog's convention for digest-only images ("@sha256:… #tag: stable").
var k8sTagCommentRe = regexp.MustCompile(`\btag:[ \t]*([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`)

func (w *k8sWalker) add(n *yaml.Node, context string) {
	if n == nil || w.reported[n] {
		return
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		// image: {{x}} parses as a flow mapping: a template, skipped.
		if sp, ok := w.templateFlow(n); ok {
			w.reported[n] = true
			w.refs = append(w.refs, Ref{Span: sp, Context: context, Skip: skipYAMLTemplateVal})
		}
		return
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		return
	}
	v := n.Value
	if strings.Contains(v, "$(") {
		w.tekton(n, context)
		return
	}
	w.reported[n] = true
	r := yamlScalarRef(w.ys, n, context)
	if r.Skip == "" && strings.Contains(v, "{{") {
		r.Skip = skipYAMLTemplateVal
	}
	r.Note = k8sTagNote(n)
	w.refs = append(w.refs, r)
}

// k8sTagNote names the tag a digest-only image's trailing comment gives.
func k8sTagNote(n *yaml.Node) string {
	at := strings.LastIndexByte(n.Value, '@')
	if at < 0 || strings.Contains(n.Value[strings.LastIndexByte(n.Value[:at], '/')+1:at], ":") {
		return "" // no digest, or a tag is written
	}
	if m := k8sTagCommentRe.FindStringSubmatch(n.LineComment); m != nil {
		return "the comment names tag " + m[1]
	}
	return ""
}

// tekton reports an image that uses Tekton variables. A whole-value
// $(params.NAME) whose param has a string default in the same resource is
// pinned at that default (as a Dockerfile FROM $BASE is at its ARG). A
// value composed from params that all have defaults is a composed ref. Any
// other variable is set at run time: skipped.
func (w *k8sWalker) tekton(n *yaml.Node, context string) {
	v := n.Value
	ms := tektonParamRe.FindAllStringSubmatchIndex(v, -1)
	var names []string
	var defaults []*yaml.Node
	rest := v
	for _, m := range ms {
		name := ""
		for g := 1; g <= 3; g++ {
			if m[2*g] >= 0 {
				name = v[m[2*g]:m[2*g+1]]
			}
		}
		names = append(names, name)
		defaults = append(defaults, w.paramDefault(name))
		rest = strings.Replace(rest, v[m[0]:m[1]], "", 1)
	}
	if len(ms) == 0 || strings.Contains(rest, "$(") {
		w.skip(n, context, skipTektonVariable)
		return
	}
	for i, d := range defaults {
		if d == nil {
			w.skip(n, context, skipTektonNoDefault+": "+names[i])
			return
		}
	}
	if len(ms) == 1 && ms[0][0] == 0 && ms[0][1] == len(v) {
		// The default is the whole ref: it is the ref, located where it is
		// written; several steps using it share it.
		d := defaults[0]
		if w.reported[d] {
			return
		}
		w.reported[d] = true
		r := yamlScalarRef(w.ys, d, context+" (default of $(params."+names[0]+"))")
		switch {
		case r.Skip != "":
		case strings.Contains(d.Value, "$("):
			r.Skip = skipTektonVariable
		case strings.Contains(d.Value, "{{"):
			r.Skip = skipYAMLTemplateVal
		}
		r.Note = k8sTagNote(d)
		w.refs = append(w.refs, r)
		return
	}
	// Composed: expand every param with its default.
	w.reported[n] = true
	r := yamlScalarRef(w.ys, n, context)
	if r.Skip != "" {
		w.refs = append(w.refs, r)
		return
	}
	var exp strings.Builder
	var notes []string
	prev := 0
	for i, m := range ms {
		exp.WriteString(v[prev:m[0]])
		exp.WriteString(defaults[i].Value)
		prev = m[1]
		notes = append(notes, "$(params."+names[i]+")="+defaults[i].Value)
	}
	exp.WriteString(v[prev:])
	r.Expanded = exp.String()
	r.Composed = true
	r.Note = "composed from Tekton params: " + strings.Join(notes, ", ")
	w.refs = append(w.refs, r)
}

func (w *k8sWalker) skip(n *yaml.Node, context, why string) {
	w.reported[n] = true
	r := yamlScalarRef(w.ys, n, context)
	if r.Skip == "" {
		r.Skip = why
	}
	w.refs = append(w.refs, r)
}

// paramDefault finds the string default of a Tekton param, innermost scope
// first; nil when no scope declares it with a string default.
func (w *k8sWalker) paramDefault(name string) *yaml.Node {
	for i := len(w.scopes) - 1; i >= 0; i-- {
		if d, ok := w.scopes[i][name]; ok {
			return d
		}
	}
	return nil
}

// tektonParams reads the params list of a mapping (a Task spec, a
// taskSpec, a StepAction spec): name to its string default (nil: declared
// without one, or with an array/object default). Nil when m declares none.
func tektonParams(m *yaml.Node) map[string]*yaml.Node {
	ps, ok := yamlLookup(m, "params")
	if !ok || ps == nil || ps.Kind != yaml.SequenceNode {
		return nil
	}
	var out map[string]*yaml.Node
	for _, p := range ps.Content {
		name, ok := yamlLookup(p, "name")
		if !ok || name == nil || name.Kind != yaml.ScalarNode || name.Value == "" {
			continue
		}
		if out == nil {
			out = map[string]*yaml.Node{}
		}
		d, ok := yamlLookup(p, "default")
		if ok && d != nil && d.Kind == yaml.ScalarNode && d.Tag != "!!null" && d.Value != "" {
			out[name.Value] = d
		} else {
			out[name.Value] = nil
		}
	}
	return out
}

// tektonComposedPin: a composed Tekton image has a home for its digest only
// when a literal @digest follows the variables; there it is refreshed.
func tektonComposedPin(r Ref) func(string) ([]Edit, error) {
	at := strings.LastIndexByte(r.Text, '@')
	if at < 0 || strings.LastIndexByte(r.Text, ')') > at {
		return func(string) ([]Edit, error) {
			return nil, fmt.Errorf("%w: %s is composed from Tekton params, and a digest after them would override every run's value; make one param's default hold the whole image (image: $(params.NAME))", ErrCannotPin, r.Text)
		}
	}
	return func(digest string) ([]Edit, error) {
		return []Edit{{Span: Span{r.Span.Start + at + 1, r.Span.End}, New: digest}}, nil
	}
}

// templateFlow returns the bytes of a flow collection that is a template
// ({{x}} parsed as a mapping): from "{{" to the first "}}" on its line.
func (w *k8sWalker) templateFlow(n *yaml.Node) (Span, bool) {
	src := w.ys.src
	off, ok := w.ys.offset(n.Line, n.Column)
	if !ok {
		return Span{}, false
	}
	off = yamlSkipProperties(src, off)
	if !bytes.HasPrefix(src[off:], []byte("{{")) {
		return Span{}, false
	}
	end := off + 2
	for e := end; e+1 < len(src) && yamlBreakLen(src, e) == 0; e++ {
		if src[e] == '}' && src[e+1] == '}' {
			end = e + 2
			break
		}
	}
	return Span{off, end}, true
}

// yamlScalarRef is the ref of scalar n: its value bytes, or why they
// cannot be edited.
func yamlScalarRef(ys *yamlSource, n *yaml.Node, context string) Ref {
	loc := ys.locateRef(n)
	return Ref{Span: loc.span, Context: context, Skip: loc.skip}
}

// yamlSpanPins gives every resolvable ref of a finished list that has no
// pin of its own the inline pin of its span.
func yamlSpanPins(refs []Ref) []Ref {
	for i := range refs {
		if refs[i].pin == nil && refs[i].Skip == "" {
			refs[i].pin = spanPin(refs[i].Span, refs[i].Text)
		}
	}
	return refs
}

// looksLikeKubernetes reports whether YAML holds Kubernetes objects: it has
// apiVersion and kind keys. It is a line scan, no parse. A file with a
// top-level services: key and no top-level apiVersion is compose, not
// Kubernetes, even if it embeds manifest text.
func looksLikeKubernetes(src []byte) bool {
	av, avTop := yamlKeyLine(src, "apiVersion")
	if !av {
		return false
	}
	if k, _ := yamlKeyLine(src, "kind"); !k {
		return false
	}
	if !avTop {
		if _, svcTop := yamlKeyLine(src, "services"); svcTop {
			return false
		}
	}
	return true
}
