package rewriters

// Bitbucket Pipelines (bitbucket-pipelines.yml): the default image (a
// string, or a mapping whose name holds it), definitions.services.*.image,
// the image of every step wherever it is written (pipelines, parallel and
// stage groups, steps defined under definitions and reused through
// anchors), and `pipe: docker://…` script items (the ref starts after
// docker://).
//
// Not references: a step's or service's other keys (a step's name:, a
// step's services: list names services, not images), `pipe:
// atlassian/…` (a Bitbucket pipe, versioned by Bitbucket, not an image
// written whole), the docker service (built in), and $VARIABLES (skipped
// with the reason).

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Bitbucket is the kind of Bitbucket Pipelines files.
const Bitbucket Kind = "bitbucket-pipelines"

type bitbucketFormat struct{}

func (bitbucketFormat) Kind() Kind { return Bitbucket }

func (bitbucketFormat) Candidate(p string) bool {
	b := lowerBase(p)
	return b == "bitbucket-pipelines.yml" || b == "bitbucket-pipelines.yaml"
}

func (bitbucketFormat) Claim(*File) bool { return true }

func (bitbucketFormat) Find(f *File) ([]Ref, error) {
	docs, c, trefs, templated, err := ciParse(f.Src, "Bitbucket Pipelines")
	if err != nil || templated {
		return trefs, err
	}
	w := &bitbucketWalker{c: c, seen: map[*yaml.Node]bool{}}
	for _, root := range ciRoots(docs) {
		if img, ok := yamlLookup(root, "image"); ok {
			c.addImage(img, "image", "name")
		}
		if defs, ok := yamlLookup(root, "definitions"); ok {
			if svcs, ok := yamlLookup(defs, "services"); ok {
				for _, kv := range yamlPairs(svcs) {
					if img, ok := yamlLookup(kv.val, "image"); ok {
						c.addImage(img, "definitions.services."+kv.key+".image", "name")
					}
				}
			}
		}
		for _, key := range []string{"definitions", "pipelines"} {
			if n, ok := yamlLookup(root, key); ok {
				if err := w.walk(n, key, 0); err != nil {
					return nil, err
				}
			}
		}
	}
	return c.finish(), nil
}

// bitbucketWalker finds steps and pipes at any depth: steps sit in lists,
// in parallel and stage groups, under branch patterns and custom
// pipelines, and in definitions reused through anchors.
type bitbucketWalker struct {
	c    *ciYAML
	seen map[*yaml.Node]bool
}

func (w *bitbucketWalker) walk(n *yaml.Node, path string, depth int) error {
	n = yamlResolve(n)
	if n == nil || w.seen[n] || (n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode) {
		return nil
	}
	if depth > maxYAMLDepth {
		return errYAMLTooDeep
	}
	w.seen[n] = true
	if n.Kind == yaml.SequenceNode {
		for i, item := range n.Content {
			if err := w.walk(item, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, kv := range yamlPairs(n) {
		p := path + "." + kv.key
		switch kv.key {
		case "step":
			if img, ok := yamlLookup(kv.val, "image"); ok {
				w.c.addImage(img, p+".image", "name")
			}
		case "pipe":
			w.c.add(kv.val, p, "docker://")
		}
		if err := w.walk(kv.val, p, depth+1); err != nil {
			return err
		}
	}
	return nil
}
