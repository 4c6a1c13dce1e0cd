package rewriters

// kustomize: the images[] entries of kustomization.y[a]ml and Kustomization.
//
// An entry with a newTag or a digest is a ref split over keys: the image is
// newName, or name when there is no newName; the tag is newTag. Its Text is
// the parts composed as image:tag[@digest], located at the newTag value
// (the digest value when there is no newTag). An existing digest key is
// the digest's home, even when it is empty (digest: "") or null (digest:):
// fix writes the digest there in place, in the value's quotes, and keeps
// newTag. Without a digest key it appends @sha256:… to the newTag value
// (kustomize passes it through to the image field), in the value's own
// quotes. An entry with neither a newTag nor a non-empty digest (only
// name, newName or a tagSuffix) changes no tag and is not a ref.
//
// YAML aliases: an entry aliased again in the same list (- *e) is the same
// entry, reported once. An entry whose newTag is an alias (*v) is reported
// at the alias, one whose newTag comes from a merge (<<: *base) at the
// merge key; fix writes no digest into a value read in more than one place
// (an alias, a merge, a shared anchor or list) and says why.
//
// Why this matters beyond coverage: an overlay's newTag makes kustomize drop
// the digest a base manifest pins, so the build comes out unpinned. Each
// ref's Overrides names the image whose tag the entry replaces, for the
// check that reports such overrides.

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/digestbot/digestbot/pkg/imgref"
	"go.yaml.in/yaml/v3"
)

// Kustomize is the kind of kustomization files.
const Kustomize Kind = "kustomize"

type kustomize struct{}

func (kustomize) Kind() Kind { return Kustomize }

