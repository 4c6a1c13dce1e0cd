package rewriters

// Helm chart values: values.y[a]ml and values-*.y[a]ml in a folder that
// holds Chart.yaml (subcharts under charts/ included, as they have their own
// Chart.yaml).
//
// An image map is a mapping with the image's name in repository (or in
// image, or name, beside a tag), an optional registry, a tag and the
// chart's digest key (File.Options.HelmDigestKeys, default digest and sha).
// Its ref is split over keys: Text is the parts composed as
// registry/repository:tag[@digest], located at the tag value, and Pin
// writes the digest into the digest key, never into the tag, because charts
// print the tag into the app.kubernetes.io/version label where "@" is
// refused. A plain image: repo:tag string is a whole ref pinned in place.
//
// Decisions beyond DESIGN.md:
//   - The digest is written in the form the chart reads: the existing
//     value's form; else what the chart's templates show (bare hex after a
//     literal "@sha256:{{ … .key }}", or "@{{ … .key }}" for sha256:…); else
//     bare hex for a key named sha (the prometheus-community and grafana
//     convention) and sha256:… for any other key.
//   - An empty or null tag, or an image map with no tag key, is the chart's
//     appVersion from Chart.yaml beside the values file. Text then shows it
//     as {{.Chart.AppVersion}} (with the prefix the chart's templates add,
//     as in printf "v%s" .Chart.AppVersion); Expanded holds the version and
//     Note says where it came from. In a section of a dependency (a top-level
//     key naming a subchart) the subchart's own Chart.yaml counts, and when
//     the subchart is not vendored under charts/ the ref is skipped.
//   - registry: global.imageRegistry, when set, wins over a map's registry
//     (the bitnami and prometheus-community templates do that);
//     global.image.registry is the default registry of maps that name their
//     repository in image: (ingress-nginx); top-level imageRegistry and
//     imageNamespace prefix a bare name: (cert-manager). A repository:
//     key that is empty or null means "inherit": no ref.
//   - digest<Suffix> beside digest (ingress-nginx's digestChroot) is the
//     digest of a second image, name-suffix (controller-chroot), located at
//     that key's value.
//   - A tag that is not a valid tag (<tag>, a template) is skipped with the
//     reason, and so is a tag set by a release tool ("set-by-chartpress"):
//     it is a valid tag syntactically, but no registry holds it.
//   - A digest key or tag reached through a YAML merge (<<: *anchor) is
//     shared with other images: fix does not write it.

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/digestbot/digestbot/pkg/imgref"
	"go.yaml.in/yaml/v3"
)

// Helm is the kind of Helm chart values files.
const Helm Kind = "helm"

type helmFormat struct{}

func (helmFormat) Kind() Kind { return Helm }

// Candidate: values.yaml, values.yml, values-*.yaml, values-*.yml.
func (helmFormat) Candidate(p string) bool {
	base := path.Base(p)
	if !isYAMLName(base) {
		return false
	}
	return base == "values.yaml" || base == "values.yml" || strings.HasPrefix(base, "values-")
}

// Claim: a values file is Helm's when Chart.yaml sits beside it.
func (helmFormat) Claim(f *File) bool {
	if f.Tree == nil {
		return false
	}
	st, err := fs.Stat(f.Tree, path.Join(path.Dir(f.Path), "Chart.yaml"))
	return err == nil && st.Mode().IsRegular()
}

// defaultHelmDigestKeys are the digest keys when the config names none.
var defaultHelmDigestKeys = []string{"digest", "sha"}

// helmPlaceholderTagRe matches tags that release tooling replaces: valid tag
// syntax, but never pushed ("set-by-chartpress").
var helmPlaceholderTagRe = regexp.MustCompile(`(?i)^set[-_.]by[-_.]`)

var helmTagRe = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)

