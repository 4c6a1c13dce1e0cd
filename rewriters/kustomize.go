package rewriters

// kustomize: the images[] entries of kustomization.y[a]ml and Kustomization.
//
// An entry with a newTag or a digest is a ref split over keys: the image is
// newName, or name when there is no newName; the tag is newTag. Its Text is
// the parts composed as image:tag[@digest], located at the newTag value
// (the digest value when there is no newTag). fix refreshes an existing
// digest: value in place and keeps newTag; otherwise it appends @sha256:…
// to the newTag value (kustomize passes it through to the image field), in
// the value's own quotes. An entry with neither (only name, newName or a
// tagSuffix) changes no tag and is not a ref.
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
	type entry struct {
		text string
		pin  func(string) ([]Edit, error)
	}
	var refs []Ref
	byStart := map[int]entry{}
	seen := map[*yaml.Node]bool{}
	aliased := yamlAliasTargets(docs)
	for _, doc := range docs {
		root := yamlDocRoot(doc)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		images, ok := yamlLookup(root, "images")
		if !ok || images == nil || images.Kind != yaml.SequenceNode {
			continue
		}
		for i, item := range images.Content {
			item = yamlResolve(item)
			if item == nil || item.Kind != yaml.MappingNode || seen[item] {
				continue
			}
			seen[item] = true
			name := kustomizeScalar(item, "name")
			newName := kustomizeScalar(item, "newName")
			tag := kustomizeScalar(item, "newTag")
			dig := kustomizeScalar(item, "digest")
			if tag == nil && dig == nil {
				continue
			}
			ctx := "images[" + strconv.Itoa(i) + "]"
			at := tag
			ctx += ".newTag"
			if at == nil {
				at = dig
				ctx = strings.TrimSuffix(ctx, ".newTag") + ".digest"
			}
			r := yamlScalarRef(ys, at, ctx)
			image := ""
			switch {
			case newName != nil:
				image = newName.Value
			case name != nil:
				image = name.Value
			}
			if name != nil {
				r.Overrides = name.Value
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
			default:
				for _, n := range []*yaml.Node{name, newName, tag, dig} {
					if n != nil && strings.Contains(n.Value, "{{") {
						r.Skip = skipYAMLTemplateVal
					}
				}
			}
			if r.Skip == "" {
				e := entry{text: text}
				e.pin = kustomizePin(ys, text, tag, dig)
				if aliased[tag] || aliased[dig] {
					// Another entry reads the same newTag or digest bytes
					// through an alias: a digest for this image written
					// there would pin that one (another image) too.
					e.pin = cannotPin(fmt.Sprintf("the newTag or digest of %s is a YAML anchor other entries read through an alias (*name); write the value in each entry so each gets its own digest", text))
				}
				if _, dup := byStart[r.Span.Start]; !dup {
					// The first entry located there keeps it (the one
					// that writes the anchor), not an alias of it.
					byStart[r.Span.Start] = e
				}
			}
			refs = append(refs, r)
		}
	}
	refs = yamlFinishRefs(f.Src, refs)
	for i := range refs {
		if e, ok := byStart[refs[i].Span.Start]; ok && refs[i].Skip == "" {
			refs[i].Text, refs[i].Expanded, refs[i].pin = e.text, e.text, e.pin
		}
	}
	return refs, nil
}

// kustomizeScalar returns m's key when it holds a non-empty scalar.
func kustomizeScalar(m *yaml.Node, key string) *yaml.Node {
	n, ok := yamlLookup(m, key)
	if !ok || n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		return nil
	}
	return n
}

// kustomizePin writes the digest of a split ref: into the digest: value
// when the entry has one, else after the newTag value (replacing a digest
// appended there before).
func kustomizePin(ys *yamlSource, text string, tag, dig *yaml.Node) func(string) ([]Edit, error) {
	return func(digest string) ([]Edit, error) {
		if dig != nil {
			if tag == nil {
				return nil, fmt.Errorf("%w: %s has a digest and no newTag to refresh", ErrCannotPin, text)
			}
			loc := ys.locate(dig)
			if loc.skip != "" {
				return nil, fmt.Errorf("%w: digest of %s: %s", ErrCannotPin, text, loc.skip)
			}
			return []Edit{{Span: loc.span, New: digest}}, nil
		}
		loc := ys.locate(tag)
		if loc.skip != "" {
			return nil, fmt.Errorf("%w: newTag of %s: %s", ErrCannotPin, text, loc.skip)
		}
		if at := strings.IndexByte(tag.Value, '@'); at >= 0 {
			return []Edit{{Span: Span{loc.span.Start + at + 1, loc.span.End}, New: digest}}, nil
		}
		return []Edit{{Span: Span{loc.span.End, loc.span.End}, New: "@" + digest}}, nil
	}
}