func (kustomize) Candidate(p string) bool {
	switch path.Base(p) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

func (kustomize) Claim(*File) bool { return true }

// Find returns the images[] entries of f that set a tag or a digest.
func (kustomize) Find(f *File) ([]Ref, error) {
	docs, err := yamlDecodeStream(f.Src)
	if err != nil {
		return nil, err
	}
	ys := newYAMLSource(f.Src)
	aliases := yamlAliasCounts(docs)
	var refs []Ref
	seen := map[*yaml.Node]bool{}
	for _, doc := range docs {
		root := yamlDocRoot(doc)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		images, ok := yamlLookup(root, "images")
		if !ok || images == nil || images.Kind != yaml.SequenceNode {
			continue
		}
		// A list written or read in more than one place: a digest written
		// into an entry would change the other places too.
		listShared := ""
		switch _, raw, own := helmOwn(root, "images"); {
		case !own:
			listShared = "the images list comes from a YAML merge (<<: *anchor)"
		case raw.Kind == yaml.AliasNode:
			listShared = "the images list is an alias (*name) of a list written elsewhere in the file"
		case aliases[images] > 0:
			listShared = "the images list is a YAML anchor that other keys read through an alias (*name)"
		}
		// An entry reached again through an alias item of this same list
		// is the same entry: one ref, and its pin is right for both.
		inList := map[*yaml.Node]int{}
		for _, raw := range images.Content {
			if raw.Kind == yaml.AliasNode {
				if t := yamlResolve(raw); t != nil {
					inList[t]++
				}
			}
		}
		for i, raw := range images.Content {
			item := yamlResolve(raw)
			if item == nil || item.Kind != yaml.MappingNode || seen[item] {
				continue
			}
			seen[item] = true
			shared := listShared
			if shared == "" && (raw.Kind == yaml.AliasNode || aliases[item] > inList[item]) {
				// First reached through an alias: it is written
				// somewhere else, which reads it too. Or other
				// entries merge it (<<: *name) or other keys read it.
				shared = "the entry is a YAML anchor that other entries merge (<<: *name) or other keys read through an alias"
			}
			if r, ok := kustomizeEntry(ys, item, "images["+strconv.Itoa(i)+"]", shared, aliases); ok {
				refs = append(refs, r)
			}
		}
	}
	return yamlFinishRefs(f.Src, refs), nil
}

// kustomizeEntry returns the ref of one images[] entry, if it sets a tag or
// a digest. shared says why the entry's bytes cannot take a digest, if so.
func kustomizeEntry(ys *yamlSource, item *yaml.Node, ctx, shared string, aliases map[*yaml.Node]int) (Ref, bool) {
	name := kustomizeScalar(item, "name")
	newName := kustomizeScalar(item, "newName")
	tag := kustomizeScalar(item, "newTag")
	dig := kustomizeScalar(item, "digest")
	// An existing digest key, even empty (digest: "") or null (digest:),
	// is where the digest lives.
	digV, digHome := yamlLookup(item, "digest")
	if tag == nil && dig == nil {
		return Ref{}, false
	}
	key := "newTag"
	if tag == nil {
		key = "digest"
	}
	ctx += "." + key
	r, away := kustomizeLocate(ys, item, key, ctx)
	image := ""
	switch {
	case newName != nil:
		image = newName.Value
	case name != nil:
		image = name.Value
	}
	if name != nil {
		r.Overrides = name.Value
		// The images transformer rewrites the manifests it builds: the
		// Kubernetes resources, and charts it inflates (helmCharts).
		r.OverridesKinds = []Kind{Kubernetes, Helm}
	}
	text := image
	if tag != nil {
		text += ":" + tag.Value
	}
	if dig != nil {
		text += "@" + dig.Value
	}
	switch {
	case r.Skip != "":
	case image == "":
		r.Skip = "images entry has neither name nor newName"
	case digV != nil && digV.Kind != yaml.ScalarNode:
		r.Skip = "digest is not a string"
	case tag != nil && dig != nil && strings.Contains(tag.Value, "@"):
		r.Skip = "both newTag and digest hold a digest; keep one"
	default:
		for _, n := range []*yaml.Node{name, newName, tag, dig} {
			if n != nil && strings.Contains(n.Value, "{{") {
				r.Skip = skipYAMLTemplateVal
			}
		}
		if r.Skip == "" && dig != nil && !imgref.ValidDigest(dig.Value) {
			// Not a digest fix could refresh (nor one kustomize takes).
			r.Skip = fmt.Sprintf("digest holds %q, not a digest; empty it (digest: \"\") and fix fills it", clip(dig.Value, 40))
		}
	}
	if away || r.Skip == "" {
		// Located away from the value's own bytes (at an alias or a
		// merge key), or resolvable: the composed text.
		r.Text, r.Expanded = text, text
	}
	if r.Skip != "" {
		return r, true
	}
	target := "newTag"
	if digHome {
		target = "digest"
	}
	ownK, own, isOwn := helmOwn(item, target)
	switch {
	case tag == nil:
		// Digest-only: no tag says which digest is the current one.
		r.pin = cannotPin(text + " has a digest and no newTag to refresh")
	case shared != "":
		r.pin = cannotPin(fmt.Sprintf("%s: a digest for %s written there would change the other places too; write each entry out in full in images", shared, text))
	case !isOwn:
		r.pin = cannotPin(fmt.Sprintf("the %s of %s comes from a YAML merge (<<: *anchor) shared with other entries; write %s in this entry", target, text, target))
	case own.Kind == yaml.AliasNode:
		r.pin = cannotPin(fmt.Sprintf("the %s of %s is an alias (*name) of a value written elsewhere; write the value in this entry so it gets its own digest", target, text))
	case aliases[own] > 0:
		r.pin = cannotPin(fmt.Sprintf("the %s of %s is a YAML anchor other entries read through an alias (*name); write the value in each entry so each gets its own digest", target, text))
	case digHome && tag != nil && strings.Contains(tag.Value, "@"):
		r.pin = cannotPin(fmt.Sprintf("the newTag of %s holds a digest and the entry also has a digest key; keep one (remove the @… from newTag and fix fills digest)", text))
	case digHome:
		r.pin = kustomizeDigestPin(ys, ownK, own, text)
	default:
		r.pin = kustomizeTagPin(ys, tag, text)
	}
	return r, true
}

// kustomizeLocate returns a ref at the value of item's key: its own bytes,
// or, when the value is an alias or comes from a merge, the alias or the
// merge key. away reports the latter: those bytes are not the value, so
// the caller gives the ref its composed text.
func kustomizeLocate(ys *yamlSource, item *yaml.Node, key, ctx string) (r Ref, away bool) {
	_, v, own := helmOwn(item, key)
	switch {
	case own && v.Kind == yaml.ScalarNode:
		return yamlScalarRef(ys, v, ctx), false
	case own && v.Kind == yaml.AliasNode:
		return Ref{Span: kustomizeAliasSpan(ys, v), Context: ctx}, true
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if k := item.Content[i]; yamlMergeKey(k) {
			return Ref{Span: ys.locate(k).span, Context: ctx}, true
		}
	}
	return Ref{Span: ys.locate(item).span, Context: ctx}, true
}

// kustomizeAliasSpan is the bytes of alias node a (*name).
func kustomizeAliasSpan(ys *yamlSource, a *yaml.Node) Span {
	src := ys.src
	off, ok := ys.offset(a.Line, a.Column)
	if !ok {
		return Span{0, 0}
	}
	if off >= len(src) || src[off] != '*' {
		return Span{off, off}
	}
	e := off + 1
	for e < len(src) && yamlAnchorChar(src[e]) {
		e++
	}
	return Span{off, e}
}

// kustomizeScalar returns m's key when it holds a non-empty scalar.
func kustomizeScalar(m *yaml.Node, key string) *yaml.Node {
	n, ok := yamlLookup(m, key)
	if !ok || n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		return nil
	}
	return n
}

