package rewriters

// Compose files: services.*.image.
//
// Decisions beyond DESIGN.md:
//   - Version-1 files (services at the top level, no "services:" key) are
//     read as Renovate reads them. Find only sees bytes, so this applies to
//     any document without a "services" key; in practice that means files
//     that are compose by name, because looksLikeCompose (classification by
//     content) requires a top-level "services:" mapping.
//   - An image reached through an anchor or a merge key (<<: *x) is one
//     scalar in the file: it is reported once, with the context of the first
//     service that uses it, and skipped if any service using it builds it.
//   - A file with template syntax ({{ }}) where YAML structure is, or that
//     does not parse and contains "{{", is treated as a template exactly as
//     for Kubernetes: its literal image lines are reported skipped.

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

type composeRewriter struct{}

func (composeRewriter) Kind() Kind { return Compose }

const skipComposeBuilt = "built locally (service has build:)"

// composeDefaultRe matches a value that is one ${VAR:-default} or
// ${VAR-default} expression; group 3 is the default.
var composeDefaultRe = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-)([^${}]*)\}$`)

// composeVarRe finds the variables a value uses ($X, ${X…}).
var composeVarRe = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// Find returns services.*.image of every document in src.
func (composeRewriter) Find(src []byte) ([]Ref, error) {
	docs, ys, templated, err := yamlPrepare(src)
	if err != nil {
		return nil, err
	}
	if templated != nil {
		return templated.refs, nil
	}

	type use struct {
		node    *yaml.Node
		context string
		built   bool
	}
	var uses []*use
	byNode := map[*yaml.Node]*use{}
	for _, doc := range docs {
		services, prefix := composeServices(yamlDocRoot(doc))
		if services == nil {
			continue
		}
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
			u := &use{node: img, context: prefix + k.Value + ".image", built: built}
			byNode[img] = u
			uses = append(uses, u)
		}
	}

	refs := make([]Ref, 0, len(uses))
	for _, u := range uses {
		loc := ys.locate(u.node)
		r := Ref{Span: loc.span, Context: u.context, Skip: loc.skip}
		v := u.node.Value
		switch {
		case r.Skip != "":
		case u.built:
			r.Skip = skipComposeBuilt
		case strings.Contains(v, "{{"):
			r.Skip = skipYAMLTemplateVal
		case strings.Contains(v, "$"):
			if m := composeDefaultRe.FindStringSubmatchIndex(v); m != nil && m[7] > m[6] {
				r.Span = Span{loc.span.Start + m[6], loc.span.Start + m[7]}
				r.Context += " (default of ${" + v[m[2]:m[3]] + "})"
				break
			}
			r.Skip = "composed from variables: " + composeVars(v)
		}
		refs = append(refs, r)
	}
	return yamlFinishRefs(src, refs), nil
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

func composeVars(v string) string {
	var names []string
	seen := map[string]bool{}
	for _, m := range composeVarRe.FindAllStringSubmatch(v, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	if len(names) == 0 {
		return v
	}
	return strings.Join(names, ", ")
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
