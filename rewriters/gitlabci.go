package rewriters

// GitLab CI: .gitlab-ci.y[a]ml and the files its include: local: names.
//
// Image positions are image and services (a string, or a map's name) at
// the top level, in default:, and in every job, hidden .jobs included (they
// are what extends: copies). Nothing else named name: is an image
// (artifacts:name, environment:name).
//
// Decisions beyond DESIGN.md:
//   - !reference [.job, key, …] in an image position is resolved inside
//     the same file: the scalar it points at is the ref (reported once,
//     wherever it is used), so a hidden key holding an image string or a
//     service list is found through its users. A !reference whose target
//     is in another file is not followed (that file is read on its own).
//   - Variables: an image holding $VAR or ${VAR} whose variables all have
//     one value in this file (the job's variables:, then the top-level
//     ones; not set by parallel: matrix) is a real ref. When the whole
//     image is one variable, the ref is that variable's value (followed
//     through variables that are wholly another, KEY: $IMAGE, which GitLab
//     expands), pinned there (as a Dockerfile ARG default) only when every
//     use of the variable in this file and its local includes is a whole
//     image, in block or flow style, or the whole value of a variable used
//     so in turn, and no trigger: passes it to a pipeline not read here
//     (decidePins); otherwise it is a composed ref
//     (Expanded, Note naming the values) pinned only where a literal
//     @sha256:… follows the variables. Any variable the file does not give
//     (GitLab's predefined $CI_…, project, group or pipeline variables)
//     and $[[ inputs ]] make the ref skipped. A job's variables reached
//     through extends: are not merged in (the hidden job's own image sees
//     them when it is read).
//   - include: local: (a string include that is not a URL, and the local
//     includes of trigger: child pipelines) are followed through
//     File.Follow, globs (*, **) expanded against File.Tree. project:,
//     remote:, template: and component: includes live elsewhere; a
//     component's name@version is not an image.

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/digestbot/digestbot/pkg/imgref"
	"go.yaml.in/yaml/v3"
)

// GitLabCI is the kind of GitLab CI configuration files.
const GitLabCI Kind = "gitlab-ci"

type gitlabFormat struct{}

func (gitlabFormat) Kind() Kind { return GitLabCI }

// Candidate: .gitlab-ci.yml or .gitlab-ci.yaml in any folder. Included
// files come in through Follow, whatever their names.
func (gitlabFormat) Candidate(p string) bool {
	base := path.Base(p)
	return base == ".gitlab-ci.yml" || base == ".gitlab-ci.yaml"
}

func (gitlabFormat) Claim(*File) bool { return true }

// gitlabReserved are top-level keys that are not jobs.
var gitlabReserved = map[string]bool{
	"default": true, "include": true, "stages": true, "variables": true,
	"workflow": true, "spec": true, "image": true, "services": true,
	"before_script": true, "after_script": true, "cache": true,
}

const (
	skipGitLabVariable = "CI/CD variable: the image comes from the pipeline's variables"
	skipGitLabInput    = "CI/CD input ($[[ ]]): set where the file is included"
)

// Find returns the image and service references of one GitLab CI file and
// asks to follow its local includes.
func (gitlabFormat) Find(f *File) ([]Ref, error) {
	docs, err := yamlDecodeStream(f.Src)
	if err != nil {
		return nil, err
	}
	w := &gitlabWalker{ys: newYAMLSource(f.Src), f: f, reported: map[*yaml.Node]bool{}}
	for _, doc := range docs {
		if root := yamlDocRoot(doc); root != nil && root.Kind == yaml.MappingNode {
			w.roots = append(w.roots, root)
		}
	}
	w.topVars = map[string]gitlabVar{}
	for _, root := range w.roots {
		if v, ok := yamlLookup(root, "variables"); ok {
			gitlabVars(v, "variables", w.topVars)
		}
	}
	for _, root := range w.roots {
		w.walkRoot(root)
	}
	w.decidePins(docs)
	if len(w.follow) > 0 {
		f.Follow(w.follow...)
	}
	return yamlFinishRefs(f.Src, w.refs), nil
}

