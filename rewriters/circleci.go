package rewriters

// CircleCI (.circleci/config.y[a]ml): docker[].image of every job and
// executor, inline orbs' jobs and executors included.
//
// Not references: machine.image (a CircleCI VM image such as
// ubuntu-2204:current), macos.xcode, orbs (orb names@versions).
// Other YAML files directly in .circleci/ are read when they look like a
// config (continuation configs of dynamic config): top-level jobs or
// executors.
//
// Parameters: an image written with << parameters.x >> (the job's or
// executor's own parameters) or << pipeline.parameters.x >> (the top-level
// parameters:) whose parameters all have a string default is a composed ref
// (cicomposed.go), expanded with the defaults; the note says who can
// override them (a workflow invoking the job, a job using the executor, a
// pipeline trigger). Skipped with the reason: a parameter with no default,
// a default YAML does not read as a string (18.20 is a number), a
// parameter this file's workflows or jobs pass a value for (the image is
// then not the default, or not one image), other pipeline values
// (<< pipeline.git.tag >>) and $VARIABLES.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

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
		cc := &circleci{c: c, root: root}
		cc.sections(root, "", "")
		if orbs, ok := yamlLookup(root, "orbs"); ok {
			// An inline orb is a mapping with its own jobs and executors; an
			// orb reference (name/orb@1.2) is a string and holds no image.
			for _, kv := range yamlPairs(orbs) {
				if kv.val != nil && kv.val.Kind == yaml.MappingNode {
					cc.sections(kv.val, "orbs."+kv.key+".", kv.key+"/")
				}
			}
		}
	}
	return c.finish(), nil
}

// circleci reads one document of a CircleCI config.
type circleci struct {
	c    *ciYAML
	root *yaml.Node
}

// sections reports docker[].image of every job and executor in m; orb is
// the prefix workflows and jobs name its jobs and executors with ("" for
// the config's own, "name/" for an inline orb's).
func (cc *circleci) sections(m *yaml.Node, prefix, orb string) {
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
			owner := circleciOwner{section: section, name: orb + kv.key, def: kv.val}
			ctx := prefix + section + "." + kv.key + ".docker["
			for i, item := range docker.Content {
				if img, ok := yamlLookup(item, "image"); ok {
					cc.c.addComposed(img, ctx+strconv.Itoa(i)+"].image", func(r *Ref, text string) { cc.expand(r, text, owner) })
				}
			}
		}
	}
}

// circleciOwner is the job or executor an image belongs to.
type circleciOwner struct {
	section string // "jobs" or "executors"
	name    string // as workflows and jobs call it (orb/name for an inline orb's)
	def     *yaml.Node
}

// circleciParamRe matches what << >> holds for a parameter.
var circleciParamRe = regexp.MustCompile(`^<<\s*(pipeline\.)?parameters\.([A-Za-z0-9_-]+)\s*>>$`)

// expand makes r a composed ref when text uses only parameters with a
// string default that nothing in the file overrides.
func (cc *circleci) expand(r *Ref, text string, owner circleciOwner) {
	ms := ciVarRe.FindAllStringIndex(text, -1)
	var uses []ciVarUse
	for _, m := range ms {
		use := text[m[0]:m[1]]
		pm := circleciParamRe.FindStringSubmatch(use)
		if pm == nil {
			return // a $VARIABLE or another pipeline value: skipped as add said
		}
		pipeline, name := pm[1] != "", pm[2]
		var value, why, by string
		if pipeline {
			value, why = circleciDefault(yamlLookupOr(cc.root, "parameters"), name, "the pipeline")
			by = "the pipeline's default; a pipeline triggered with " + name + " overrides it"
		} else {
			kind := strings.TrimSuffix(owner.section, "s")
			value, why = circleciDefault(yamlLookupOr(owner.def, "parameters"), name, kind+" "+owner.name)
			if why == "" {
				why = cc.passed(owner, name)
			}
			if owner.section == "jobs" {
				by = "the default of job " + owner.name + "; a workflow invoking the job with " + name + ": … overrides it"
			} else {
				by = "the default of executor " + owner.name + "; a job using the executor with " + name + ": … overrides it"
			}
		}
		if why != "" {
			r.Skip = "uses " + use + ": " + why + "; write the image literally to pin it"
			return
		}
		label := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(use, "<<"), ">>"))
		uses = append(uses, ciVarUse{start: m[0], end: m[1], name: label, value: value, by: by})
	}
	if len(uses) == 0 {
		return
	}
	r.Skip = ""
	names, vals := ciNames(uses)
	note := strings.Join(vals, "; ")
	ciComposed(r, text, uses, note, "every value its callers pass for "+strings.Join(names, ", "),
		func(exp string) string {
			return fmt.Sprintf("to pin it, write the image literally (%s), or append a literal @sha256:… after the parameters for fix to refresh", exp)
		})
}