// Find returns the image maps and plain image strings of a values file.
func (helmFormat) Find(f *File) ([]Ref, error) {
	docs, err := yamlDecodeStream(f.Src)
	if err != nil {
		return nil, err
	}
	keys := f.Options.HelmDigestKeys
	if len(keys) == 0 {
		keys = defaultHelmDigestKeys
	}
	w := &helmWalker{
		ys: newYAMLSource(f.Src), f: f, keys: keys,
		seen:   map[*yaml.Node]bool{},
		charts: map[string]*helmChart{},
		dir:    path.Dir(f.Path),
	}
	w.aliased = yamlAliasCounts(docs)
	for _, doc := range docs {
		root := yamlDocRoot(doc)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		w.root, w.rootVals = root, map[string]string{}
		if err := w.walk(root, "", "", 0); err != nil {
			return nil, err
		}
	}
	return yamlFinishRefs(f.Src, w.refs), nil
}

type helmWalker struct {
	ys     *yamlSource
	f      *File
	keys   []string
	root   *yaml.Node
	dir    string
	seen   map[*yaml.Node]bool
	charts map[string]*helmChart
	// aliased are the nodes an alias names: a tag or digest value
	// there is shared with another place, which fix must not pin.
	aliased map[*yaml.Node]int
	// rootVals caches lookups in the document root (global.*, top-level
	// keys) made for every image map: without it a values file with n
	// top-level keys and n image maps costs n² (50,000 maps took ten
	// minutes). Reset with root.
	rootVals map[string]string
	refs     []Ref
	// topKey is the top-level key being walked: a subchart's section
	// when it names a dependency.
	topKey string
}