type gitlabWalker struct {
	ys       *yamlSource
	f        *File
	roots    []*yaml.Node
	reported map[*yaml.Node]bool
	refs     []Ref
	follow   []string
	followed map[string]bool

	// images holds every scalar read in an image position (a variable
	// used there as a whole value is a safe place for a pinned value);
	// pending are the refs at a variable's value whose pin waits for the
	// whole file to be read (decidePins).
	images   map[*yaml.Node]bool
	pending  []gitlabPending
	triggers []gitlabTrigger

	// Variables in scope: the job's own (jobVars, with the names its
	// parallel: matrix sets in matrixVars) over the file's top-level ones.
	topVars, jobVars map[string]gitlabVar
	matrixVars       map[string]bool
}

// gitlabVar is a variable the file defines: its value node and where.
type gitlabVar struct {
	name string
	node *yaml.Node
	ctx  string // "variables.IMAGE", "build.variables.IMAGE"
	raw  bool   // expand: false: GitLab does not expand its value
}

// gitlabTrigger is a trigger job whose downstream pipeline is not read
// here (trigger: project, or an include that is not local): the variables
// it forwards (its own, and the top-level ones it inherits, as
// trigger:forward:yaml_variables does by default) are used there unseen.
type gitlabTrigger struct {
	job     string
	line    int
	own     map[string]bool
	globals bool            // inherits the top-level variables
	only    map[string]bool // inherit: variables: [names]; nil: all
}

// noteTrigger records a trigger job whose downstream pipeline is unseen.
func (w *gitlabWalker) noteTrigger(job, tr *yaml.Node, name string) {
	if tr == nil {
		return
	}
	unseen := tr.Kind == yaml.ScalarNode // trigger: group/project
	if tr.Kind == yaml.MappingNode {
		if _, ok := yamlLookup(tr, "project"); ok {
			unseen = true
		}
		if inc, ok := yamlLookup(tr, "include"); ok && !gitlabLocalOnly(inc) {
			unseen = true
		}
		if fw, ok := yamlLookup(tr, "forward"); ok && fw != nil {
			if yv, ok := yamlLookup(yamlResolve(fw), "yaml_variables"); ok {
				if yv = yamlResolve(yv); yv != nil && yv.Tag == "!!bool" && strings.EqualFold(yv.Value, "false") {
					return // forwards no variables
				}
			}
		}
	}
	if !unseen {
		return
	}
	t := gitlabTrigger{job: name, line: tr.Line, own: map[string]bool{}, globals: true}
	for k := range w.jobVars {
		t.own[k] = true
	}
	if inh, ok := yamlLookup(job, "inherit"); ok {
		if iv, ok := yamlLookup(yamlResolve(inh), "variables"); ok {
			switch iv = yamlResolve(iv); {
			case iv == nil:
			case iv.Kind == yaml.ScalarNode && iv.Tag == "!!bool":
				t.globals = !strings.EqualFold(iv.Value, "false")
			case iv.Kind == yaml.SequenceNode:
				t.only = map[string]bool{}
				for _, e := range iv.Content {
					if e = yamlResolve(e); e != nil && e.Kind == yaml.ScalarNode {
						t.only[e.Value] = true
					}
				}
			}
		}
	}
	w.triggers = append(w.triggers, t)
}

// gitlabLocalOnly reports whether a trigger's include names only local
// files (read here through Follow).
func gitlabLocalOnly(v *yaml.Node) bool {
	v = yamlResolve(v)
	switch {
	case v == nil:
		return true
	case v.Kind == yaml.ScalarNode:
		return !strings.Contains(v.Value, "://") && !strings.Contains(v.Value, "$")
	case v.Kind == yaml.SequenceNode:
		for _, e := range v.Content {
			if !gitlabLocalOnly(e) {
				return false
			}
		}
		return true
	case v.Kind == yaml.MappingNode:
		// local: with inputs: or rules: is still the local file.
		l, ok := yamlLookup(v, "local")
		return ok && gitlabLocalOnly(l)
	}
	return false
}

// forwards reports whether the trigger passes variable name (global: a
// top-level variable of the pipeline) downstream.
func (t gitlabTrigger) forwards(name string, global bool) bool {
	return t.own[name] || (global && t.globals && (t.only == nil || t.only[name]))
}

// gitlabPending is a ref at variable name's value, pinned there only when
// every use of name is a whole image (decidePins).
type gitlabPending struct {
	ref  int // index in gitlabWalker.refs
	name string
	span Span
}

