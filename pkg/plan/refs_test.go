package plan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/scan"
	"github.com/digestbot/digestbot/rewriters"
)

func mustConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func statuses(fs []finding.Finding) string {
	var out []string
	for _, f := range fs {
		s := string(f.Status) + " " + f.Ref
		if f.Message != "" {
			s += " (" + f.Message + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

// TestOffline: scan's statuses are decided here, from the parsed refs and
// the config: ignored images and unparsable refs are skipped.
func TestOffline(t *testing.T) {
	t.Parallel()
	f := file(t, "Dockerfile", "FROM node:20\nFROM busybox:1\nFROM alpine@"+dg("a")+"\nFROM ubuntu:22.04@"+dg("b")+"\nFROM node\n",
		"node:20", "busybox:1", "alpine@"+dg("a"), "ubuntu:22.04@"+dg("b"), "node")
	got := statuses(Offline([]*scan.File{f}, mustConfig(t, "ignore: [busybox]\n")))
	want := strings.Join([]string{
		"unpinned node:20",
		"skipped busybox:1 (ignored by .digestbot.yaml)",
		"pinned alpine@" + dg("a") + " (digest only: no tag to refresh)",
		"pinned ubuntu:22.04@" + dg("b"),
		"unpinned node (no tag: resolves latest)",
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestComposedAndNote: a composed ref is resolved from its expanded text and
// reported as written, its note appended to the message; pins.composed:
// skip turns it into skipped.
func TestComposedAndNote(t *testing.T) {
	t.Parallel()
	composed := func() *scan.File {
		f := file(t, "Dockerfile", "FROM node:20\n", "node:20")
		f.Refs[0].Text = "node:${V}"
		f.Refs[0].Expanded = "node:20"
		f.Refs[0].Composed = true
		f.Refs[0].Note = "V=20 (ARG V, line 1)"
		return f
	}
	res := &fakeResolver{tags: map[string]string{"docker.io/library/node:20": dg("1")}}
	out, err := Decide(context.Background(), []*scan.File{composed()}, DecideOptions{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	fd := out.Findings[0]
	if fd.Status != finding.Unpinned || fd.Ref != "node:${V}" || finding.Deref(fd.Tag) != "20" || fd.Message != "V=20 (ARG V, line 1)" {
		t.Errorf("composed: %+v", fd)
	}
	out, err = Decide(context.Background(), []*scan.File{composed()}, DecideOptions{Resolver: res, Config: mustConfig(t, "pins: {composed: skip}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if fd := out.Findings[0]; fd.Status != finding.Skipped || !strings.Contains(fd.Message, "pins.composed: skip") {
		t.Errorf("composed, skip: %+v", fd)
	}
	if got := Offline([]*scan.File{composed()}, mustConfig(t, "pins: {composed: skip}\n")); got[0].Status != finding.Skipped {
		t.Errorf("offline, skip: %+v", got[0])
	}
}

// TestCannotPin: a ref whose edit the format cannot give keeps its status,
// leaves its bytes, and yields one line naming file:line and why.
func TestCannotPin(t *testing.T) {
	t.Parallel()
	f := file(t, "Dockerfile", "FROM node:20\nFROM alpine:3\n", "node:20", "alpine:3")
	f.Refs[0] = rewriters.Ref{Span: f.Refs[0].Span, Line: 1, Column: 6, Text: "node:20"} // no edit
	res := &fakeResolver{tags: map[string]string{"docker.io/library/node:20": dg("1"), "docker.io/library/alpine:3": dg("2")}}
	out, err := Decide(context.Background(), []*scan.File{f}, DecideOptions{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	if out.Findings[0].Status != finding.Unpinned {
		t.Errorf("status = %s", out.Findings[0].Status)
	}
	if len(out.Unpinnable) != 1 || !strings.HasPrefix(out.Unpinnable[0].String(), "Dockerfile:1: cannot pin") {
		t.Errorf("unpinnable = %v", out.Unpinnable)
	}
	if len(out.Files) != 1 || string(out.Files[0].New) != "FROM node:20\nFROM alpine:3@"+dg("2")+"\n" {
		t.Fatalf("files = %+v", out.Files)
	}
	if c := out.Files[0].Changes; len(c) != 1 || c[0].Line != 2 || len(c[0].Lines) != 1 || c[0].Lines[0] != 2 {
		t.Errorf("changes = %+v", c)
	}
}

// TestOverrides: a ref that overrides an image's tag without a digest in
// another file (a kustomization) adds a notice to the pinned findings of
// that image elsewhere, and only while it has no digest itself.
func TestOverrides(t *testing.T) {
	t.Parallel()
	app := file(t, "deploy/Dockerfile", "FROM nginx:1.27@"+dg("a")+"\nFROM redis:7@"+dg("b")+"\nFROM nginx:1.26\n",
		"nginx:1.27@"+dg("a"), "redis:7@"+dg("b"), "nginx:1.26")
	over := func(text string) *scan.File {
		f := file(t, "kustomization/Dockerfile", "FROM "+text+"\n", text)
		f.Refs[0].Overrides = "nginx"
		return f
	}
	got := Offline([]*scan.File{app, over("nginx:1.28")}, nil)
	if !strings.Contains(got[0].Message, "kustomization/Dockerfile:1 overrides this image's tag with nginx:1.28 and no digest") {
		t.Errorf("pinned nginx: %q", got[0].Message)
	}
	if got[1].Message != "" || got[2].Message != "" {
		t.Errorf("other findings got a notice: %q, %q", got[1].Message, got[2].Message)
	}
	got = Offline([]*scan.File{app, over("nginx:1.28@" + dg("c"))}, nil)
	if got[0].Message != "" {
		t.Errorf("an override with a digest still warns: %q", got[0].Message)
	}
	// An override that reaches only some kinds of files (a kustomization's
	// images[] rewrites Kubernetes manifests, never a Dockerfile) warns
	// only those.
	only := over("nginx:1.28")
	only.Refs[0].OverridesKinds = []rewriters.Kind{rewriters.Kubernetes}
	got = Offline([]*scan.File{app, only}, nil)
	if got[0].Message != "" {
		t.Errorf("a Dockerfile got the notice of an override of Kubernetes manifests only: %q", got[0].Message)
	}
}

func TestRepoPrefix(t *testing.T) {
	t.Parallel()
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(repo, "deploy", "prod")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := RepoPrefix(repo, ""); err != nil || p != "" {
		t.Errorf("root: %q %v", p, err)
	}
	if p, err := RepoPrefix(sub, ""); err != nil || p != "deploy/prod/" {
		t.Errorf("sub: %q %v", p, err)
	}
	// No .git: the workspace is the root.
	ws := t.TempDir()
	wsSub := filepath.Join(ws, "k8s")
	_ = os.MkdirAll(wsSub, 0o755)
	if p, err := RepoPrefix(wsSub, ws); err != nil || p != "k8s/" {
		t.Errorf("workspace sub: %q %v", p, err)
	}
	if _, err := RepoPrefix(filepath.Join(ws, "nope"), ws); err == nil {
		t.Error("a missing folder has a prefix")
	}
}

func TestInRepo(t *testing.T) {
	t.Parallel()
	out := &Outcome{
		Findings:   []finding.Finding{{File: "Dockerfile", Line: 2, Ref: "node:20", Status: finding.Unpinned}},
		Problems:   []finding.Problem{{File: "bad.yaml", Message: "cannot parse"}},
		Unpinnable: []finding.Problem{{File: "Dockerfile", Line: 3, Message: "cannot pin"}},
		Files: []FileChange{{
			File:    &scan.File{Path: "Dockerfile"},
			Changes: []finding.Change{{File: "Dockerfile", Line: 2, Old: "node:20"}},
		}},
	}
	orig := out.Files[0].File
	out.inRepo("svc/")
	if out.Findings[0].File != "svc/Dockerfile" || out.Problems[0].File != "svc/bad.yaml" || out.Unpinnable[0].File != "svc/Dockerfile" ||
		out.Files[0].File.Path != "svc/Dockerfile" || out.Files[0].Changes[0].File != "svc/Dockerfile" {
		t.Errorf("paths not rewritten: %+v", out)
	}
	if orig.Path != "Dockerfile" {
		t.Error("inRepo changed the scanned file in place")
	}
}

func TestLineText(t *testing.T) {
	t.Parallel()
	f := file(t, "Dockerfile", "# a\r\nFROM node:20\nFROM alpine:3", "node:20", "alpine:3")
	res := &fakeResolver{tags: map[string]string{"docker.io/library/node:20": dg("1"), "docker.io/library/alpine:3": dg("2")}}
	out, err := Decide(context.Background(), []*scan.File{f}, DecideOptions{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	out.inRepo("svc/")
	for _, tt := range []struct {
		file string
		line int
		want string
		ok   bool
	}{
		{"svc/Dockerfile", 1, "# a\r", true},
		{"svc/Dockerfile", 2, "FROM node:20", true},
		{"svc/Dockerfile", 3, "FROM alpine:3", true},
		{"svc/Dockerfile", 4, "", false},
		{"svc/Dockerfile", 0, "", false},
		{"Dockerfile", 2, "", false},
	} {
		if got, ok := out.LineText(tt.file, tt.line); got != tt.want || ok != tt.ok {
			t.Errorf("LineText(%s, %d) = %q, %v", tt.file, tt.line, got, ok)
		}
	}
}

// TestBadDigestNeverWritten: a digest the resolver hands over that is not a
// digest (registries are not trusted) is refused by Ref.Pin: the finding is
// an error and the file is not changed.
func TestBadDigestNeverWritten(t *testing.T) {
	t.Parallel()
	f := file(t, "Dockerfile", "FROM node:20\n", "node:20")
	res := &fakeResolver{tags: map[string]string{"docker.io/library/node:20": "sha256:../../etc/passwd"}}
	out, err := Decide(context.Background(), []*scan.File{f}, DecideOptions{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	if fd := out.Findings[0]; fd.Status != finding.Error || !strings.Contains(fd.Message, "cannot be written") {
		t.Errorf("finding %+v", fd)
	}
	if len(out.Files) != 0 {
		t.Errorf("files changed: %+v", out.Files)
	}
}

// TestInvisibleCharactersAreErrors: a ref in the reference alphabet with an
// invisible or look-alike character (a zero-width space after the tag, a
// right-to-left override, a Cyrillic letter) is not a placeholder another
// tool expands: pulls fail on it, so it is an error (exit 2), never a skip
// that lets check pass. Placeholders stay skipped.
func TestInvisibleCharactersAreErrors(t *testing.T) {
	t.Parallel()
	refs := []string{"redis:7\u200b", "node:20\u202e", "ngin\u0445:1.27", "<image_url>", "\u2014"}
	src := ""
	for _, r := range refs {
		src += "FROM " + r + "\n"
	}
	f := file(t, "Dockerfile", src, refs...)
	fs := Offline([]*scan.File{f}, nil)
	for i, want := range []finding.Status{finding.Error, finding.Error, finding.Error, finding.Skipped, finding.Skipped} {
		if fs[i].Status != want {
			t.Errorf("%q: status %s (%s), want %s", fs[i].Ref, fs[i].Status, fs[i].Message, want)
		}
	}
}