// kustomizeDigestPin writes the digest into the entry's own digest key v
// (k is its key): in place of the value (sha256:…, an empty quoted
// string, null, ~) inside the value's quotes, or after the colon of a
// digest: with no value.
func kustomizeDigestPin(ys *yamlSource, k, v *yaml.Node, text string) func(string) ([]Edit, error) {
	if v.Style&yaml.TaggedStyle != 0 && v.Tag != "!!str" {
		return cannotPin(fmt.Sprintf("the digest of %s has the YAML tag %s; remove it (digest: \"\") and fix fills it", text, v.Tag))
	}
	if v.Tag == "!!null" && v.Value == "" {
		// digest: with nothing after it. The digest goes after the colon,
		// where only blanks, a comment or the end of the line (or of a
		// flow mapping) may follow.
		src := ys.src
		c := ys.afterColon(k)
		j := c
		for j >= 0 && j < len(src) && (src[j] == ' ' || src[j] == '\t') {
			j++
		}
		ok := c >= 0 && (j == len(src) || yamlBreakLen(src, j) > 0 || src[j] == ',' || src[j] == '}' || src[j] == '#' && j > c)
		if !ok {
			return cannotPin(fmt.Sprintf("the empty digest: of %s could not be located; write digest: \"\" and fix fills it", text))
		}
		return func(digest string) ([]Edit, error) {
			// Right after the colon, so the blanks that set a comment
			// apart from the value stay.
			return []Edit{{Span: Span{c, c}, New: " " + digest}}, nil
		}
	}
	loc := ys.locate(v)
	if loc.skip != "" {
		return cannotPin(fmt.Sprintf("digest of %s: %s", text, loc.skip))
	}
	return func(digest string) ([]Edit, error) {
		return []Edit{{Span: loc.span, New: digest}}, nil
	}
}

// kustomizeTagPin writes the digest of an entry with no digest key after
// its newTag value, replacing a digest appended there before.
func kustomizeTagPin(ys *yamlSource, tag *yaml.Node, text string) func(string) ([]Edit, error) {
	loc := ys.locate(tag)
	if loc.skip != "" {
		return cannotPin(fmt.Sprintf("newTag of %s: %s", text, loc.skip))
	}
	if at := strings.IndexByte(tag.Value, '@'); at >= 0 {
		if loc.span.End-loc.span.Start != len(tag.Value) {
			return cannotPin(fmt.Sprintf("the digest in the newTag of %s could not be located", text))
		}
		return func(digest string) ([]Edit, error) {
			return []Edit{{Span: Span{loc.span.Start + at + 1, loc.span.End}, New: digest}}, nil
		}
	}
	return func(digest string) ([]Edit, error) {
		return []Edit{{Span: Span{loc.span.End, loc.span.End}, New: "@" + digest}}, nil
	}
}
