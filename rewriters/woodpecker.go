package rewriters

// Woodpecker CI (.woodpecker.y[a]ml, .woodpecker/*.y[a]ml): image of every
// step, service and clone step, each given as a list of containers or as a
// mapping of name to container; the pre-1.0 `pipeline:` key too.
//
// A Woodpecker file has a services: mapping of containers with image:, the
// shape that makes other YAML compose by content, so Woodpecker is claimed
// by path before compose is asked. Images written with ${VAR} (matrix and
// CI variables) are skipped with the reason.

// Woodpecker is the kind of Woodpecker CI pipeline files.
const Woodpecker Kind = "woodpecker"

type woodpeckerFormat struct{}

func (woodpeckerFormat) Kind() Kind { return Woodpecker }

func (woodpeckerFormat) Candidate(p string) bool {
	if !isYAMLName(p) {
		return false
	}
	b := lowerBase(p)
	return b == ".woodpecker.yml" || b == ".woodpecker.yaml" || parentDir(p) == ".woodpecker"
}

func (woodpeckerFormat) Claim(*File) bool { return true }

func (woodpeckerFormat) Find(f *File) ([]Ref, error) {
	docs, c, trefs, templated, err := ciParse(f.Src, "Woodpecker")
	if err != nil || templated {
		return trefs, err
	}
	for _, root := range ciRoots(docs) {
		for _, key := range []string{"clone", "steps", "pipeline", "services"} {
			if n, ok := yamlLookup(root, key); ok {
				c.containers(n, key)
			}
		}
	}
	return c.finish(), nil
}
