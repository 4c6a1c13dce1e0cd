package rewriters

// docker buildx bake files (docker-bake.hcl, docker-bake.json,
// docker-bake.override.hcl/.json, and other docker-bake*.hcl/.json): the
// "docker-image://…" values of every target's contexts (named build
// contexts that replace a Dockerfile's FROM image). The ref starts after
// docker-image://; fix appends the digest there, which buildx honours.
//
// Not references: tags, cache-from, cache-to and output (what the build
// writes, not what it reads), args (build arguments, whatever their name),
// contexts given as folders, target:… or other schemes.
//
// Variables: a context that interpolates plain ${NAME}s of variables
// whose default the file writes as a literal string (variable "TAG" {
// default = "3.20" }) is a composed ref, expanded as bake expands it (see
// cicomposed.go); the note says that an environment variable of the same
// name overrides the default. Skipped with the reason: anything else in
// ${…} (functions, conditionals, attributes, %{ } directives), variables
// with no string default, variables bake sets itself or another file
// defines, and a variable the other bake files of the folder that bake
// reads by default (docker-bake.override.hcl…) also define.
//
// HCL is read with hclsyntax, whose ranges are byte offsets; a string's
// bytes must equal its value (no escapes) to be edited. JSON is read with
// hujson, as for Cloud Build; its strings are HCL templates to bake.

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/tailscale/hujson"
	"github.com/zclconf/go-cty/cty"
)

// Bake is the kind of docker buildx bake files.
const Bake Kind = "bake"

const (
	bakeImagePrefix = "docker-image://"
	skipBakeHeredoc = "heredoc string; edit by hand"
	skipHCLEscapes  = "HCL string uses escapes; edit by hand"
)

type bakeFormat struct{}

func (bakeFormat) Kind() Kind { return Bake }

func (bakeFormat) Candidate(p string) bool {
	b := lowerBase(p)
	return strings.HasPrefix(b, "docker-bake") && (strings.HasSuffix(b, ".hcl") || strings.HasSuffix(b, ".json"))
}

func (bakeFormat) Claim(*File) bool { return true }

func (bakeFormat) Find(f *File) ([]Ref, error) {
	if strings.HasSuffix(lowerBase(f.Path), ".json") {
		return bakeJSON(f)
	}
	return bakeHCL(f)
}

func bakeJSON(f *File) ([]Ref, error) {
	src := f.Src
	root, base, err := ciJSONParse(src)
	if err != nil {
		return nil, err
	}
	var refs []Ref
	vars := &bakeVars{f: f, own: bakeJSONVars(&root)}
	names, targets := ciJSONMembers(ciJSONLookup(&root, "target"))
	for i, t := range targets {
		keys, vals := ciJSONMembers(ciJSONLookup(t, "contexts"))
		for j, v := range vals {
			ctx := "target." + names[i] + ".contexts." + keys[j]
			if r, ok := ciJSONRef(src, base, v, ctx, bakeImagePrefix, "bake"); ok {
				if r.Skip != "" && r.Skip != skipJSONEscapes {
					vars.composed(&r, string(src[r.Span.Start:r.Span.End]))
				}
				refs = append(refs, r)
			}
		}
	}
	return yamlFinishRefs(src, refs), nil
}

func bakeHCL(f *File) (refs []Ref, err error) {
	src := f.Src
	defer func() {
		if r := recover(); r != nil {
			refs, err = nil, &ParseError{Msg: fmt.Sprintf("invalid HCL: parser failed: %v", r)}
		}
	}()
	base := 0
	if bytes.HasPrefix(src, yamlBOM) {
		base = len(yamlBOM)
	}
	if hclNestedTooDeep(src[base:], maxYAMLDepth) {
		return nil, &ParseError{Msg: fmt.Sprintf("HCL nested deeper than %d levels", maxYAMLDepth)}
	}
	file, diags := hclsyntax.ParseConfig(src[base:], "docker-bake.hcl", hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		pe := &ParseError{Msg: "invalid HCL"}
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				pe.Msg += ": " + d.Summary
				if d.Subject != nil {
					pe.Line = d.Subject.Start.Line
				}
				break
			}
		}
		return nil, pe
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return nil, &ParseError{Msg: "invalid HCL: no body"}
	}
	vars := &bakeVars{f: f, own: bakeHCLVars(body)}
	for _, b := range body.Blocks {
		if b.Type != "target" || b.Body == nil {
			continue
		}
		attr, ok := b.Body.Attributes["contexts"]
		if !ok {
			continue
		}
		label := ""
		if len(b.Labels) > 0 {
			label = b.Labels[0]
		}
		refs = append(refs, bakeContexts(src, base, attr.Expr, "target."+label+".contexts", vars)...)
	}
	return yamlFinishRefs(src, refs), nil
}

