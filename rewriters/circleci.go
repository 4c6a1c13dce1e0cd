package rewriters

// CircleCI (.circleci/config.y[a]ml): docker[].image of every job and
// executor, inline orbs' jobs and executors included.
//
// Not references: machine.image (a CircleCI VM image such as
// ubuntu-2204:current), macos.xcode, orbs (orb names@versions), and
// images written with << parameters.x >> or << pipeline.parameters.x >>
// (expanded when the pipeline is compiled; skipped with the reason).
// Other YAML files directly in .circleci/ are read when they look like a
// config (continuation configs of dynamic config): top-level jobs or
// executors.

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// CircleCI is the kind of CircleCI configuration files.
const CircleCI Kind = "circleci"

type circleciFormat struct{}

func (circleciFormat) Kind() Kind { return CircleCI }

func (circleciFormat) Candidate(p string) bool {
	return isYAMLName(p) && parentDir(p) == ".circleci"
}

func (circleciFormat) Claim(f *File) bool {
	if b := lowerBase(f.Path); b == "config.yml" || b == "config.yaml" {
		return true
	}
	for _, k := range []string{"jobs", "executors"} {
		if _, top := yamlKeyLine(f.Src, k); top {
			return true
		}
	}
	return false
}

func (circleciFormat) Find(f *File) ([]Ref, error) {
	docs, c, trefs, templated, err := ciParse(f.Src, "CircleCI")
	if err != nil || templated {
		return trefs, err
	}
	for _, root := range ciRoots(docs) {
		circleciSections(c, root, "")
		if orbs, ok := yamlLookup(root, "orbs"); ok {
			// An inline orb is a mapping with its own jobs and executors; an
			// orb reference (name/orb@1.2) is a string and holds no image.
			for _, kv := range yamlPairs(orbs) {
				if kv.val != nil && kv.val.Kind == yaml.MappingNode {
					circleciSections(c, kv.val, "orbs."+kv.key+".")
				}
			}
		}
	}
	return c.finish(), nil
}

// circleciSections reports docker[].image of every job and executor in m.
func circleciSections(c *ciYAML, m *yaml.Node, prefix string) {
	for _, section := range []string{"executors", "jobs"} {
		sec, ok := yamlLookup(m, section)
		if !ok {
			continue
		}
		for _, kv := range yamlPairs(sec) {
			docker, ok := yamlLookup(kv.val, "docker")
			if !ok || docker == nil || docker.Kind != yaml.SequenceNode {
				continue
			}
			ctx := prefix + section + "." + kv.key + ".docker["
			for i, item := range docker.Content {
				if img, ok := yamlLookup(item, "image"); ok {
					c.add(img, ctx+strconv.Itoa(i)+"].image", "")
				}
			}
		}
	}
}
