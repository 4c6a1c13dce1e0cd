package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/plan"
	"github.com/digestbot/digestbot/pkg/pullreq"
	"github.com/digestbot/digestbot/pkg/scan"
)

// ghRun runs the CLI in-process with the given environment variables.
func ghRun(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""), Getenv: func(k string) string { return vars[k] }}
	code := Main(context.Background(), args, env)
	return code, out.String(), errb.String()
}

func TestGitHubCommandsNeedTheirEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"pr without repository", map[string]string{"GITHUB_TOKEN": "x"}, []string{"pr", dir}, "GITHUB_REPOSITORY is not set"},
		{"pr with a bad repository", map[string]string{"GITHUB_TOKEN": "x", "GITHUB_REPOSITORY": "nope"}, []string{"pr", dir}, "not owner/name"},
		{"pr without token", map[string]string{"GITHUB_REPOSITORY": "a/b"}, []string{"pr", dir}, "GITHUB_TOKEN is not set"},
		{"pr with two paths", map[string]string{"GITHUB_REPOSITORY": "a/b", "GITHUB_TOKEN": "x"}, []string{"pr", dir, dir}, "accepts at most 1 arg"},
		{"comment without a pull request", map[string]string{"GITHUB_REPOSITORY": "a/b", "GITHUB_TOKEN": "x"}, []string{"comment", dir}, "pass --pr N"},
		{"comment with a bad event", map[string]string{"GITHUB_REPOSITORY": "a/b", "GITHUB_TOKEN": "x", "GITHUB_EVENT_PATH": filepath.Join(dir, "missing.json")}, []string{"comment", dir}, "GITHUB_EVENT_PATH"},
		{"pr on a file", map[string]string{"GITHUB_REPOSITORY": "a/b", "GITHUB_TOKEN": "x"}, []string{"pr", filepath.Join(dir, "Dockerfile")}, "is not a folder"},
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		code, _, stderr := ghRun(t, c.vars, c.args...)
		if code != ExitError || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want 2 and %q", c.name, code, stderr, c.want)
		}
		if strings.Contains(stderr, "x\n") {
			t.Errorf("%s: printed the token", c.name)
		}
	}
}

func TestFixedLines(t *testing.T) {
	t.Parallel()
	out := &plan.Outcome{
		Findings: []finding.Finding{{File: "Dockerfile", Line: 2, Ref: "node:20", Status: finding.Unpinned}},
		Problems: []finding.Problem{{File: "bad.yaml", Message: "cannot parse"}},
		Files: []plan.FileChange{{
			File:    &scan.File{Path: "Dockerfile", Src: []byte("# x\r\nFROM node:20\r\n")},
			New:     []byte("# x\r\nFROM node:20@sha256:aa\r\n"),
			Changes: []finding.Change{{File: "Dockerfile", Line: 2, Lines: []int{2}, Old: "node:20"}},
		}},
	}
	fixed := fixedLines(out.Files)
	if got := fixed[pullreq.FileLine{File: "Dockerfile", Line: 2}]; got != "FROM node:20@sha256:aa" {
		t.Errorf("fixed line = %q", got)
	}
}

func TestWriteGitHubOutput(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out")
	_ = os.WriteFile(path, []byte("earlier=1\n"), 0o644)
	env := &Env{Getenv: func(k string) string {
		if k == "GITHUB_OUTPUT" {
			return path
		}
		return ""
	}}
	if err := writeGitHubOutput(env, map[string]string{"pr-url": "https://x/1", "pr-number": "1", "odd": "a\nb"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "earlier=1\nodd=a b\npr-number=1\npr-url=https://x/1\n" {
		t.Errorf("GITHUB_OUTPUT = %q", b)
	}
}

func TestEditLines(t *testing.T) {
	t.Parallel()
	files := []plan.FileChange{{
		File: &scan.File{Path: "chart/values.yaml"},
		Changes: []finding.Change{
			{Line: 3, Lines: []int{3}},     // edited where reported: not listed
			{Line: 7, Lines: []int{8}},     // tag at 7, digest key at 8
			{Line: 9, Lines: []int{9, 10}}, // several lines
		},
	}}
	got := editLines(files)
	if len(got) != 2 || len(got[pullreq.FileLine{File: "chart/values.yaml", Line: 7}]) != 1 || got[pullreq.FileLine{File: "chart/values.yaml", Line: 7}][0] != 8 ||
		len(got[pullreq.FileLine{File: "chart/values.yaml", Line: 9}]) != 2 {
		t.Errorf("editLines = %v", got)
	}
}
