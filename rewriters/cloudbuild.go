package rewriters

// Google Cloud Build (cloudbuild.y[a]ml, cloudbuild.json, and
// cloudbuild-*/cloudbuild.* variants that have a top-level steps list):
// steps[].name, the builder image of each step.
//
// Not references: images: and artifacts (what the build pushes), a `name:`
// written inside an args string, and names using substitutions ($PROJECT_ID,
// ${_TAG}; skipped with the reason). The JSON form is read with hujson,
// which keeps every value's byte offsets.

import (
	"strconv"
	"strings"

	"github.com/tailscale/hujson"
	"go.yaml.in/yaml/v3"
)

// CloudBuild is the kind of Google Cloud Build configuration files.
const CloudBuild Kind = "cloudbuild"

type cloudbuildFormat struct{}

func (cloudbuildFormat) Kind() Kind { return CloudBuild }

func (cloudbuildFormat) Candidate(p string) bool {
	b := lowerBase(p)
	return strings.HasPrefix(b, "cloudbuild") && (isYAMLName(b) || strings.HasSuffix(b, ".json"))
}

func (cloudbuildFormat) Claim(f *File) bool {
	switch lowerBase(f.Path) {
	case "cloudbuild.yaml", "cloudbuild.yml", "cloudbuild.json":
		return true
	}
	if strings.HasSuffix(lowerBase(f.Path), ".json") {
		v, _, err := ciJSONParse(f.Src)
		if err != nil {
			return false
		}
		steps := ciJSONLookup(&v, "steps")
		return steps != nil && steps.Value.Kind() == '['
	}
	_, top := yamlKeyLine(f.Src, "steps")
	return top
}

func (cloudbuildFormat) Find(f *File) ([]Ref, error) {
	if strings.HasSuffix(lowerBase(f.Path), ".json") {
		return cloudbuildJSON(f.Src)
	}
	docs, c, trefs, templated, err := ciParse(f.Src, "Cloud Build")
	if err != nil || templated {
		return trefs, err
	}
	for _, root := range ciRoots(docs) {
		steps, ok := yamlLookup(root, "steps")
		if !ok || steps == nil || steps.Kind != yaml.SequenceNode {
			continue
		}
		for i, step := range steps.Content {
			if name, ok := yamlLookup(step, "name"); ok {
				c.add(name, "steps["+strconv.Itoa(i)+"].name", "")
			}
		}
	}
	return c.finish(), nil
}

func cloudbuildJSON(src []byte) ([]Ref, error) {
	root, base, err := ciJSONParse(src)
	if err != nil {
		return nil, err
	}
	var refs []Ref
	if steps := ciJSONLookup(&root, "steps"); steps != nil {
		if arr, ok := steps.Value.(*hujson.Array); ok {
			for i := range arr.Elements {
				if name := ciJSONLookup(&arr.Elements[i], "name"); name != nil {
					if r, ok := ciJSONRef(src, base, name, "steps["+strconv.Itoa(i)+"].name", "", "Cloud Build"); ok {
						refs = append(refs, r)
					}
				}
			}
		}
	}
	return yamlFinishRefs(src, refs), nil
}