// circleciDefault is the string default of parameter name in a
// parameters: mapping, or why there is none; of names the declarer.
func circleciDefault(params *yaml.Node, name, of string) (value, why string) {
	p, ok := yamlLookup(params, name)
	if !ok || p == nil || p.Kind != yaml.MappingNode {
		return "", fmt.Sprintf("%s declares no parameter %s", of, name)
	}
	if t, ok := yamlLookup(p, "type"); ok && t != nil && t.Kind == yaml.ScalarNode && t.Value != "string" && t.Value != "enum" {
		return "", fmt.Sprintf("parameter %s of %s is of type %s, not a string", name, of, t.Value)
	}
	d, ok := yamlLookup(p, "default")
	switch {
	case !ok || d == nil || d.ShortTag() == "!!null":
		return "", fmt.Sprintf("parameter %s of %s has no default: its value comes from the caller", name, of)
	case d.Kind != yaml.ScalarNode || d.ShortTag() != "!!str":
		return "", fmt.Sprintf("the default of parameter %s of %s is not a string (quote it)", name, of)
	case strings.Contains(d.Value, "<<"):
		return "", fmt.Sprintf("the default of parameter %s of %s uses parameters itself", name, of)
	}
	return d.Value, ""
}

// passed says where the file passes a value for parameter name of owner
// (a workflow's invocation of the job, with or without a matrix; a job's
// executor: mapping), "" when nowhere: then the default is what runs.
func (cc *circleci) passed(owner circleciOwner, name string) string {
	if owner.section == "executors" {
		for _, jobs := range cc.jobSections() {
			for _, kv := range yamlPairs(jobs) {
				ex, ok := yamlLookup(kv.val, "executor")
				if !ok || ex == nil || ex.Kind != yaml.MappingNode {
					continue
				}
				if n, ok := yamlLookup(ex, "name"); ok && n != nil && n.Value == owner.name {
					if _, ok := yamlLookup(ex, name); ok {
						return fmt.Sprintf("job %s passes %s to executor %s, so the image is not the default", kv.key, name, owner.name)
					}
				}
			}
		}
		return ""
	}
	for _, wf := range yamlPairs(yamlLookupOr(cc.root, "workflows")) {
		jobs := yamlLookupOr(wf.val, "jobs")
		if jobs == nil || jobs.Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range jobs.Content {
			for _, call := range yamlPairs(item) {
				if call.key != owner.name {
					continue
				}
				_, direct := yamlLookup(call.val, name)
				_, matrix := yamlLookup(yamlLookupOr(yamlLookupOr(call.val, "matrix"), "parameters"), name)
				if direct || matrix {
					return fmt.Sprintf("workflow %s passes %s to job %s, so the image is not the default", wf.key, name, owner.name)
				}
			}
		}
	}
	return ""
}

// jobSections are the jobs: mappings of the config and its inline orbs.
func (cc *circleci) jobSections() []*yaml.Node {
	out := []*yaml.Node{yamlLookupOr(cc.root, "jobs")}
	for _, kv := range yamlPairs(yamlLookupOr(cc.root, "orbs")) {
		if kv.val != nil && kv.val.Kind == yaml.MappingNode {
			out = append(out, yamlLookupOr(kv.val, "jobs"))
		}
	}
	return out
}