func (w *gitlabWalker) walkRoot(root *yaml.Node) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || yamlMergeKey(k) {
			continue
		}
		switch k.Value {
		case "include":
			w.includes(v, false)
		case "image":
			w.image(v, "image")
		case "services":
			w.services(v, "services")
		case "default":
			w.job(v, "default")
		default:
			if !gitlabReserved[k.Value] {
				w.job(v, k.Value)
			}
		}
	}
}

// job reads image and services of a job (or of default:), and the local
// includes of a trigger: child pipeline.
func (w *gitlabWalker) job(v *yaml.Node, name string) {
	m := yamlResolve(v)
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	w.jobVars, w.matrixVars = map[string]gitlabVar{}, map[string]bool{}
	defer func() { w.jobVars, w.matrixVars = nil, nil }()
	if vars, ok := yamlLookup(m, "variables"); ok {
		gitlabVars(vars, name+".variables", w.jobVars)
	}
	if par, ok := yamlLookup(m, "parallel"); ok && par != nil && par.Kind == yaml.MappingNode {
		if mx, ok := yamlLookup(par, "matrix"); ok && mx != nil && mx.Kind == yaml.SequenceNode {
			for _, e := range mx.Content {
				if e = yamlResolve(e); e != nil && e.Kind == yaml.MappingNode {
					for i := 0; i < len(e.Content); i += 2 {
						w.matrixVars[e.Content[i].Value] = true
					}
				}
			}
		}
	}
	if img, ok := yamlLookup(m, "image"); ok {
		w.image(img, name+".image")
	}
	if svc, ok := yamlLookup(m, "services"); ok {
		w.services(svc, name+".services")
	}
	if tr, ok := yamlLookup(m, "trigger"); ok {
		w.noteTrigger(m, yamlResolve(tr), name)
	}
	if tr, ok := yamlLookup(m, "trigger"); ok && tr != nil && tr.Kind == yaml.MappingNode {
		if inc, ok := yamlLookup(tr, "include"); ok {
			w.includes(inc, true)
		}
	}
}

// image reads an image: value: a string, a map with name:, or a
// !reference to either.
func (w *gitlabWalker) image(v *yaml.Node, ctx string) {
	v, ctx = w.derefCtx(v, ctx, 0)
	if v == nil {
		return
	}
	switch v.Kind {
	case yaml.ScalarNode:
		w.add(v, ctx)
	case yaml.MappingNode:
		if n, ok := yamlLookup(v, "name"); ok {
			if n, c := w.derefCtx(n, ctx+".name", 0); n != nil && n.Kind == yaml.ScalarNode {
				w.add(n, c)
			}
		}
	}
}

// services reads a services: list (or a !reference to one); GitLab
// flattens lists nested by !reference.
func (w *gitlabWalker) services(v *yaml.Node, ctx string) {
	w.serviceList(v, ctx, 0)
}

func (w *gitlabWalker) serviceList(v *yaml.Node, ctx string, depth int) {
	v, ctx = w.derefCtx(v, ctx, 0)
	if v == nil || depth > 8 {
		return
	}
	if v.Kind != yaml.SequenceNode {
		w.image(v, ctx)
		return
	}
	for i, item := range v.Content {
		it, c := w.derefCtx(item, ctx+"["+strconv.Itoa(i)+"]", 0)
		if it == nil {
			continue
		}
		if it.Kind == yaml.SequenceNode {
			w.serviceList(it, c, depth+1)
			continue
		}
		w.image(it, c)
	}
}

