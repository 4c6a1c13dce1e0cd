package rewriters

// Azure Pipelines (azure-pipelines*.y[a]ml, and YAML files in an
// .azure-pipelines/ folder): resources.containers[].image, and the
// container of every job (in jobs:, stages[].jobs:, and at the top level of
// a single-job pipeline) as a string or as a mapping's image; the values of
// a job's services: mapping.
//
// Not references: pool.vmImage (a hosted VM image such as ubuntu-latest),
// a container: or services: value that names a resources.containers alias
// (the image is reported where the alias defines it), a step's target:.
// Jobs nested under ${{ if … }}: and ${{ each … }}: template directives
// are read.
//
// Template parameters: an image written with ${{ parameters.x }} whose
// parameters the file's top-level parameters: give a string default (the
// list form, - name: x / default: …, or a template's legacy mapping) is a
// composed ref (cicomposed.go), expanded with the defaults; the note says
// that a run queued with another value, or a pipeline that includes the
// file as a template, overrides them. Skipped with the reason: a parameter
// with no default, of a type other than string, or whose default YAML
// reads as a number; other template expressions; $(var) macros and $[ ]
// runtime expressions, which Azure Pipelines expands at run time from
// variables the run itself can change (queue-time values, variable groups,
// a script's task.setvariable), so the value variables: writes is not
// necessarily the image that runs. (A parameter whose default is the whole image is a composed
// ref too: its default is not pinned in place, since the parameter may be
// read elsewhere in the file, in conditions or scripts.)

import (
	"fmt"
	"regexp"
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
		w := &azureWalker{c: c, aliases: map[string]bool{}, seen: map[*yaml.Node]bool{}, params: yamlLookupOr(root, "parameters")}
		if res, ok := yamlLookup(root, "resources"); ok {
			if ctrs, ok := yamlLookup(res, "containers"); ok && ctrs != nil && ctrs.Kind == yaml.SequenceNode {
				for i, item := range ctrs.Content {
					if a, ok := yamlLookup(item, "container"); ok && a != nil && a.Kind == yaml.ScalarNode {
						w.aliases[a.Value] = true
					}
					if img, ok := yamlLookup(item, "image"); ok {
						w.add(img, "resources.containers["+strconv.Itoa(i)+"].image")
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
	params  *yaml.Node // the top-level parameters:
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
				w.add(img, prefix+"container.image")
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
	w.add(n, context)
}

// add reports an image, composed from template parameters or not.
func (w *azureWalker) add(n *yaml.Node, context string) {
	w.c.addComposed(n, context, w.expand)
}

// azureParamRe matches a template expression that is one parameter.
var azureParamRe = regexp.MustCompile(`^\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$`)

// expand makes r a composed ref when text uses only template parameters
// with a string default.
func (w *azureWalker) expand(r *Ref, text string) {
	var uses []ciVarUse
	for _, m := range ciVarRe.FindAllStringIndex(text, -1) {
		use := text[m[0]:m[1]]
		pm := azureParamRe.FindStringSubmatch(use)
		if pm == nil {
			switch {
			case strings.HasPrefix(use, "$("):
				r.Skip = "uses " + use + ": a macro Azure Pipelines expands at run time, from variables that queue-time values, variable groups and scripts (task.setvariable) can change, so the value in variables: is not necessarily the image that runs; write the image literally to pin it"
			case strings.HasPrefix(use, "$["):
				r.Skip = "uses " + use + ": a runtime expression Azure Pipelines evaluates when the run starts; write the image literally to pin it"
			}
			return
		}
		name := pm[1]
		value, why := azureDefault(w.params, name)
		if why != "" {
			r.Skip = "uses " + use + ": " + why + "; write the image literally to pin it"
			return
		}
		uses = append(uses, ciVarUse{start: m[0], end: m[1], name: "parameters." + name, value: value})
	}
	if len(uses) == 0 {
		return
	}
	r.Skip = ""
	names, vals := ciNames(uses)
	note := vals[0] + " (the parameter's default; a run queued with another value, or a pipeline that includes this file as a template and passes " + strings.TrimPrefix(names[0], "parameters.") + ", overrides it)"
	if len(vals) > 1 {
		note = strings.Join(vals, ", ") + " (the parameters' defaults; a run queued with other values, or a pipeline that includes this file as a template and passes them, overrides them)"
	}
	ciComposed(r, text, uses, note, "every value a run or an including pipeline passes for "+strings.Join(names, ", "),
		func(exp string) string {
			return fmt.Sprintf("to pin it, write the image literally (%s), or append a literal @sha256:… after the expressions for fix to refresh", exp)
		})
}

// azureDefault is the string default of template parameter name in the
// top-level parameters: (a list of {name, type, default}, or a legacy
// mapping of name to default), or why there is none.
func azureDefault(params *yaml.Node, name string) (value, why string) {
	var d *yaml.Node
	params = yamlResolve(params)
	switch {
	case params == nil:
		return "", "the file declares no parameters"
	case params.Kind == yaml.SequenceNode:
		found := false
		for _, item := range params.Content {
			n, ok := yamlLookup(item, "name")
			if !ok || n == nil || n.Kind != yaml.ScalarNode || n.Value != name {
				continue
			}
			if found {
				return "", "parameter " + name + " is declared more than once"
			}
			found = true
			if t, ok := yamlLookup(item, "type"); ok && t != nil && t.Kind == yaml.ScalarNode && t.Value != "string" {
				return "", fmt.Sprintf("parameter %s is of type %s, not a string", name, t.Value)
			}
			d, _ = yamlLookup(item, "default")
			if d == nil {
				return "", "parameter " + name + " has no default: its value comes from the run or the including pipeline"
			}
		}
		if !found {
			return "", "the file declares no parameter " + name
		}
	case params.Kind == yaml.MappingNode:
		v, ok := yamlLookup(params, name)
		if !ok {
			return "", "the file declares no parameter " + name
		}
		d = v
	default:
		return "", "the file's parameters: is neither a list nor a mapping"
	}
	switch {
	case d == nil || d.ShortTag() == "!!null":
		return "", "parameter " + name + " has no default: its value comes from the run or the including pipeline"
	case d.Kind != yaml.ScalarNode || d.ShortTag() != "!!str":
		return "", "the default of parameter " + name + " is not a string (quote it)"
	case strings.Contains(d.Value, "$"):
		return "", "the default of parameter " + name + " holds expressions itself"
	}
	return d.Value, ""
}
