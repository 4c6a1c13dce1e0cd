package rewriters

// Kubernetes manifests: image of every item of containers, initContainers
// and ephemeralContainers at any depth, and volumes[].image.reference, in
// every document that carries apiVersion and kind.
//
// A file with template syntax where YAML structure is ("{{" in a plain
// scalar or opening a flow collection), or that fails to parse and contains
// "{{", is a template (Helm, sed placeholders): it is not what gets applied,
// so its literal image lines are reported skipped and nothing is edited.
// "{{" inside quoted or block scalars (Argo Workflows parameters, Grafana
// dashboards) does not make a file a template.

import (
	"bytes"
	"strconv"

	"go.yaml.in/yaml/v3"
)

type kubernetesRewriter struct{}

func (kubernetesRewriter) Kind() Kind { return Kubernetes }

// Find returns the container and image-volume references in src.
func (kubernetesRewriter) Find(src []byte) ([]Ref, error) {
	docs, ys, templated, err := yamlPrepare(src)
	if err != nil {
		return nil, err
	}
	if templated != nil {
		return templated.refs, nil
	}
	w := &k8sWalker{ys: ys, seen: map[*yaml.Node]bool{}, reported: map[*yaml.Node]bool{}}
	for _, doc := range docs {
		root := yamlDocRoot(doc)
		if !k8sIsObject(root) {
			continue
		}
		if err := w.walk(root, "", 0); err != nil {
			return nil, err
		}
	}
	return yamlFinishRefs(src, w.refs), nil
}

// k8sIsObject reports whether a document's root mapping has apiVersion and kind.
func k8sIsObject(root *yaml.Node) bool {
	if root == nil || root.Kind != yaml.MappingNode {
		return false
	}
	for _, key := range []string{"apiVersion", "kind"} {
		v, ok := yamlLookup(root, key)
		if !ok || v == nil || v.Kind != yaml.ScalarNode || v.Value == "" {
			return false
		}
	}
	return true
}

type k8sWalker struct {
	ys       *yamlSource
	seen     map[*yaml.Node]bool // collections walked (an alias is walked once)
	reported map[*yaml.Node]bool // scalars reported
	refs     []Ref
}

func k8sJoinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *k8sWalker) walk(n *yaml.Node, path string, depth int) error {
	n = yamlResolve(n)
	if n == nil || w.seen[n] || (n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode) {
		return nil
	}
	if depth > maxYAMLDepth {
		return errYAMLTooDeep
	}
	w.seen[n] = true
	if n.Kind == yaml.SequenceNode {
		for i, c := range n.Content {
			if err := w.walk(c, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := path
		if k.Kind == yaml.ScalarNode && !yamlMergeKey(k) {
			p = k8sJoinPath(path, k.Value)
			switch k.Value {
			case "containers", "initContainers", "ephemeralContainers":
				w.containers(v, p)
			case "volumes":
				w.volumes(v, p)
			}
		}
		if err := w.walk(v, p, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// containers reports image of each mapping in a containers-like sequence.
func (w *k8sWalker) containers(v *yaml.Node, path string) {
	seq := yamlResolve(v)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return
	}
	for i, item := range seq.Content {
		if img, ok := yamlLookup(item, "image"); ok {
			w.add(img, path+"["+strconv.Itoa(i)+"].image")
		}
	}
}

// volumes reports image.reference of each image volume.
func (w *k8sWalker) volumes(v *yaml.Node, path string) {
	seq := yamlResolve(v)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return
	}
	for i, item := range seq.Content {
		im, ok := yamlLookup(item, "image")
		if !ok || im == nil || im.Kind != yaml.MappingNode {
			continue
		}
		if ref, ok := yamlLookup(im, "reference"); ok {
			w.add(ref, path+"["+strconv.Itoa(i)+"].image.reference")
		}
	}
}

func (w *k8sWalker) add(n *yaml.Node, context string) {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" || w.reported[n] {
		return
	}
	w.reported[n] = true
	loc := w.ys.locate(n)
	r := Ref{Span: loc.span, Context: context, Skip: loc.skip}
	if r.Skip == "" && bytes.Contains([]byte(n.Value), []byte("{{")) {
		r.Skip = skipYAMLTemplateVal
	}
	w.refs = append(w.refs, r)
}

// looksLikeKubernetes reports whether YAML holds Kubernetes objects: it has
// apiVersion and kind keys. It is a line scan, no parse. A file with a
// top-level services: key and no top-level apiVersion is compose, not
// Kubernetes, even if it embeds manifest text.
func looksLikeKubernetes(src []byte) bool {
	av, avTop := yamlKeyLine(src, "apiVersion")
	if !av {
		return false
	}
	if k, _ := yamlKeyLine(src, "kind"); !k {
		return false
	}
	if !avTop {
		if _, svcTop := yamlKeyLine(src, "services"); svcTop {
			return false
		}
	}
	return true
}