// bakeContexts finds the docker-image:// strings in a contexts expression:
// an object, or objects inside merge(), conditionals and the like. Object
// keys are context names, never images.
func bakeContexts(src []byte, base int, expr hclsyntax.Expression, context string, vars *bakeVars) []Ref {
	keys := map[hclsyntax.Node]bool{}
	names := map[hclsyntax.Node]string{}
	var refs []Ref
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		switch e := n.(type) {
		case *hclsyntax.ObjectConsExpr:
			for _, it := range e.Items {
				keys[it.KeyExpr] = true
				if k, ok := it.KeyExpr.(*hclsyntax.ObjectConsKeyExpr); ok {
					keys[k.Wrapped] = true
				}
				if name := hcl.ExprAsKeyword(it.KeyExpr); name != "" {
					names[it.ValueExpr] = name
				} else if v, diags := it.KeyExpr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
					names[it.ValueExpr] = v.AsString()
				}
			}
		case *hclsyntax.TemplateExpr:
			if keys[e] {
				return nil
			}
			ctx := context
			if name, ok := names[e]; ok {
				ctx += "." + name
			}
			if r, ok := bakeTemplateRef(src, base, e, ctx, vars); ok {
				refs = append(refs, r)
			}
		}
		return nil
	})
	return refs
}

// bakeTemplateRef makes a Ref of a string template whose text starts with
// docker-image://.
func bakeTemplateRef(src []byte, base int, e *hclsyntax.TemplateExpr, context string, vars *bakeVars) (Ref, bool) {
	if len(e.Parts) == 0 {
		return Ref{}, false
	}
	first, ok := e.Parts[0].(*hclsyntax.LiteralValueExpr)
	if !ok || first.Val.Type() != cty.String || first.Val.IsNull() || !first.Val.IsKnown() {
		return Ref{}, false
	}
	lit := first.Val.AsString()
	if !strings.HasPrefix(lit, bakeImagePrefix) {
		return Ref{}, false
	}
	fr := first.SrcRange
	start, end := base+fr.Start.Byte, base+fr.End.Byte
	if start < 0 || end > len(src) || start > end {
		return Ref{}, false
	}
	whole := e.SrcRange
	quoted := whole.Start.Byte < whole.End.Byte && src[base+whole.Start.Byte] == '"' && src[base+whole.End.Byte-1] == '"'
	r := Ref{Span: Span{start, end}, Context: context}
	switch {
	case !quoted:
		r.Skip = skipBakeHeredoc
		if bytes.HasPrefix(src[start:end], []byte(bakeImagePrefix)) {
			r.Span.Start += len(bakeImagePrefix)
		}
		if i := bytes.IndexAny(src[r.Span.Start:end], "\r\n"); i >= 0 {
			r.Span.End = r.Span.Start + i
		}
		return r, true
	case string(src[start:end]) != lit:
		r.Skip = skipHCLEscapes
		if bytes.HasPrefix(src[start:end], []byte(bakeImagePrefix)) {
			r.Span.Start += len(bakeImagePrefix)
		}
		return r, true
	}
	r.Span.Start += len(bakeImagePrefix)
	if len(e.Parts) > 1 {
		// Interpolated: the ref is the template as written, which bake
		// composes from variables at build time.
		r.Span.End = base + whole.End.Byte - 1
		r.Skip = "uses " + bakeInterpolations(src[r.Span.Start:r.Span.End]) + ": expanded by bake; write the image literally to pin it"
		vars.composed(&r, string(src[r.Span.Start:r.Span.End]))
		return r, true
	}
	if strings.TrimSpace(lit[len(bakeImagePrefix):]) == "" {
		return Ref{}, false
	}
	r.Skip = ciSkipVariables(lit[len(bakeImagePrefix):], "bake")
	if r.Skip == "" {
		r.pin = spanPin(r.Span, lit[len(bakeImagePrefix):])
	}
	return r, true
}

