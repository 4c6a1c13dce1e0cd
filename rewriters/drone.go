package rewriters

// Drone (.drone.yml, .drone.yaml; multi-document): image of every item of
// steps and services in each `kind: pipeline` document, and the Drone 0.8
// layout (pipeline: and services: as mappings of name to container).
//
// Not references: documents of other kinds (secret, signature, template),
// and images written with ${VAR} (Drone substitutes them from the build's
// environment; skipped with the reason).

import "go.yaml.in/yaml/v3"

// Drone is the kind of Drone CI pipeline files.
const Drone Kind = "drone"

type droneFormat struct{}

func (droneFormat) Kind() Kind { return Drone }

func (droneFormat) Candidate(p string) bool {
	b := lowerBase(p)
	return b == ".drone.yml" || b == ".drone.yaml"
}

func (droneFormat) Claim(*File) bool { return true }

func (droneFormat) Find(f *File) ([]Ref, error) {
	docs, c, trefs, templated, err := ciParse(f.Src, "Drone")
	if err != nil || templated {
		return trefs, err
	}
	for _, root := range ciRoots(docs) {
		if k, ok := yamlLookup(root, "kind"); ok && k != nil && k.Kind == yaml.ScalarNode && k.Value != "pipeline" {
			continue
		}
		for _, key := range []string{"steps", "services", "pipeline"} {
			if n, ok := yamlLookup(root, key); ok {
				c.containers(n, key)
			}
		}
	}
	return c.finish(), nil
}
