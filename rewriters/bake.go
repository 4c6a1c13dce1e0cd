package rewriters

// docker buildx bake files (docker-bake.hcl, docker-bake.json,
// docker-bake.override.hcl/.json, and other docker-bake*.hcl/.json): the
// "docker-image://…" values of every target's contexts (named build
// contexts that replace a Dockerfile's FROM image). The ref starts after
// docker-image://; fix appends the digest there, which buildx honours.
//
// Not references: tags, cache-from, cache-to and output (what the build
// writes, not what it reads), args (build arguments, whatever their name),
// contexts given as folders, target:… or other schemes, and values that
// interpolate ${…} (composed by bake from variables: skipped with the
// reason). HCL is read with hclsyntax, whose ranges are byte offsets; a
// string's bytes must equal its value (no escapes) to be edited. JSON is
// read with hujson, as for Cloud Build.

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
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
		return bakeJSON(f.Src)
	}
	return bakeHCL(f.Src)
}

func bakeJSON(src []byte) ([]Ref, error) {
	root, base, err := ciJSONParse(src)
	if err != nil {
		return nil, err
	}
	var refs []Ref
	names, targets := ciJSONMembers(ciJSONLookup(&root, "target"))
	for i, t := range targets {
		keys, vals := ciJSONMembers(ciJSONLookup(t, "contexts"))
		for j, v := range vals {
			ctx := "target." + names[i] + ".contexts." + keys[j]
			if r, ok := ciJSONRef(src, base, v, ctx, bakeImagePrefix, "bake"); ok {
				refs = append(refs, r)
			}
		}
	}
	return yamlFinishRefs(src, refs), nil
}

func bakeHCL(src []byte) (refs []Ref, err error) {
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
		refs = append(refs, bakeContexts(src, base, attr.Expr, "target."+label+".contexts")...)
	}
	return yamlFinishRefs(src, refs), nil
}

// bakeContexts finds the docker-image:// strings in a contexts expression:
// an object, or objects inside merge(), conditionals and the like. Object
// keys are context names, never images.
func bakeContexts(src []byte, base int, expr hclsyntax.Expression, context string) []Ref {
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
			if r, ok := bakeTemplateRef(src, base, e, ctx); ok {
				refs = append(refs, r)
			}
		}
		return nil
	})
	return refs
}

// bakeTemplateRef makes a Ref of a string template whose text starts with
// docker-image://.
func bakeTemplateRef(src []byte, base int, e *hclsyntax.TemplateExpr, context string) (Ref, bool) {
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