// derefCtx resolves aliases and !reference [key, key|index, …] tags to the
// node they name in this file (nil when the target is not here), and
// returns the context of the node reached: ctx itself, or the path the
// !reference names.
func (w *gitlabWalker) derefCtx(n *yaml.Node, ctx string, depth int) (*yaml.Node, string) {
	n = yamlResolve(n)
	if n == nil || n.Tag != "!reference" {
		return n, ctx
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 || depth > 8 {
		return nil, ctx
	}
	for _, root := range w.roots {
		cur := root
		at := ""
		for _, p := range n.Content {
			p = yamlResolve(p)
			if cur == nil || p == nil || p.Kind != yaml.ScalarNode {
				cur = nil
				break
			}
			switch cur.Kind {
			case yaml.MappingNode:
				at = k8sJoinPath(at, p.Value)
				next, ok := yamlLookup(cur, p.Value)
				if !ok {
					next = nil
				}
				cur = next
			case yaml.SequenceNode:
				i, err := strconv.Atoi(p.Value)
				if err != nil || i < 0 || i >= len(cur.Content) {
					cur = nil
				} else {
					cur = yamlResolve(cur.Content[i])
					at += "[" + p.Value + "]"
				}
			default:
				cur = nil
			}
			if cur != nil && cur.Tag == "!reference" {
				cur, at = w.derefCtx(cur, at, depth+1)
			}
		}
		if cur != nil {
			return cur, at
		}
	}
	return nil, ctx
}

// gitlabVarRe finds variable uses: $VAR or ${VAR}.
var gitlabVarRe = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// gitlabVars adds the variables of a variables: mapping: a string value,
// or a map's value: (top-level variables may carry a description).
func gitlabVars(v *yaml.Node, ctx string, into map[string]gitlabVar) {
	v = yamlResolve(v)
	if v == nil || v.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], yamlResolve(v.Content[i+1])
		if k.Kind != yaml.ScalarNode || yamlMergeKey(k) || val == nil {
			continue
		}
		raw := false
		if val.Kind == yaml.MappingNode {
			raw = gitlabRawVar(val)
			if vv, ok := yamlLookup(val, "value"); ok {
				val = yamlResolve(vv)
			}
		}
		into[k.Value] = gitlabVar{name: k.Value, node: val, ctx: ctx + "." + k.Value, raw: raw}
	}
}

// gitlabRawVar reports whether a variable's map form says expand: false.
func gitlabRawVar(m *yaml.Node) bool {
	e, ok := yamlLookup(m, "expand")
	e = yamlResolve(e)
	return ok && e != nil && e.Kind == yaml.ScalarNode && e.Tag == "!!bool" && strings.EqualFold(e.Value, "false")
}

// gitlabWholeVar returns the variable a value is wholly made of ("$NAME",
// "${NAME}"), or "".
func gitlabWholeVar(v string) string {
	if u := gitlabVarRe.FindStringSubmatchIndex(v); u != nil && u[0] == 0 && u[1] == len(v) {
		return gitlabVarName(v, u)
	}
	return ""
}

// lookupVar returns a variable's value when the file gives exactly one:
// a plain string with no variables of its own, not set by a matrix. A
// value that is wholly another variable (KEY: $IMAGE) is followed, as
// GitLab expands variables inside variables: the result is the last
// variable's value, and via names the ones passed through ("" when none).
func (w *gitlabWalker) lookupVar(name string) (v gitlabVar, via string, ok bool) {
	var hops []string
	for depth := 0; depth < 8; depth++ {
		if w.matrixVars[name] {
			return gitlabVar{}, "", false
		}
		v, ok = w.jobVars[name]
		if !ok {
			v, ok = w.topVars[name]
		}
		if !ok || v.node == nil || v.node.Kind != yaml.ScalarNode || v.node.Tag != "!!str" || v.node.Value == "" {
			return gitlabVar{}, "", false
		}
		if !strings.Contains(v.node.Value, "$") {
			return v, strings.Join(hops, ", "), true
		}
		next := gitlabWholeVar(v.node.Value)
		if v.raw || next == "" || next == name {
			return gitlabVar{}, "", false
		}
		hops = append(hops, "$"+name+" ("+v.ctx+")")
		name = next
	}
	return gitlabVar{}, "", false
}

func (w *gitlabWalker) add(n *yaml.Node, ctx string) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return
	}
	if w.images == nil {
		w.images = map[*yaml.Node]bool{}
	}
	w.images[n] = true
	if n.Tag == "!!null" || n.Value == "" || w.reported[n] {
		return
	}
	w.reported[n] = true
	loc := w.ys.locateRef(n)
	r := Ref{Span: loc.span, Context: ctx, Skip: loc.skip}
	v := n.Value
	switch {
	case r.Skip != "":
	case strings.Contains(v, "$[["):
		r.Skip = skipGitLabInput
	case strings.Contains(v, "$"):
		if w.variableRef(&r, n, ctx) {
			return
		}
	case strings.Contains(v, "{{"):
		r.Skip = skipYAMLTemplateVal
	}
	if r.Span.Start == r.Span.End && r.Skip == "" {
		r.Skip = skipYAMLNotLocated
	}
	if r.Skip == "" && r.pin == nil {
		r.pin = spanPin(r.Span, string(w.ys.src[r.Span.Start:r.Span.End]))
	}
	w.refs = append(w.refs, r)
}

