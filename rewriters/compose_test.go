package rewriters

import "testing"

// TestComposeGolden runs testdata/compose/*.txtar; go test -run
// TestComposeGolden -update rewrites their want and pinned sections.
func TestComposeGolden(t *testing.T) {
	t.Parallel()
	yamlRunGolden(t, "compose", composeRewriter{})
}

// FuzzCompose checks the Find invariants (yamlCheckInvariants) on any input.
func FuzzCompose(f *testing.F) {
	yamlFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		yamlCheckInvariants(t, composeRewriter{}, src)
	})
}
