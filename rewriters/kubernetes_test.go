package rewriters

import "testing"

// TestKubernetesGolden runs testdata/kubernetes/*.txtar; go test -run
// TestKubernetesGolden -update rewrites their want and pinned sections.
func TestKubernetesGolden(t *testing.T) {
	t.Parallel()
	yamlRunGolden(t, "kubernetes", kubernetesRewriter{})
}

// FuzzKubernetes checks the Find invariants (yamlCheckInvariants) on any input.
func FuzzKubernetes(f *testing.F) {
	yamlFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		yamlCheckInvariants(t, kubernetesRewriter{}, src)
	})
}
