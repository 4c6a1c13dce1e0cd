package rewriters

type composeRewriter struct{}

func (composeRewriter) Kind() Kind { return Compose }

// Find is implemented in a later change.
func (composeRewriter) Find(src []byte) ([]Ref, error) { return nil, nil }

func looksLikeCompose(src []byte) bool { return false }
