package pullreq

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/internal/fakegithub"
	"github.com/digestbot/digestbot/pkg/plan"
	"github.com/digestbot/digestbot/pkg/scan"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// digest returns a recognisable fake digest: sha256:<c repeated>.
func digest(c string) string { return "sha256:" + strings.Repeat(c, 64/len(c)) }

// sleeps records the waits a client asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newClient(t *testing.T, fake *fakegithub.Server, p RetryPolicy) *github.Client {
	t.Helper()
	c, err := NewClient(context.Background(), "test-token", fake.URL, WithRetry(p))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fastClient never really sleeps.
func fastClient(t *testing.T, fake *fakegithub.Server) *github.Client {
	s := &sleeps{}
	return newClient(t, fake, RetryPolicy{Sleep: s.sleep})
}

// The repository every Publish test starts from.
var baseFiles = map[string]string{
	"Dockerfile":           "# syntax=docker/dockerfile:1\nFROM node:20 AS build\nRUN npm ci\n",
	"deploy/app.yaml":      "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: \"nginx:1.27@" + digest("0") + "\"\n",
	"tools/Dockerfile":     "FROM alpine:3.20\n",
	"README.md":            "# demo\n",
	"deploy/unrelated.txt": "untouched\n",
}

func seedRepo(t *testing.T) *fakegithub.Server {
	t.Helper()
	fake := fakegithub.New(t, "acme", "shop")
	var fs []fakegithub.File
	for p, c := range baseFiles {
		mode := fakegithub.ModeFile
		if p == "tools/Dockerfile" {
			mode = fakegithub.ModeExec
		}
		fs = append(fs, fakegithub.File{Path: p, Content: c, Mode: mode})
	}
	fake.Commit("main", "initial", fs...)
	return fake
}

// fileChange builds what the plan computes for one file: pin each change's
// Old text at its NewDigest on its line.
func fileChange(path, src string, mode os.FileMode, changes ...finding.Change) plan.FileChange {
	lines := strings.SplitAfter(src, "\n")
	for i := range changes {
		c := &changes[i]
		c.File = path
		name, _, _ := strings.Cut(c.Old, "@")
		lines[c.Line-1] = strings.Replace(lines[c.Line-1], c.Old, name+"@"+c.NewDigest, 1)
		c.Lines = []int{c.Line}
	}
	return plan.FileChange{
		File:    &scan.File{Path: path, Abs: "/checkout/" + path, Mode: mode, Src: []byte(src)},
		New:     []byte(strings.Join(lines, "")),
		Changes: changes,
	}
}

// pinAll is the change set of the first run: pin node, fix a mismatched
// nginx pin, pin alpine in an executable file.
func pinAll(nodeDigest string) []plan.FileChange {
	return []plan.FileChange{
		fileChange("Dockerfile", baseFiles["Dockerfile"], 0o644, finding.Change{
			Line: 2, Column: 6, Old: "node:20",
			Image: "docker.io/library/node", Tag: "20", NewDigest: nodeDigest, Status: finding.Unpinned,
		}),
		fileChange("deploy/app.yaml", baseFiles["deploy/app.yaml"], 0o644, finding.Change{
			Line: 5, Column: 15, Old: "nginx:1.27@" + digest("0"),
			Image: "docker.io/library/nginx", Tag: "1.27", OldDigest: digest("0"), NewDigest: digest("b"),
			Status: finding.Mismatch, Message: "the pinned digest is what tag 1.26 points to",
		}),
		fileChange("tools/Dockerfile", baseFiles["tools/Dockerfile"], 0o755, finding.Change{
			Line: 1, Column: 6, Old: "alpine:3.20",
			Image: "docker.io/library/alpine", Tag: "3.20", NewDigest: digest("c"), Status: finding.Unpinned,
		}),
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func writes(fake *fakegithub.Server) []string {
	var out []string
	for _, c := range fake.Writes() {
		out = append(out, c.String())
	}
	return out
}
