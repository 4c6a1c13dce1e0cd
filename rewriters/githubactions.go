package rewriters

// GitHub Actions: workflows (.github/workflows/*.y[a]ml) and action
// metadata files (action.y[a]ml anywhere).
//
// Refs: jobs.<id>.container (a string, or its image), jobs.<id>.services.
// <name>.image, every steps[].uses: docker://… (workflow jobs and composite
// actions' runs.steps) and runs.image: docker://… of a Docker container
// action. The ref starts after "docker://".
//
// Not refs: owner/repo@ref actions and ./local actions, reusable workflows
// (jobs.<id>.uses), inputs that happen to be named image (with: image:),
// runs.image: Dockerfile (a path), an empty image ("" means no container).
//
// A value holding a ${{ }} expression anywhere is skipped: GitHub computes
// it at run time (a matrix entry, an input), even when a literal sits inside
// the expression (${{ inputs.image || 'redis:7' }}).

import (
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// GitHubActions is the kind of workflows and action metadata files.
const GitHubActions Kind = "github-actions"

const (
	skipGHAExpression = "GitHub Actions expression (${{ }}): set at run time"
	ghaDockerPrefix   = "docker://"
)

type githubActions struct{}

func (githubActions) Kind() Kind { return GitHubActions }

// Candidate: a YAML file directly in a .github/workflows folder, or an
// action.y[a]ml anywhere.
func (githubActions) Candidate(p string) bool { return ghaIsWorkflow(p) || ghaIsAction(p) }

// Claim takes every workflow by its path; an action.y[a]ml must have a
// top-level runs: key (the one key every action has), so an unrelated file
// of that name goes to the formats after this one.
func (githubActions) Claim(f *File) bool {
	if ghaIsWorkflow(f.Path) {
		return true
	}
	_, top := yamlKeyLine(f.Src, "runs")
	return top
}

func ghaIsWorkflow(p string) bool {
	dir := path.Dir(p)
	return isYAMLName(p) && (dir == ".github/workflows" || strings.HasSuffix(dir, "/.github/workflows"))
}

func ghaIsAction(p string) bool {
	b := path.Base(p)
	return b == "action.yml" || b == "action.yaml"
}

// Find returns the container, service and docker:// step images of f.
func (githubActions) Find(f *File) ([]Ref, error) {
	docs, err := yamlDecodeStream(f.Src)
	if err != nil {
		return nil, err
	}
	w := &ghaWalker{ys: newYAMLSource(f.Src), reported: map[*yaml.Node]bool{}}
	for _, doc := range docs {
		root := yamlDocRoot(doc)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		if jobs, ok := yamlLookup(root, "jobs"); ok {
			w.jobs(jobs)
		}
		if runs, ok := yamlLookup(root, "runs"); ok && runs != nil && runs.Kind == yaml.MappingNode {
			if img, ok := yamlLookup(runs, "image"); ok {
				w.add(img, "runs.image", ghaDockerPrefix)
			}
			if steps, ok := yamlLookup(runs, "steps"); ok {
				w.steps(steps, "runs.steps")
			}
		}
	}
	return yamlSpanPins(yamlFinishRefs(f.Src, w.refs)), nil
}

type ghaWalker struct {
	ys       *yamlSource
	reported map[*yaml.Node]bool // a scalar reached through aliases is reported once
	refs     []Ref
}

func (w *ghaWalker) jobs(jobs *yaml.Node) {
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		k := jobs.Content[i]
		job := yamlResolve(jobs.Content[i+1])
		if k.Kind != yaml.ScalarNode || yamlMergeKey(k) || job == nil || job.Kind != yaml.MappingNode {
			continue
		}
		p := "jobs." + k.Value
		if c, ok := yamlLookup(job, "container"); ok && c != nil {
			switch c.Kind {
			case yaml.ScalarNode:
				w.add(c, p+".container", "")
			case yaml.MappingNode:
				if img, ok := yamlLookup(c, "image"); ok {
					w.add(img, p+".container.image", "")
				}
			}
		}
		if svcs, ok := yamlLookup(job, "services"); ok && svcs != nil && svcs.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(svcs.Content); j += 2 {
				sk := svcs.Content[j]
				if sk.Kind != yaml.ScalarNode || yamlMergeKey(sk) {
					continue
				}
				if img, ok := yamlLookup(svcs.Content[j+1], "image"); ok {
					w.add(img, p+".services."+sk.Value+".image", "")
				}
			}
		}
		if steps, ok := yamlLookup(job, "steps"); ok {
			w.steps(steps, p+".steps")
		}
	}
}

func (w *ghaWalker) steps(steps *yaml.Node, p string) {
	if steps == nil || steps.Kind != yaml.SequenceNode {
		return
	}
	for i, st := range steps.Content {
		if uses, ok := yamlLookup(st, "uses"); ok {
			w.add(uses, p+"["+strconv.Itoa(i)+"].uses", ghaDockerPrefix)
		}
	}
}

// add reports scalar n. With a prefix, only values that start with it are
// refs, and the ref starts after it.
func (w *ghaWalker) add(n *yaml.Node, context, prefix string) {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" || w.reported[n] {
		return
	}
	v := n.Value
	if !strings.HasPrefix(v, prefix) || len(v) == len(prefix) {
		return
	}
	w.reported[n] = true
	r := yamlScalarRef(w.ys, n, context)
	if prefix != "" {
		src := w.ys.src
		if strings.HasPrefix(string(src[r.Span.Start:r.Span.End]), prefix) {
			r.Span.Start += len(prefix)
		} else if r.Skip == "" {
			r.Skip = skipYAMLNotLocated
		}
	}
	if strings.Contains(v, "${{") {
		r.Skip = skipGHAExpression
	}
	w.refs = append(w.refs, r)
}