// bakeInterpolations names the ${…} and %{…} sequences of a template.
func bakeInterpolations(b []byte) string {
	var out []string
	for i := 0; i+1 < len(b); i++ {
		if (b[i] == '$' || b[i] == '%') && b[i+1] == '{' {
			if i > 0 && b[i-1] == b[i] {
				continue // $${ and %%{ are escapes
			}
			depth, j := 0, i+1
			for ; j < len(b); j++ {
				if b[j] == '{' {
					depth++
				} else if b[j] == '}' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j >= len(b) {
				j = len(b) - 1
			}
			out = append(out, string(b[i:j+1]))
			i = j
		}
	}
	if len(out) == 0 {
		return "interpolation"
	}
	return strings.Join(out, ", ")
}

// hclNestedTooDeep reports whether brackets nest deeper than limit
// (counted over the whole text, strings included: conservative); the HCL
// parser recurses once per level and sets no limit itself.
func hclNestedTooDeep(src []byte, limit int) bool {
	depth := 0
	for _, c := range src {
		switch c {
		case '{', '[', '(':
			depth++
			if depth > limit {
				return true
			}
		case '}', ']', ')':
			if depth > 0 {
				depth--
			}
		}
	}
	return false
}

// bakeVar is a variable of a bake file: its default when the file writes
// it as a literal string, else why it has no value the repository gives.
type bakeVar struct {
	value string
	why   string
}

const (
	bakeNoDefault    = "has no default: its value comes from the environment"
	bakeNotLiteral   = "has a default that is not a literal string"
	bakeDefinedTwice = "is defined more than once in this file"
	// bakeAttribute: a global attribute (its name) sets the variable.
	bakeAttribute = "is set by a top-level attribute (%s = …), which bake uses over a variable's default"
)

// bakeDefaultFiles are the bake files `docker buildx bake` reads together
// when given no -f, later ones overriding earlier ones' variables.
var bakeDefaultFiles = []string{"docker-bake.json", "docker-bake.hcl", "docker-bake.override.json", "docker-bake.override.hcl"}

// bakeVars are the variables a bake file's contexts can read.
type bakeVars struct {
	f      *File
	own    map[string]bakeVar
	others map[string]string // variable → the other default file defining it; nil until read
}

func (vs *bakeVars) set(name string, v bakeVar) {
	if _, dup := vs.own[name]; dup {
		v = bakeVar{why: bakeDefinedTwice}
	}
	vs.own[name] = v
}

// bakeHCLVars reads the top-level variable blocks of an HCL bake file.
func bakeHCLVars(body *hclsyntax.Body) map[string]bakeVar {
	vs := &bakeVars{own: map[string]bakeVar{}}
	for _, b := range body.Blocks {
		if b.Type != "variable" || len(b.Labels) != 1 || b.Body == nil {
			continue
		}
		v := bakeVar{why: bakeNoDefault}
		if attr, ok := b.Body.Attributes["default"]; ok {
			v = bakeVar{why: bakeNotLiteral}
			switch e := attr.Expr.(type) {
			case *hclsyntax.TemplateExpr:
				if lit, ok := hclLiteralString(e); ok {
					v = bakeVar{value: lit}
				}
			case *hclsyntax.LiteralValueExpr:
				if e.Val.IsNull() {
					v = bakeVar{why: bakeNoDefault}
				}
			}
		}
		vs.set(b.Labels[0], v)
	}
	// A top-level attribute (TAG = "3.21", a "global scope attribute")
	// sets the variable of its name over the variable's default, in this
	// file or in another bake reads with it, so neither is the value.
	for name := range body.Attributes {
		vs.own[name] = bakeVar{why: fmt.Sprintf(bakeAttribute, name)}
	}
	return vs.own
}

// hclLiteralString is the value of a template with no interpolation.
func hclLiteralString(e *hclsyntax.TemplateExpr) (string, bool) {
	if len(e.Parts) != 1 {
		return "", false
	}
	lit, ok := e.Parts[0].(*hclsyntax.LiteralValueExpr)
	if !ok || lit.Val.IsNull() || !lit.Val.IsKnown() || lit.Val.Type() != cty.String {
		return "", false
	}
	return lit.Val.AsString(), true
}

// bakeJSONVars reads the "variable" object of a JSON bake file, whose
// strings bake reads as HCL templates.
func bakeJSONVars(root *hujson.Value) map[string]bakeVar {
	vs := &bakeVars{own: map[string]bakeVar{}}
	names, vals := ciJSONMembers(ciJSONLookup(root, "variable"))
	for i, val := range vals {
		v := bakeVar{why: bakeNoDefault}
		if d := ciJSONLookup(val, "default"); d != nil {
			v = bakeVar{why: bakeNotLiteral}
			if lit, ok := d.Value.(hujson.Literal); ok {
				switch {
				case lit.Kind() == 'n':
					v = bakeVar{why: bakeNoDefault}
				case lit.Kind() == '"' && !strings.Contains(lit.String(), "${") && !strings.Contains(lit.String(), "%{"):
					v = bakeVar{value: lit.String()}
				}
			}
		}
		vs.set(names[i], v)
	}
	// The other top-level members are global attributes (as in HCL).
	names, _ = ciJSONMembers(root)
	for _, name := range names {
		switch name {
		case "variable", "target", "group", "function":
			continue
		}
		vs.own[name] = bakeVar{why: fmt.Sprintf(bakeAttribute, name)}
	}
	return vs.own
}

// other names the bake file of the same folder, among those bake reads
// with this one by default, that also defines variable name ("" if none).
func (vs *bakeVars) other(name string) string {
	if vs.others == nil {
		vs.others = map[string]string{}
		base := path.Base(vs.f.Path)
		if vs.f.Tree == nil || !containsString(bakeDefaultFiles, base) {
			return ""
		}
		dir := path.Dir(vs.f.Path)
		for _, b := range bakeDefaultFiles {
			p := path.Join(dir, b)
			if b == base {
				continue
			}
			src, ok := readTreeFile(vs.f.Tree, p, maxComposeSize)
			if !ok {
				continue
			}
			for n := range bakeFileVars(p, src) {
				if _, seen := vs.others[n]; !seen {
					vs.others[n] = p
				}
			}
		}
	}
	return vs.others[name]
}

// bakeFileVars reads the variables of another bake file; nil when it does
// not parse (it is reported when read itself).
func bakeFileVars(p string, src []byte) (vars map[string]bakeVar) {
	defer func() {
		if recover() != nil {
			vars = nil
		}
	}()
	if strings.HasSuffix(p, ".json") {
		root, _, err := ciJSONParse(src)
		if err != nil {
			return nil
		}
		return bakeJSONVars(&root)
	}
	src = bytes.TrimPrefix(src, yamlBOM)
	if hclNestedTooDeep(src, maxYAMLDepth) {
		return nil
	}
	file, diags := hclsyntax.ParseConfig(src, p, hcl.Pos{Line: 1, Column: 1})
	body, ok := file.Body.(*hclsyntax.Body)
	if diags.HasErrors() || !ok {
		return nil
	}
	return bakeHCLVars(body)
}

// composed reads text, a context written with ${…} (after
// docker-image://, its bytes at r.Span), as bake expands it: when it uses
// only plain ${NAME}s of variables whose string default this file gives,
// r becomes a composed ref; otherwise r keeps its skip, with the reason.
func (vs *bakeVars) composed(r *Ref, text string) {
	if strings.ContainsAny(text, "\\\r\n") || strings.Contains(text, "%{") || strings.Contains(text, "$${") {
		return // escapes and directives: left as skipped
	}
	var uses []ciVarUse
	for i := 0; ; {
		j := strings.Index(text[i:], "${")
		if j < 0 {
			break
		}
		j += i
		k := strings.IndexByte(text[j:], '}')
		if k < 0 {
			return
		}
		k += j + 1
		name := strings.TrimSpace(text[j+2 : k-1])
		if !hclsyntax.ValidIdentifier(name) {
			r.Skip = "uses " + text[j:k] + ", which bake computes: only ${VARIABLE}s whose default this file writes as a string are expanded; write the image literally to pin it"
			return
		}
		v, ok := vs.own[name]
		switch {
		case !ok:
			r.Skip = fmt.Sprintf("uses ${%s}, which is not a variable this file defines (bake, another bake file or the environment sets it); write the image literally to pin it", name)
			return
		case v.why != "":
			r.Skip = fmt.Sprintf("uses ${%s}: variable %s %s; write the image literally to pin it", name, name, v.why)
			return
		}
		if o := vs.other(name); o != "" {
			r.Skip = fmt.Sprintf("uses ${%s}: variable %s is also defined in %s, which bake reads with this file by default, so its value depends on the files bake is given; write the image literally to pin it", name, name, o)
			return
		}
		uses = append(uses, ciVarUse{start: j, end: k, name: name, value: v.value})
		i = k
	}
	if len(uses) == 0 {
		return
	}
	r.Skip = ""
	names, vals := ciNames(uses)
	note := "bake variable " + vals[0] + " (its default; an environment variable " + names[0] + " overrides it)"
	if len(vals) > 1 {
		note = "bake variables " + strings.Join(vals, ", ") + " (their defaults; environment variables of the same names override them)"
	}
	ciComposed(r, text, uses, note, "every value of "+strings.Join(names, ", ")+" set in the environment",
		func(exp string) string {
			return fmt.Sprintf("to pin it, write the image literally (docker-image://%s), or append a literal @sha256:… after the variables for fix to refresh", exp)
		})
}