// variableRef handles an image value holding variables. When the file
// gives every variable one value, the image is a real ref: a value that
// is one variable is the ref written at the variable's value (pinned there,
// as a Dockerfile ARG default); otherwise it is a composed ref, pinned only
// where a literal @digest follows the variables. Any variable the file does
// not give (GitLab's predefined $CI_…, project or pipeline variables, a
// matrix) makes it skipped. It reports whether it added the ref itself.
func (w *gitlabWalker) variableRef(r *Ref, n *yaml.Node, ctx string) bool {
	v := n.Value
	uses := gitlabVarRe.FindAllStringSubmatchIndex(v, -1)
	var unknown, notes []string
	vals := map[string]gitlabVar{}
	vias := map[string]string{}
	for _, u := range uses {
		name := gitlabVarName(v, u)
		gv, via, ok := w.lookupVar(name)
		if !ok {
			unknown = append(unknown, "$"+name)
			continue
		}
		if _, seen := vals[name]; !seen {
			where := gv.ctx
			if via != "" {
				where += " through " + via
			}
			notes = append(notes, name+"="+gv.node.Value+" ("+where+")")
		}
		vals[name], vias[name] = gv, via
	}
	if len(unknown) > 0 || len(uses) == 0 || strings.Contains(v, "$$") {
		r.Skip = skipGitLabVariable
		if len(unknown) > 0 {
			r.Skip += " (" + strings.Join(unknown, ", ") + ")"
		}
		return false
	}
	// Expand.
	var b strings.Builder
	last := 0
	for _, u := range uses {
		b.WriteString(v[last:u[0]])
		b.WriteString(vals[gitlabVarName(v, u)].node.Value)
		last = u[1]
	}
	b.WriteString(v[last:])
	exp := b.String()
	if _, err := imgref.Parse(exp); err != nil {
		r.Skip = fmt.Sprintf("composed from variables (%s) into %q, not an image reference", strings.Join(notes, ", "), clip(exp, 80))
		return false
	}
	if len(uses) == 1 && uses[0][0] == 0 && uses[0][1] == len(v) {
		// The whole image is one variable: the ref is its value (the last
		// one's, for a variable that is wholly another).
		name := gitlabVarName(v, uses[0])
		gv := vals[name]
		if w.reported[gv.node] {
			return true
		}
		w.reported[gv.node] = true
		loc := w.ys.locate(gv.node)
		used := ctx
		if via := vias[name]; via != "" {
			used += " through " + via
		}
		vr := Ref{Span: loc.span, Context: gv.ctx + " (" + used + ")", Skip: loc.skip}
		if vr.Skip == "" {
			// Pinned or not once every use of the variable is known.
			w.pending = append(w.pending, gitlabPending{ref: len(w.refs), name: gv.name, span: loc.span})
		}
		w.refs = append(w.refs, vr)
		return true
	}
	r.Composed, r.Expanded = true, exp
	r.Note = "variables: " + strings.Join(notes, ", ")
	at := strings.LastIndexByte(v, '@')
	if at >= 0 && !strings.Contains(v[at:], "$") && r.Span.End-r.Span.Start == len(v) {
		// A literal digest after the variables is the digest's own home.
		span := Span{r.Span.Start + at + 1, r.Span.End}
		r.pin = func(digest string) ([]Edit, error) { return []Edit{{Span: span, New: digest}}, nil }
	} else {
		r.pin = cannotPin(fmt.Sprintf("%s is composed from variables (%s); write the whole image in one variable (IMAGE: repo:tag, image: $IMAGE) or append a literal @sha256:… so fix has a place to write the digest", ctx, strings.Join(notes, ", ")))
	}
	return false
}

