package rewriters

// Composed refs of the CI formats (buildx bake, CircleCI, Azure
// Pipelines): a value written with variables or parameters that all have
// a default the file gives is a real ref, expanded as the tool expands it.
// Each format finds the uses and their values (ciVarUse); ciComposed makes
// the ref: Text as written, Expanded, Composed, Note, and a pin that
// refreshes a literal @sha256:… written after the variables, the digest's
// only home in these formats. A digest appended to a composed tag would
// override every caller's value of the variables, so without such a home
// the pin wraps ErrCannotPin and says how to make the ref pinnable.

import (
	"fmt"
	"strings"

	"github.com/digestbot/digestbot/pkg/imgref"
	"go.yaml.in/yaml/v3"
)

// ciVarUse is one use of a variable inside a value as written:
// text[start:end] ("${TAG}", "<< parameters.tag >>") is replaced by value.
type ciVarUse struct {
	start, end int
	name       string // as messages show it: TAG, parameters.tag
	value      string
}

// ciComposed makes r a composed ref of text, the value as written, whose
// bytes are exactly those at r.Span. uses are in order and do not overlap.
// note names the variables and values (and who may override them);
// overrides says what a digest appended to the tag would override ("every
// TAG set in the environment"); howto says, given the expanded ref, how to
// make the ref pinnable.
// A text that does not expand to an image reference is skipped.
func ciComposed(r *Ref, text string, uses []ciVarUse, note, overrides string, howto func(exp string) string) {
	var b strings.Builder
	last := 0
	var names []string
	for _, u := range uses {
		b.WriteString(text[last:u.start])
		b.WriteString(u.value)
		last = u.end
		if !containsString(names, u.name) {
			names = append(names, u.name)
		}
	}
	b.WriteString(text[last:])
	exp := b.String()
	p, err := imgref.Parse(exp)
	if err != nil || exp != strings.TrimSpace(exp) {
		r.Skip = fmt.Sprintf("composed from %s into %q, not an image reference", note, clip(exp, 80))
		return
	}
	r.Expanded, r.Composed, r.Note = exp, true, note
	at := strings.LastIndexByte(text, '@')
	switch {
	case p.Digest == "":
		r.pin = cannotPin(fmt.Sprintf("%s is composed from %s and has no digest of its own to refresh; a digest written after it would override %s; %s",
			text, strings.Join(names, ", "), overrides, howto(exp)))
	case p.Tag == "":
		r.pin = cannotPin(text + " has a digest and no tag to refresh")
	case at < last || text[at+1:] != p.Digest:
		r.pin = cannotPin(fmt.Sprintf("the digest of %s is not written after the variables; %s", text, howto(exp)))
	default:
		// The literal digest after the variables is the digest's own home.
		span := Span{r.Span.Start + at + 1, r.Span.Start + len(text)}
		r.pin = func(digest string) ([]Edit, error) { return []Edit{{Span: span, New: digest}}, nil }
	}
}

// ciNoteValue shows a value in a note, quoted when it is empty or holds
// spaces, quotes or non-printable bytes.
func ciNoteValue(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"'\\") || !isPrintableASCII(v) {
		return fmt.Sprintf("%q", v)
	}
	return v
}

// addComposed is add for a value that may be composed: when add skips it
// for what the CI expands in it, and its bytes are the value as written,
// expand may make it a composed ref (or refine the skip).
func (c *ciYAML) addComposed(n *yaml.Node, context string, expand func(r *Ref, text string)) {
	before := len(c.refs)
	c.add(n, context, "")
	if len(c.refs) != before+1 {
		return
	}
	r := &c.refs[before]
	if r.Skip == "" || r.pin != nil || r.Span.End > len(c.ys.src) {
		return
	}
	text := string(c.ys.src[r.Span.Start:r.Span.End])
	if text != yamlResolve(n).Value || r.Skip != ciSkipVariables(text, c.ci) {
		return
	}
	expand(r, text)
}
