package rewriters

// Azure Pipelines (azure-pipelines*.y[a]ml, and YAML files in an
// .azure-pipelines/ folder): resources.containers[].image, and the
// container of every job (in jobs:, stages[].jobs:, and at the top level of
// a single-job pipeline) as a string or as a mapping's image; the values of
// a job's services: mapping.
//
// Not references: pool.vmImage (a hosted VM image such as ubuntu-latest),
// a container: or services: value that names a resources.containers alias
// (the image is reported where the alias defines it), a step's target:,
// and anything holding $(var), $[ ] or ${{ }} (expanded by Azure Pipelines;
// skipped with the reason). Jobs nested under ${{ if … }}: and ${{ each … }}:
// template directives are read.

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Azure is the kind of Azure Pipelines files.
const Azure Kind = "azure-pipelines"

type azureFormat struct{}

func (azureFormat) Kind() Kind { return Azure }

func (azureFormat) Candidate(p string) bool {
	if !isYAMLName(p) {
		return false
	}
	return strings.HasPrefix(lowerBase(p), "azure-pipelines") || parentDir(p) == ".azure-pipelines"
}

func (azureFormat) Claim(*File) bool { return true }

func (azureFormat) Find(f *File) ([]Ref, error) {
	docs, c, trefs, templated, err := ciParse(f.Src, "Azure Pipelines")
	if err != nil || templated {
		return trefs, err
	}
	for _, root := range ciRoots(docs) {
		w := &azureWalker{c: c, aliases: map[string]bool{}, seen: map[*yaml.Node]bool{}}
		if res, ok := yamlLookup(root, "resources"); ok {
			if ctrs, ok := yamlLookup(res, "containers"); ok && ctrs != nil && ctrs.Kind == yaml.SequenceNode {
				for i, item := range ctrs.Content {
					if a, ok := yamlLookup(item, "container"); ok && a != nil && a.Kind == yaml.ScalarNode {
						w.aliases[a.Value] = true
					}
					if img, ok := yamlLookup(item, "image"); ok {
						c.add(img, "resources.containers["+strconv.Itoa(i)+"].image", "")
					}
				}
			}
		}
		w.job(root, "")
		if err := w.list(yamlLookupOr(root, "jobs"), "jobs", 0); err != nil {
			return nil, err
		}
		if err := w.list(yamlLookupOr(root, "stages"), "stages", 0); err != nil {
			return nil, err
		}
	}
	return c.finish(), nil
}

func yamlLookupOr(m *yaml.Node, key string) *yaml.Node {
	v, _ := yamlLookup(m, key)
	return v
}

type azureWalker struct {
	c       *ciYAML
	aliases map[string]bool // resources.containers[].container names
	seen    map[*yaml.Node]bool
}

// list reads a jobs: or stages: list; items are jobs, stages (with their
// own jobs:), or template directives (${{ if … }}: [items]).
func (w *azureWalker) list(n *yaml.Node, path string, depth int) error {
	n = yamlResolve(n)
	if n == nil || n.Kind != yaml.SequenceNode || w.seen[n] {
		return nil
	}
	if depth > maxYAMLDepth {
		return errYAMLTooDeep
	}
	w.seen[n] = true
	for i, item := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		item = yamlResolve(item)
		if item == nil || item.Kind != yaml.MappingNode {
			continue
		}
		w.job(item, p+".")
		for _, kv := range yamlPairs(item) {
			switch {
			case kv.key == "jobs":
				if err := w.list(kv.val, p+".jobs", depth+1); err != nil {
					return err
				}
			case strings.HasPrefix(kv.key, "${{"):
				if err := w.list(kv.val, p, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// job reads a job's container: and services:.
func (w *azureWalker) job(m *yaml.Node, prefix string) {
	if ctr, ok := yamlLookup(m, "container"); ok && ctr != nil {
		switch ctr.Kind {
		case yaml.ScalarNode:
			w.aliasOrImage(ctr, prefix+"container")
		case yaml.MappingNode:
			if img, ok := yamlLookup(ctr, "image"); ok {
				w.c.add(img, prefix+"container.image", "")
			}
		}
	}
	if svcs, ok := yamlLookup(m, "services"); ok {
		for _, kv := range yamlPairs(svcs) {
			if kv.val != nil && kv.val.Kind == yaml.ScalarNode {
				w.aliasOrImage(kv.val, prefix+"services."+kv.key)
			}
		}
	}
}

// aliasOrImage reports a container string unless it names an alias the
// file defines under resources.containers.
func (w *azureWalker) aliasOrImage(n *yaml.Node, context string) {
	if w.aliases[n.Value] {
		return
	}
	w.c.add(n, context, "")
}
