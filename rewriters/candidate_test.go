package rewriters

import (
	"path"
	"testing"
)

// candidateNameCases are paths every format reads, names close to them
// that no format reads, and case and Unicode variants.
var candidateNameCases = []struct {
	path string
	want bool // Candidate's answer
}{
	{"Dockerfile", true},
	{"svc/api.Dockerfile", true},
	{"Containerfile.dev", true},
	{"DOCKERFILE", true},
	{"compose.yaml", true},
	{"deploy/app.YML", true},
	{"chart/values-prod.yml", true},
	{"base/Kustomization", true},
	{"docker-bake.hcl", true},
	{"docker-bake.json", true},
	{"cloudbuild.json", true},
	{".devcontainer.json", true},
	{".devcontainer/devcontainer.json", true},
	{".github/workflows/ci.yml", true},
	{".gitlab-ci.yml", true},
	{"app/.env", true},
	{"Doc\u212aerfile", true}, // KELVIN SIGN lower-cases to k in strings.ToLower
	{"README.md", false},
	{"main.go", false},
	{"kustomization", false},
	{"package.json", false}, // a .json name no format claims by path
	{"dockerfile-notes.txt", false},
	{"values.yaml.bak", false},
	{"", false},
}

func TestCandidateName(t *testing.T) {
	t.Parallel()
	for _, c := range candidateNameCases {
		if got := Candidate(c.path); got != c.want {
			t.Errorf("Candidate(%q) = %v, want %v", c.path, got, c.want)
		}
		if c.want && !CandidateName(path.Base(c.path)) {
			t.Errorf("CandidateName(%q) = false for a path Candidate accepts", path.Base(c.path))
		}
	}
	// Every file of every format's txtar cases.
	n := 0
	for _, p := range hCases(t) {
		for _, in := range hLoadCase(t, p).files(t) {
			n++
			if anyCandidate(in.path) && !CandidateName(path.Base(in.path)) {
				t.Errorf("%s: a format reads %q but CandidateName is false", p, in.path)
			}
		}
	}
	if n == 0 {
		t.Error("no txtar case files found")
	}
	// The filter must reject the common names of a source tree, or it
	// saves nothing.
	for _, n := range []string{"main.go", "index.ts", "README.md", "notes.txt", "Makefile", "go.sum"} {
		if CandidateName(n) {
			t.Errorf("CandidateName(%q) = true", n)
		}
	}
}

// FuzzCandidateName checks that CandidateName is a necessary condition
// of the formats' own Candidate: it never turns away a path a format
// would read.
func FuzzCandidateName(f *testing.F) {
	for _, c := range candidateNameCases {
		f.Add(c.path)
	}
	for _, p := range hCases(f) {
		for _, in := range hLoadCase(f, p).files(f) {
			f.Add(in.path)
		}
	}
	f.Fuzz(func(t *testing.T, p string) {
		if anyCandidate(p) && !CandidateName(p[lastSlash(p)+1:]) {
			t.Fatalf("a format reads %q but CandidateName(%q) is false", p, p[lastSlash(p)+1:])
		}
		if Candidate(p) != anyCandidate(p) {
			t.Fatalf("Candidate(%q) = %v, formats say %v", p, Candidate(p), anyCandidate(p))
		}
	})
}

func lastSlash(p string) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return i
		}
	}
	return -1
}