// walk visits every mapping; parentKey is the key the node sits under and
// top the first key of its path (a subchart's section when it names one).
func (w *helmWalker) walk(n *yaml.Node, ctx, parentKey string, depth int) error {
	n = yamlResolve(n)
	if n == nil || w.seen[n] {
		return nil
	}
	if depth > maxYAMLDepth {
		return errYAMLTooDeep
	}
	switch n.Kind {
	case yaml.SequenceNode:
		w.seen[n] = true
		for i, c := range n.Content {
			if err := w.walk(c, fmt.Sprintf("%s[%d]", ctx, i), parentKey, depth+1); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		w.seen[n] = true
		if w.imageMap(n, ctx, parentKey) {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || yamlMergeKey(k) {
				if err := w.walk(v, ctx, parentKey, depth+1); err != nil {
					return err
				}
				continue
			}
			c := k8sJoinPath(ctx, k.Value)
			if depth == 0 {
				w.topKey = k.Value
			}
			if k.Value == "image" {
				if s := yamlResolve(v); s != nil && s.Kind == yaml.ScalarNode {
					w.plainImage(s, c)
					continue
				}
			}
			if err := w.walk(v, c, k.Value, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// scalar returns the value of a scalar child of m (merges followed), and
// whether the key is there at all.
func helmScalar(m *yaml.Node, key string) (n *yaml.Node, val string, present bool) {
	v, ok := yamlLookup(m, key)
	if !ok {
		return nil, "", false
	}
	if v == nil || v.Kind != yaml.ScalarNode {
		return v, "", true
	}
	if v.Tag == "!!null" {
		return v, "", true
	}
	return v, v.Value, true
}

// helmOwn reports whether key's value node is written in m itself, not
// reached through a merge key (shared with other mappings).
func helmOwn(m *yaml.Node, key string) (k, v *yaml.Node, ok bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if kk := m.Content[i]; kk.Kind == yaml.ScalarNode && kk.Value == key && !yamlMergeKey(kk) {
			return kk, m.Content[i+1], true
		}
	}
	return nil, nil, false
}

func helmImageish(key string) bool { return strings.Contains(strings.ToLower(key), "image") }

// imageMap reports whether m is an image map (then its children are not
// walked) and adds its refs.
func (w *helmWalker) imageMap(m *yaml.Node, ctx, parentKey string) bool {
	_, _, hasTag := helmScalar(m, "tag")
	repoNode, repo, hasRepo := helmScalar(m, "repository")
	nameNode, name, hasName := helmScalar(m, "name")
	imgNode, img, hasImg := helmScalar(m, "image")
	repoKey := ""
	switch {
	case hasRepo && repo != "":
		repoKey = "repository"
	case hasRepo && hasName && name != "" && helmImageish(parentKey):
		// repository: "" overrides; name: is the image (cert-manager).
		repoNode, repo, repoKey = nameNode, name, "name"
	case hasRepo:
		// An empty repository inherits another map's: nothing to pin here.
		return helmImageish(parentKey) || hasTag
	case hasImg && imgNode != nil && imgNode.Kind == yaml.ScalarNode && img != "" && hasTag:
		repoNode, repo, repoKey = imgNode, img, "image"
	case hasName && name != "" && nameNode.Kind == yaml.ScalarNode && (helmImageish(parentKey) || hasTag && strings.Contains(name, "/")):
		// name: is an image under an image key, or when it holds a
		// repository path beside a tag; elsewhere it names other things.
		repoNode, repo, repoKey = nameNode, name, "name"
	default:
		return false
	}
	if repoNode == nil || repoNode.Kind != yaml.ScalarNode {
		return false
	}
	if !hasTag && !helmImageish(parentKey) {
		return false // a repository with no tag outside an image key: not known to be an image
	}
	w.addImageMap(m, ctx, repoNode, repo, repoKey, helmImageish(parentKey))
	return true
}

// helmPart is one image of an image map: the map's main image, or the one
// a digest<Suffix> key pins (ingress-nginx's digestChroot).
type helmPart struct {
	suffix   string     // appended to the repository: "-chroot"
	digestK  *yaml.Node // the digest key (nil: none)
	digestV  *yaml.Node
	digestOK bool // digestV is written in this map, not merged in
	keyName  string
}

func (w *helmWalker) addImageMap(m *yaml.Node, ctx string, repoNode *yaml.Node, repo, repoKey string, imageKey bool) {
	chart, chartWhy := w.chartFor(w.topKey)

	// Registry.
	registry := ""
	_, mapReg, hasMapReg := helmScalar(m, "registry")
	if g := w.global("imageRegistry"); g != "" && hasMapReg {
		registry = g
	} else if mapReg != "" {
		registry = mapReg
	} else if repoKey == "image" && !helmHasHost(repo) {
		registry = w.globalImageRegistry()
	}
	if repoKey == "name" && !strings.Contains(repo, "/") && registry == "" {
		// cert-manager: imageRegistry/imageNamespace/name at the top level.
		ns := w.top("imageNamespace")
		reg := w.top("imageRegistry")
		if ns != "" {
			repo = ns + "/" + repo
		}
		registry = reg
	}
	name := repo
	if registry != "" {
		name = strings.TrimSuffix(registry, "/") + "/" + repo
	}

	// Tag.
	tagK, tagV, tagOwn := helmOwn(m, "tag")
	tagNode, tag, hasTag := helmScalar(m, "tag")
	if !tagOwn && hasTag {
		tagV = tagNode
	}
	var tagLoc yamlScalarSpan
	located := false
	if tagV != nil && tagV.Kind == yaml.ScalarNode && tag != "" {
		tagLoc = w.ys.locate(tagV)
		located = true
	} else if tagV != nil && tagV.Kind == yaml.ScalarNode && tagV.Tag != "!!null" && tagV.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		tagLoc = w.ys.locate(tagV) // tag: "" — the empty quotes
		located = tagLoc.skip == ""
	}
	if !located {
		switch {
		case tagK != nil:
			tagLoc = w.ys.locate(tagK)
		default:
			tagLoc = w.ys.locate(repoNode)
		}
		tagLoc.skip = ""
	}

	// Digest keys: the chart's key, then digest<Suffix> companions.
	parts := []helmPart{{}}
	for _, key := range w.keys {
		if k, v, own := helmOwn(m, key); own {
			parts[0] = helmPart{digestK: k, digestV: v, digestOK: true, keyName: key}
			break
		}
		if v, ok := yamlLookup(m, key); ok {
			parts[0] = helmPart{digestV: v, keyName: key}
			break
		}
	}
	if parts[0].keyName != "" {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if k.Kind != yaml.ScalarNode || len(k.Value) <= len(parts[0].keyName) || !strings.HasPrefix(k.Value, parts[0].keyName) {
				continue
			}
			rest := k.Value[len(parts[0].keyName):]
			if rest[0] < 'A' || rest[0] > 'Z' || !helmTagRe.MatchString(rest) {
				continue
			}
			parts = append(parts, helmPart{suffix: "-" + strings.ToLower(rest), digestK: k, digestV: m.Content[i+1], digestOK: true, keyName: k.Value})
		}
	}

	for pi, p := range parts {
		at := repoKey
		if tagK != nil {
			at = "tag"
		}
		r := Ref{Context: k8sJoinPath(ctx, at)}
		span := tagLoc.span
		if pi > 0 {
			r.Context = k8sJoinPath(ctx, p.keyName)
			if p.digestV == nil || p.digestV.Kind != yaml.ScalarNode || p.digestV.Value == "" || p.digestV.Tag == "!!null" {
				continue // no second image unless its digest is set
			}
			l := w.ys.locate(p.digestV)
			span = l.span
		}
		r.Span = span
		w.fillImageRef(&r, ctx, chart, chartWhy, name+p.suffix, tag, tagV, tagLoc, located, p)
		if !imageKey && !strings.Contains(name, "{{") {
			// Outside an image key, a map whose name is no image name
			// (repository: https://…, a git URL) is something else.
			if _, err := imgref.Parse(name); err != nil {
				continue
			}
		}
		w.refs = append(w.refs, r)
	}
}

// fillImageRef composes Text, Expanded, Note and Skip of a split ref and
// sets its pin.
func (w *helmWalker) fillImageRef(r *Ref, ctx string, chart *helmChart, chartWhy, name, tag string, tagV *yaml.Node, tagLoc yamlScalarSpan, tagLocated bool, p helmPart) {
	var notes []string
	skip := ""
	setSkip := func(s string) {
		if skip == "" {
			skip = s
		}
	}
	if tagLoc.skip != "" {
		setSkip(tagLoc.skip)
	}
	if tagV != nil && tagV.Kind != yaml.ScalarNode {
		setSkip("the tag is not a string")
	}

	// The tag as written, or the chart's appVersion.
	tagText, tagExp := tag, tag
	inlineDigest := ""
	if i := strings.IndexByte(tag, '@'); i >= 0 {
		tagText, tagExp, inlineDigest = tag[:i], tag[:i], tag[i+1:]
		if p.suffix != "" {
			inlineDigest = "" // the tag's digest is the main image's, not this one's
		}
	}
	if tagV != nil && tagV.Kind == yaml.ScalarNode && (tagV.Tag == "!!float" || tagV.Tag == "!!int") {
		notes = append(notes, fmt.Sprintf("the tag %s is a YAML number: Helm may print it differently (1.10 as 1.1, 20240101 as 2.0240101e+07); quote it", tag))
	}
	appVersion := tag == "" && (tagV == nil || tagV.Kind == yaml.ScalarNode)
	if appVersion {
		switch {
		case chart == nil:
			setSkip(chartWhy)
			tagText = "{{.Chart.AppVersion}}"
		case chart.appVersion == "":
			tagText = chart.tagPrefix + "{{.Chart.AppVersion}}"
			setSkip("the tag is empty and " + chart.dir + "/Chart.yaml has no appVersion; set tag")
		default:
			tagText = chart.tagPrefix + "{{.Chart.AppVersion}}"
			tagExp = chart.tagPrefix + chart.appVersion
			src := "appVersion " + chart.appVersion + " from " + chart.dir + "/Chart.yaml"
			if chart.tagPrefix != "" {
				src += fmt.Sprintf(", printed as %q by the chart's templates", chart.tagPrefix+"%s")
			}
			notes = append(notes, "the tag is empty: "+src)
		}
	}

	// The digest: inline in the tag (Renovate's tag: v1@sha256:…), or the
	// digest key's value.
	digest := ""
	bare := false
	if inlineDigest != "" {
		digest = inlineDigest
		if p.digestV != nil && p.digestV.Kind == yaml.ScalarNode && p.digestV.Tag != "!!null" && p.digestV.Value != "" {
			setSkip("both the tag and " + p.keyName + " hold a digest; keep one")
		}
	} else if p.digestV != nil {
		v := p.digestV
		switch {
		case v.Kind != yaml.ScalarNode:
			setSkip(p.keyName + " is not a string")
		case v.Tag == "!!null" || v.Value == "":
		case imgref.ValidDigest(v.Value):
			digest = v.Value
		case helmBareHex(v.Value):
			digest, bare = "sha256:"+v.Value, true
		case strings.Contains(v.Value, "{{"):
			setSkip(skipYAMLTemplateVal)
		default:
			setSkip(fmt.Sprintf("%s holds %q, not a sha256 digest; empty it (%s: \"\") and fix fills it", p.keyName, clip(v.Value, 40), p.keyName))
		}
	}

	text := name + ":" + tagText
	exp := name
	if tagExp != "" {
		exp += ":" + tagExp
	}
	if digest != "" {
		text += "@" + digest
		exp += "@" + digest
	}
	r.Text, r.Expanded = text, exp

	switch {
	case strings.Contains(name, "{{") || strings.Contains(tag, "{{"):
		setSkip(skipYAMLTemplateVal)
	case !appVersion && helmPlaceholderTagRe.MatchString(tagExp):
		setSkip(fmt.Sprintf("placeholder tag %q: a release tool sets the real tag; pin after it does", tagExp))
	case tagExp != "" && !helmTagRe.MatchString(tagExp):
		setSkip(fmt.Sprintf("tag %q is not a valid tag (a placeholder?)", clip(tagExp, 40)))
	}
	if skip == "" {
		if _, err := imgref.Parse(exp); err != nil {
			setSkip("not a valid image reference: " + err.Error())
		}
	}

	// How fix writes the digest.
	switch {
	case skip != "":
	case w.aliased[tagV] > 0 && (inlineDigest != "" || p.digestV == nil), p.digestV != nil && w.aliased[p.digestV] > 0:
		r.pin = cannotPin(fmt.Sprintf("the value fix would write for %s is a YAML anchor that other values read through an alias (*name); a digest written there would pin them too: write the value in this map", r.Context))
	case inlineDigest != "":
		r.pin = helmInlinePin(tagLoc.span, tag, true)
	case p.digestV != nil:
		if !p.digestOK {
			r.pin = cannotPin(fmt.Sprintf("%s of %s comes from a YAML merge (<<: *anchor) shared with other images; write %s: \"\" in this map", p.keyName, r.Context, p.keyName))
			break
		}
		form := w.digestForm(chart, p.keyName, p.digestV.Value, bare)
		r.pin = w.digestKeyPin(p.digestK, p.digestV, form)
	default:
		why := fmt.Sprintf("the chart has no digest key (%s) in %s; charts print the tag into the app.kubernetes.io/version label, where @ breaks installs: add %s: \"\" beside the tag if the chart's templates read it, or set helm.inline-digest: true", strings.Join(w.keys, ", "), ctxOrTop(ctx), w.keys[0])
		notes = append(notes, "the chart has no digest key")
		switch {
		case !w.f.Options.HelmInlineDigest:
			r.pin = cannotPin(why)
		case appVersion || !tagLocated || tagV == nil:
			r.pin = cannotPin("the tag is not written in the values file, so helm.inline-digest has no tag to append @sha256:… to; add a digest key")
		default:
			r.pin = helmInlinePin(tagLoc.span, tag, false)
		}
	}
	r.Skip = skip
	r.Note = strings.Join(notes, "; ")
}

func cannotPin(why string) func(string) ([]Edit, error) {
	return func(string) ([]Edit, error) { return nil, fmt.Errorf("%w: %s", ErrCannotPin, why) }
}

func helmBareHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// helmInlinePin appends @digest to the tag value at span, or replaces the
// digest already after its "@".
func helmInlinePin(span Span, tag string, hasDigest bool) func(string) ([]Edit, error) {
	return func(digest string) ([]Edit, error) {
		if hasDigest {
			at := strings.IndexByte(tag, '@')
			if span.End-span.Start != len(tag) {
				return nil, fmt.Errorf("%w: the tag's digest could not be located", ErrCannotPin)
			}
			return []Edit{{Span: Span{span.Start + at + 1, span.End}, New: digest}}, nil
		}
		return []Edit{{Span: Span{span.End, span.End}, New: "@" + digest}}, nil
	}
}

// helmDigestForm is how a chart writes a digest key's value.
type helmDigestForm int

const (
	helmPrefixed helmDigestForm = iota // sha256:<hex>
	helmBare                           // <hex>; the template adds @sha256:
)

func (w *helmWalker) digestForm(chart *helmChart, key, existing string, existingBare bool) helmDigestForm {
	switch {
	case existingBare:
		return helmBare
	case existing != "" && imgref.ValidDigest(existing):
		return helmPrefixed
	}
	if chart != nil {
		b, p := chart.bareKeys[key], chart.prefixedKeys[key]
		switch {
		case b && !p:
			return helmBare
		case p && !b:
			return helmPrefixed
		}
	}
	if key == "sha" {
		return helmBare
	}
	return helmPrefixed
}

// digestKeyPin writes a digest into the value of digest key k (value v).
func (w *helmWalker) digestKeyPin(k, v *yaml.Node, form helmDigestForm) func(string) ([]Edit, error) {
	var loc yamlScalarSpan
	implicitNull := v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == ""
	insertAt := -1
	if !implicitNull {
		loc = w.ys.locate(v)
	} else if k != nil {
		// digest: with no value: write after the key's colon.
		insertAt = w.afterColon(k)
	}
	quotedStyle := v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	return func(digest string) ([]Edit, error) {
		val := digest
		if form == helmBare {
			hex, ok := strings.CutPrefix(digest, "sha256:")
			if !ok {
				return nil, fmt.Errorf("%w: the chart writes bare sha256 hex in this key; %s is not sha256", ErrCannotPin, digest)
			}
			val = hex
			if !quotedStyle && helmNumberLike(hex) && hex != v.Value {
				val = `"` + hex + `"` // plain, it would read as a number
			}
		}
		switch {
		case implicitNull:
			if insertAt < 0 {
				return nil, fmt.Errorf("%w: the empty digest key could not be located; write %q on its line", ErrCannotPin, `""`)
			}
			return []Edit{{Span: Span{insertAt, insertAt}, New: " " + val}}, nil
		case loc.skip != "":
			return nil, fmt.Errorf("%w: the digest value: %s", ErrCannotPin, loc.skip)
		}
		return []Edit{{Span: loc.span, New: val}}, nil
	}
}

// afterColon returns the offset right after the ':' that ends mapping key
// k, or -1 (see yamlSource.afterColon).
func (w *helmWalker) afterColon(k *yaml.Node) int { return w.ys.afterColon(k) }

var helmNumberRe = regexp.MustCompile(`^[0-9]+(?:[eE][0-9]+)?$`)

func helmNumberLike(s string) bool { return helmNumberRe.MatchString(s) }

// plainImage adds an image: repo:tag string.
func (w *helmWalker) plainImage(n *yaml.Node, ctx string) {
	if n.Tag != "!!str" || n.Value == "" || w.seen[n] {
		return // image: true, image: 3 — not a reference
	}
	v := n.Value
	templ := strings.Contains(v, "{{")
	if !templ {
		if _, err := imgref.Parse(v); err != nil {
			return // image: true, image: some words… — not a reference
		}
	}
	w.seen[n] = true
	loc := w.ys.locate(n)
	r := Ref{Span: loc.span, Context: ctx, Skip: loc.skip, Text: string(w.ys.src[loc.span.Start:loc.span.End])}
	if r.Skip == "" && templ {
		r.Skip = skipYAMLTemplateVal
	}
	if r.Skip == "" {
		r.pin = spanPin(loc.span, r.Text)
	}
	w.refs = append(w.refs, r)
}

// global returns global.<key> as a string.
func (w *helmWalker) global(key string) string {
	return w.rootVal("global."+key, func() string {
		g, ok := yamlLookup(w.root, "global")
		if !ok || g == nil || g.Kind != yaml.MappingNode {
			return ""
		}
		_, v, _ := helmScalar(g, key)
		return v
	})
}

func (w *helmWalker) globalImageRegistry() string {
	return w.rootVal("global.image.registry", func() string {
		g, ok := yamlLookup(w.root, "global")
		if !ok || g == nil || g.Kind != yaml.MappingNode {
			return ""
		}
		im, ok := yamlLookup(g, "image")
		if !ok || im == nil || im.Kind != yaml.MappingNode {
			return ""
		}
		_, v, _ := helmScalar(im, "registry")
		return v
	})
}

func (w *helmWalker) top(key string) string {
	return w.rootVal("top."+key, func() string {
		_, v, _ := helmScalar(w.root, key)
		return v
	})
}

// rootVal returns the cached lookup name in the current root, computing
// it once.
func (w *helmWalker) rootVal(name string, lookup func() string) string {
	if w.rootVals == nil {
		w.rootVals = map[string]string{}
	}
	v, ok := w.rootVals[name]
	if !ok {
		v = lookup()
		w.rootVals[name] = v
	}
	return v
}

// helmChart is what a chart's own files say about its values.
type helmChart struct {
	dir        string
	appVersion string
	deps       map[string]string // top-level values key (alias or name) → subchart name
	// tagPrefix is what the templates print before appVersion when the
	// tag is empty (printf "v%s" .Chart.AppVersion); "" when they print
	// it as is or say nothing.
	tagPrefix string
	// Digest keys the templates read bare (@sha256:{{ .sha }}) or whole
	// (@{{ .digest }}).
	bareKeys, prefixedKeys map[string]bool
}

// Caps on reading a chart's templates for evidence.
const (
	helmMaxTemplates     = 300
	helmMaxTemplateBytes = 8 << 20
)

var (
	helmBareTmplRe   = regexp.MustCompile(`@sha256:\{\{-?\s*[^{}]*?\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}`)
	helmPrefTmplRe   = regexp.MustCompile(`@\{\{-?\s*[^{}]*?\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}`)
	helmPrintfAppRe  = regexp.MustCompile(`printf\s+"([A-Za-z0-9_.+-]*)%s"\s+\$?\.Chart\.AppVersion`)
	helmDefaultAppRe = regexp.MustCompile(`default\s+\(?\s*\$?\.Chart\.AppVersion`)
)

// chartFor returns the chart whose appVersion and templates govern the
// values section top (a subchart's when top names a dependency), or nil and
// why not.
func (w *helmWalker) chartFor(top string) (*helmChart, string) {
	main := w.chart(w.dir)
	if main == nil {
		return nil, "the tag is empty and there is no Chart.yaml beside the values file to give its appVersion; set tag"
	}
	if top == "" || top == "." || top == ".." || strings.ContainsAny(top, "/\\") {
		return main, "" // not a folder name: no subchart
	}
	name, ok := main.deps[top]
	if ok && (name == "." || name == ".." || strings.ContainsAny(name, "/\\")) {
		return main, ""
	}
	if !ok {
		if _, err := fs.Stat(w.f.Tree, path.Join(w.dir, "charts", top, "Chart.yaml")); err != nil {
			return main, ""
		}
		name = top
	}
	if sub := w.chart(path.Join(w.dir, "charts", name)); sub != nil {
		return sub, ""
	}
	return nil, fmt.Sprintf("the tag defaults to the appVersion of subchart %s, which is not vendored under %s/charts/; set tag", name, w.dir)
}

// chart loads (once per Find) the Chart.yaml and templates of dir.
func (w *helmWalker) chart(dir string) *helmChart {
	if c, ok := w.charts[dir]; ok {
		return c
	}
	w.charts[dir] = nil
	if w.f.Tree == nil {
		return nil
	}
	data, err := fs.ReadFile(w.f.Tree, path.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil
	}
	c := &helmChart{dir: dir, deps: map[string]string{}, bareKeys: map[string]bool{}, prefixedKeys: map[string]bool{}}
	if docs, err := yamlDecodeStream(data); err == nil && len(docs) > 0 {
		if root := yamlDocRoot(docs[0]); root != nil && root.Kind == yaml.MappingNode {
			_, c.appVersion, _ = helmScalar(root, "appVersion")
			if deps, ok := yamlLookup(root, "dependencies"); ok && deps != nil && deps.Kind == yaml.SequenceNode {
				for _, d := range deps.Content {
					_, name, _ := helmScalar(d, "name")
					_, alias, _ := helmScalar(d, "alias")
					if name == "" {
						continue
					}
					c.deps[name] = name
					if alias != "" {
						c.deps[alias] = name
					}
				}
			}
		}
	}
	c.readTemplates(w.f.Tree)
	w.charts[dir] = c
	return c
}

// readTemplates gathers evidence from templates/**/*.{yaml,yml,tpl}.
func (c *helmChart) readTemplates(tree fs.FS) {
	files, total := 0, 0
	prefixes := map[string]bool{}
	plain := false
	_ = fs.WalkDir(tree, path.Join(c.dir, "templates"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d == nil {
			return nil
		}
		if files >= helmMaxTemplates || total >= helmMaxTemplateBytes {
			return fs.SkipAll
		}
		if d.IsDir() {
			return nil
		}
		ext := path.Ext(p)
		if ext != ".yaml" && ext != ".yml" && ext != ".tpl" {
			return nil
		}
		data, err := fs.ReadFile(tree, p)
		if err != nil {
			return nil
		}
		files++
		total += len(data)
		s := string(data)
		for _, m := range helmBareTmplRe.FindAllStringSubmatch(s, -1) {
			c.bareKeys[m[1]] = true
		}
		for _, m := range helmPrefTmplRe.FindAllStringSubmatch(s, -1) {
			c.prefixedKeys[m[1]] = true
		}
		for _, m := range helmPrintfAppRe.FindAllStringSubmatch(s, -1) {
			prefixes[m[1]] = true
		}
		plain = plain || helmDefaultAppRe.MatchString(s)
		return nil
	})
	if len(prefixes) == 1 && !plain {
		for p := range prefixes {
			c.tagPrefix = p
		}
	}
}

// helmHasHost reports whether a repository names its registry host.
func helmHasHost(repo string) bool {
	first, _, ok := strings.Cut(repo, "/")
	return ok && (strings.ContainsAny(first, ".:") || first == "localhost")
}

func ctxOrTop(ctx string) string {
	if ctx == "" {
		return "the top-level map"
	}
	return ctx
}
