package rewriters

type dockerfileRewriter struct{}

func (dockerfileRewriter) Kind() Kind { return Dockerfile }

// Find is implemented in a later change.
func (dockerfileRewriter) Find(src []byte) ([]Ref, error) { return nil, nil }
