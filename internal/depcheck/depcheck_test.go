package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/digestbot/digestbot/"

// network is what offline parts must never reach, directly or not.
var network = []string{"net", "net/http", "net/url", "crypto/tls", "os/exec",
	"github.com/regclient/", "github.com/google/go-github/", "github.com/google/go-containerregistry/"}

// commandLine is what the core must never reach.
var commandLine = []string{"github.com/spf13/cobra", "github.com/spf13/pflag", module + "internal/cli", module + "cmd/"}

// part is one package of the project and its rules.
type part struct {
	pkg string
	// allow lists the project's packages the part may reach (besides
	// itself); nil means any.
	allow []string
	// deny lists import paths (a trailing slash: a prefix) the part must
	// never reach.
	deny []string
}

var parts = []part{
	{pkg: "rewriters", allow: []string{"pkg/imgref"}, deny: append(network, commandLine...)},
	{pkg: "pkg/scan", allow: []string{"pkg/config", "pkg/finding", "pkg/imgref", "rewriters", "internal/safetext"},
		deny: append(append([]string{module + "pkg/resolve", module + "pkg/diagnose", module + "pkg/plan"}, network...), commandLine...)},
	{pkg: "pkg/resolve", allow: []string{"pkg/config", "pkg/imgref", "internal/safetext"}, deny: commandLine},
	{pkg: "pkg/diagnose", allow: []string{"pkg/config", "pkg/imgref", "pkg/resolve", "pkg/finding", "internal/safetext", "internal/memo"}, deny: commandLine},
	{pkg: "pkg/finding", allow: []string{"internal/safetext"}, deny: append(network, commandLine...)},
	{pkg: "pkg/report", allow: []string{"pkg/finding", "internal/safetext"}, deny: append(network, commandLine...)},
	// safetext (escaping, redaction) is a leaf every printer may use.
	{pkg: "internal/safetext", allow: []string{}, deny: append(network, commandLine...)},
	{pkg: "internal/memo", allow: []string{}, deny: append(network, commandLine...)},
	{pkg: "pkg/imgref", allow: []string{}, deny: append(network, commandLine...)},
	{pkg: "pkg/config", allow: []string{}, deny: append(network, commandLine...)},
	{pkg: "pkg/plan", deny: commandLine},
	// verify reaches the registry only through the client it is given.
	{pkg: "pkg/verify", allow: []string{"pkg/config", "pkg/imgref", "pkg/resolve", "internal/safetext", "internal/memo"}, deny: commandLine},
}

// deps lists the import paths pkg reaches, itself excluded.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	var ds []string
	for _, d := range strings.Fields(string(out)) {
		if d != module+pkg {
			ds = append(ds, d)
		}
	}
	return ds
}

func matches(dep, pattern string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(dep, pattern)
	}
	return dep == pattern
}

// check returns the rule violations of p given its dependencies.
func check(p part, ds []string) []string {
	var bad []string
	for _, d := range ds {
		for _, f := range p.deny {
			if matches(d, f) {
				bad = append(bad, p.pkg+" reaches "+d+" (never allowed)")
			}
		}
		if p.allow == nil || !strings.HasPrefix(d, module) {
			continue
		}
		rel := strings.TrimPrefix(d, module)
		ok := strings.HasPrefix(rel, p.pkg+"/") // its own sub-packages
		for _, a := range p.allow {
			ok = ok || rel == a
		}
		if !ok {
			bad = append(bad, p.pkg+" reaches "+rel+" (not in its allow-list)")
		}
	}
	return bad
}

func TestBoundaries(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	for _, p := range parts {
		t.Run(strings.ReplaceAll(p.pkg, "/", "_"), func(t *testing.T) {
			t.Parallel()
			for _, v := range check(p, deps(t, p.pkg)) {
				t.Error(v)
			}
		})
	}
}

// TestCheckCatches: the checker itself reports what it must (a test that
// cannot fail proves nothing).
func TestCheckCatches(t *testing.T) {
	t.Parallel()
	p := part{pkg: "pkg/scan", allow: []string{"pkg/config"}, deny: append([]string{"net/http"}, commandLine...)}
	got := check(p, []string{"fmt", "net/http", module + "pkg/config", module + "pkg/resolve", module + "pkg/scan/internal/x", "github.com/spf13/cobra"})
	want := []string{
		"pkg/scan reaches net/http (never allowed)",
		"pkg/scan reaches pkg/resolve (not in its allow-list)",
		"pkg/scan reaches github.com/spf13/cobra (never allowed)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
