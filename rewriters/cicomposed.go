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
	by         string // who may override value, when the note says it per name
}

// ciNames returns the names uses read, each once and in order, and for
// each "name=value" as a note shows it (followed by " (by)" when the use
// says who overrides it).
func ciNames(uses []ciVarUse) (names, vals []string) {
	for _, u := range uses {
		if containsString(names, u.name) {
			continue
		}
		names = append(names, u.name)
		v := u.name + "=" + ciNoteValue(u.value)
		if u.by != "" {
			v += " (" + u.by + ")"
		}
		vals = append(vals, v)
	}
	return names, vals
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
	for _, u := range uses {
		b.WriteString(text[last:u.start])
		b.WriteString(u.value)
		last = u.end
	}
	b.WriteString(text[last:])
	names, _ := ciNames(uses)
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
// for what the CI expands in it, expand may make it a composed ref (or
// refine the skip).
func (c *ciYAML) addComposed(n *yaml.Node, context string, expand func(r *Ref, text string)) {
	c.addRef(n, context, "", expand)
}
