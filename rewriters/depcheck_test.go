package rewriters

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoNetworkImports enforces the package boundary: rewriters parse
// untrusted files and must never reach the network, so neither they nor
// anything they import may pull in network packages.
func TestNoNetworkImports(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"net", "net/http", "net/url", "crypto/tls", "os/exec",
		"github.com/regclient/", "github.com/google/go-github/", "github.com/google/go-containerregistry/"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
				t.Errorf("rewriters imports %s (directly or through a dependency); it must stay offline", dep)
			}
		}
	}
}