// decidePins gives each ref at a variable's value its pin: the value is
// pinned in place only when every use of the variable, in this file and
// the local files it includes, is a whole image (image: $IMAGE, a
// services item, a name: key, in block or flow style) or the whole value
// of another variable whose uses are whole images in turn (KEY: $IMAGE,
// image: $KEY; GitLab expands variables inside variables). Anywhere else
// (a script, a composed image, rules:if, expand: false, a downstream
// pipeline a trigger: job passes it to that is not read here) the digest
// would land too, so the ref is left unpinned with the first such use named.
// A variable set in an included file is the whole pipeline's: the uses in
// the pipelines that include it (includerUnits) count too, and when none
// of the tree's .gitlab-ci.yml files reaches it, it is not pinned.
func (w *gitlabWalker) decidePins(docs []*yaml.Node) {
	if len(w.pending) == 0 {
		return
	}
	units := w.useUnits(docs)
	includers, found := w.includerUnits()
	// An includer's units hold this file and what it includes again (and
	// two includers may share files): each file is searched once.
	seen := make(map[string]bool, len(units))
	for _, u := range units {
		seen[u.path] = true
	}
	for _, u := range includers {
		if !seen[u.path] {
			seen[u.path] = true
			units = append(units, u)
		}
	}
	// A file named .gitlab-ci.y[a]ml that no pipeline includes is a
	// pipeline of its own; any other file is read here only because a
	// pipeline includes it, and one that none of the tree's pipelines
	// reaches has includers digestbot does not see.
	if b := path.Base(w.f.Path); !found && b != ".gitlab-ci.yml" && b != ".gitlab-ci.yaml" {
		for _, p := range w.pending {
			w.refs[p.ref].pin = cannotPin(fmt.Sprintf("$%s is set in %s, which no .gitlab-ci.yml from its folder up to the root includes, so its other uses cannot be checked: set the variable in the file that includes %s", p.name, w.f.Path, path.Base(w.f.Path)))
		}
		return
	}
	for _, p := range w.pending {
		r := &w.refs[p.ref]
		if why := gitlabOtherUse(units, p.name, map[string]bool{}); why != "" {
			r.pin = cannotPin(fmt.Sprintf("$%s is %s; pinning its value would change that use too: give the image a variable of its own", p.name, why))
			continue
		}
		r.pin = spanPin(p.span, string(w.ys.src[p.span.Start:p.span.End]))
	}
}

// gitlabUnit is one file searched for a variable's uses: its documents
// and the scalars its walk read in image positions.
type gitlabUnit struct {
	path     string
	docs     []*yaml.Node
	images   map[*yaml.Node]bool
	triggers []gitlabTrigger
	globals  map[string]gitlabVar // its top-level variables
}

// gitlabMaxUnits caps how many included files are read for variable uses.
const gitlabMaxUnits = 64

// useUnits returns this file and the local files it includes (and those
// include, up to gitlabMaxUnits), each walked as GitLab CI to learn its
// image positions. Top-level variables reach every included file.
func (w *gitlabWalker) useUnits(docs []*yaml.Node) []gitlabUnit {
	units := []gitlabUnit{{path: w.f.Path, docs: docs, images: w.images, triggers: w.triggers, globals: w.topVars}}
	if w.f.Tree == nil {
		return units
	}
	seen := map[string]bool{w.f.Path: true}
	queue := append([]string(nil), w.follow...)
	for len(queue) > 0 && len(units) < gitlabMaxUnits {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		sub, sdocs, ok := gitlabLoad(w.f.Tree, p)
		if !ok {
			continue // missing or not YAML: GitLab refuses the pipeline anyway
		}
		units = append(units, gitlabUnit{path: p, docs: sdocs, images: sub.images, triggers: sub.triggers, globals: sub.topVars})
		queue = append(queue, sub.follow...)
	}
	return units
}

// gitlabLoad reads the tree's file p and walks it as GitLab CI, for its
// image positions, triggers, top-level variables and includes.
func gitlabLoad(tree fs.FS, p string) (*gitlabWalker, []*yaml.Node, bool) {
	src, ok := readTreeFile(tree, p, maxComposeSize)
	if !ok {
		return nil, nil, false
	}
	sdocs, err := yamlDecodeStream(src)
	if err != nil {
		return nil, nil, false
	}
	sub := &gitlabWalker{ys: newYAMLSource(src), f: &File{Path: p, Src: src, Tree: tree}, reported: map[*yaml.Node]bool{}, images: map[*yaml.Node]bool{}, topVars: map[string]gitlabVar{}}
	for _, doc := range sdocs {
		if root := yamlDocRoot(doc); root != nil && root.Kind == yaml.MappingNode {
			sub.roots = append(sub.roots, root)
		}
	}
	for _, root := range sub.roots {
		if v, ok := yamlLookup(root, "variables"); ok {
			gitlabVars(v, "variables", sub.topVars)
		}
	}
	for _, root := range sub.roots {
		sub.walkRoot(root)
	}
	return sub, sdocs, true
}

// includerUnits returns the units of the pipelines that include this file
// (directly or through other includes): the .gitlab-ci.y[a]ml of each
// folder from the file's own up to the root. A variable an included file
// sets is the whole pipeline's, so its uses there count too. found is
// false when no such pipeline reaches the file: who includes it, and how
// they use its variables, is then unknown. Every included file asks, so
// the files read for it are capped (gitlabMaxUnits in all): past the cap
// the search stops, and an includer not yet found stays unknown.
func (w *gitlabWalker) includerUnits() (units []gitlabUnit, found bool) {
	if w.f.Tree == nil {
		return nil, false
	}
	dir := path.Dir(w.f.Path)
	read := 0
	for {
		for _, name := range []string{".gitlab-ci.yml", ".gitlab-ci.yaml"} {
			p := path.Join(dir, name)
			if p == w.f.Path || read >= gitlabMaxUnits {
				continue
			}
			top, docs, ok := gitlabLoad(w.f.Tree, p)
			if !ok {
				continue
			}
			us := top.useUnits(docs)
			read += len(us)
			for _, u := range us {
				if u.path == w.f.Path {
					units = append(units, us...)
					found = true
					break
				}
			}
		}
		if dir == "." {
			return units, found
		}
		dir = path.Dir(dir)
	}
}

// gitlabOtherUse returns where variable name is used other than as a
// whole image ("also used in build.script[0] (.gitlab-ci.yml:7), not as
// a whole image", "copied into $KEY (test.variables.KEY), which is …",
// "also passed to the pipeline that deploy triggers …"), or "" when it is
// not. seen stops a variable being searched twice (and cycles: KEY: $IMG,
// IMG: $KEY).
func gitlabOtherUse(units []gitlabUnit, name string, seen map[string]bool) string {
	if seen[name] {
		return ""
	}
	seen[name] = true
	global := false
	for _, u := range units {
		if _, ok := u.globals[name]; ok {
			global = true
		}
	}
	for _, u := range units {
		for _, t := range u.triggers {
			if t.forwards(name, global) {
				return fmt.Sprintf("also passed to the downstream pipeline that %s triggers (%s:%d), where digestbot cannot see how it is used", t.job, u.path, t.line)
			}
		}
	}
	for _, u := range units {
		var why string
		visit := func(n *yaml.Node, at, def string, raw bool) bool {
			found := false
			for _, m := range gitlabVarRe.FindAllStringSubmatchIndex(n.Value, -1) {
				if gitlabVarName(n.Value, m) == name {
					found = true
					break
				}
			}
			switch {
			case !found:
			case gitlabWholeVar(n.Value) == name && u.images[n]:
			case raw:
				why = fmt.Sprintf("copied unexpanded (expand: false) into %s (%s:%d)", at, u.path, n.Line)
			case gitlabWholeVar(n.Value) == name && def != "":
				if inner := gitlabOtherUse(units, def, seen); inner != "" {
					why = "copied into $" + def + " (" + at + "), which is " + inner
				}
			default:
				why = fmt.Sprintf("also used in %s (%s:%d), not as a whole image", at, u.path, n.Line)
			}
			return why == ""
		}
		for _, d := range u.docs {
			if !gitlabScalars(d, "", false, visit) {
				return why
			}
		}
	}
	return ""
}

// gitlabScalars calls visit on every scalar value under n (not keys, not
// aliases: an alias's target is visited where it is written) with its
// path and, for the value of a variable in a variables: mapping (string or
// value: form), that variable's name, or raw when it says expand: false.
// It stops and returns false when visit does.
func gitlabScalars(n *yaml.Node, at string, inVars bool, visit func(n *yaml.Node, at, def string, raw bool) bool) bool {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := at
			if n.Kind == yaml.SequenceNode {
				p += "[" + strconv.Itoa(i) + "]"
			}
			if !gitlabScalars(c, p, false, visit) {
				return false
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k8sJoinPath(at, k.Value)
			if inVars && k.Kind == yaml.ScalarNode && !yamlMergeKey(k) {
				def, raw := k.Value, false
				val := v
				if v.Kind == yaml.MappingNode {
					if raw = gitlabRawVar(v); raw {
						def = ""
					}
					val, _ = yamlLookup(v, "value")
				}
				if val != nil && val.Kind == yaml.ScalarNode && !visit(val, p, def, raw) {
					return false
				}
				if v.Kind == yaml.MappingNode {
					// description: and the rest: any use there is another use.
					for j := 0; j+1 < len(v.Content); j += 2 {
						if v.Content[j+1] != val && !gitlabScalars(v.Content[j+1], k8sJoinPath(p, v.Content[j].Value), false, visit) {
							return false
						}
					}
				} else if v.Kind != yaml.ScalarNode && !gitlabScalars(v, p, false, visit) {
					return false
				}
				continue
			}
			if !gitlabScalars(v, p, k.Kind == yaml.ScalarNode && k.Value == "variables", visit) {
				return false
			}
		}
	case yaml.ScalarNode:
		return visit(n, at, "", false)
	}
	return true
}

func gitlabVarName(v string, u []int) string {
	if u[2] >= 0 {
		return v[u[2]:u[3]]
	}
	return v[u[4]:u[5]]
}

// includes follows local includes: a string that is not a URL, local:
// entries, and (inTrigger) the string form of a child pipeline's include.
func (w *gitlabWalker) includes(v *yaml.Node, inTrigger bool) {
	v = yamlResolve(v)
	if v == nil {
		return
	}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!str" && !strings.Contains(v.Value, "://") {
			w.followLocal(v.Value)
		}
	case yaml.SequenceNode:
		for _, e := range v.Content {
			w.includes(e, inTrigger)
		}
	case yaml.MappingNode:
		if l, ok := yamlLookup(v, "local"); ok && l != nil && l.Kind == yaml.ScalarNode {
			w.followLocal(l.Value)
		}
	}
}

// gitlabMaxGlob caps how many files one include glob may name and how many
// tree entries expanding it may visit.
const (
	gitlabMaxGlob      = 200
	gitlabMaxGlobVisit = 20000
)

func (w *gitlabWalker) followLocal(p string) {
	p = strings.TrimSpace(p)
	if p == "" || strings.Contains(p, "$") {
		return // a variable: not known here
	}
	p = path.Clean(strings.TrimLeft(p, "/"))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return
	}
	if !strings.ContainsAny(p, "*?") {
		w.addFollow(p)
		return
	}
	if w.f.Tree == nil {
		return
	}
	re, err := gitlabGlobRe(p)
	if err != nil {
		return
	}
	// Walk from the part of the pattern before its first wildcard.
	dir := "."
	if i := strings.IndexAny(p, "*?"); i > 0 {
		if j := strings.LastIndexByte(p[:i], '/'); j > 0 {
			dir = p[:j]
		}
	}
	visited, matched := 0, 0
	_ = fs.WalkDir(w.f.Tree, dir, func(name string, d fs.DirEntry, err error) error {
		visited++
		if visited > gitlabMaxGlobVisit || matched >= gitlabMaxGlob {
			return fs.SkipAll
		}
		if err != nil || d == nil {
			return nil // an unreadable folder: its files are not included
		}
		if d.IsDir() {
			if d.Name() == ".git" && name != dir {
				return fs.SkipDir
			}
			return nil
		}
		if isYAMLName(name) && re.MatchString(name) {
			matched++
			w.addFollow(name)
		}
		return nil
	})
}

func (w *gitlabWalker) addFollow(p string) {
	if w.followed == nil {
		w.followed = map[string]bool{}
	}
	if p == w.f.Path || w.followed[p] {
		return
	}
	w.followed[p] = true
	w.follow = append(w.follow, p)
}

// gitlabGlobRe turns an include glob into a regexp over root-relative
// paths: ** matches across folders, * and ? within one.
func gitlabGlobRe(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				i++
				if i+1 < len(p) && p[i+1] == '/' {
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
