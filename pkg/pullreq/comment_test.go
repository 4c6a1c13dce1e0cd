package pullreq

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/internal/fakegithub"
)

// A pull request by alice that adds an unpinned node image, re-pins redis
// to another tag's digest, and adds a manifest whose image cannot be checked.
func seedPR(t *testing.T) (*fakegithub.Server, int) {
	t.Helper()
	fake := fakegithub.New(t, "acme", "shop")
	fake.Seed("main", map[string]string{
		"Dockerfile":      "FROM alpine:3.20@" + digest("e") + "\nRUN make\n",
		"deploy/app.yaml": "image: nginx:1.27\n",
		"compose.yaml":    "services:\n  web:\n    image: redis:7@" + digest("0") + "\n",
		"README.md":       "# shop\n",
	})
	fake.Branch("feature", "main")
	fake.Commit("feature", "add build stage",
		fakegithub.File{Path: "Dockerfile", Content: "FROM node:20 AS build\nRUN npm ci\nFROM alpine:3.20@" + digest("e") + "\nRUN make\n"},
		fakegithub.File{Path: "compose.yaml", Content: "services:\n  web:\n    image: redis:7.2@" + digest("0") + "\n"},
		fakegithub.File{Path: "k8s/job.yaml", Content: "apiVersion: batch/v1\nkind: Job\nspec:\n  containers:\n    - image: busybox:1.36\n"},
		fakegithub.File{Path: "README.md", Content: "# shop\n\nNow with a build stage.\n"},
	)
	n := fake.OpenPR("feature", "main", "Add a build stage", "", "alice")
	return fake, n
}

func mkFinding(file string, line int, ref string, st finding.Status, resolved, msg string) finding.Finding {
	return finding.Finding{File: file, Line: line, Column: 6, Kind: "dockerfile", Ref: ref, Status: st, Resolved: finding.Str(resolved), Message: msg}
}

// prFindings is what check says about the head checkout.
func prFindings(nodeDigest string) ([]finding.Finding, map[FileLine]string) {
	fs := []finding.Finding{
		mkFinding("Dockerfile", 1, "node:20", finding.Unpinned, nodeDigest, ""),
		mkFinding("Dockerfile", 3, "alpine:3.20@"+digest("e"), finding.OK, digest("e"), ""),
		mkFinding("compose.yaml", 3, "redis:7.2@"+digest("0"), finding.Mismatch, digest("b"), "the pinned digest is what tag 7 points to"),
		mkFinding("deploy/app.yaml", 1, "nginx:1.27", finding.Unpinned, digest("c"), ""),
		mkFinding("k8s/job.yaml", 5, "busybox:1.36", finding.Error, "", "registry-1.docker.io: connection refused"),
	}
	fixed := map[FileLine]string{
		{"Dockerfile", 1}:      "FROM node:20@" + nodeDigest + " AS build",
		{"compose.yaml", 3}:    "    image: redis:7.2@" + digest("b"),
		{"deploy/app.yaml", 1}: "image: nginx:1.27@" + digest("c"),
	}
	return fs, fixed
}

func runComment(t *testing.T, fake *fakegithub.Server, n int, opts CommentOptions, fs []finding.Finding, fixed map[FileLine]string) CommentResult {
	t.Helper()
	res, err := Comment(context.Background(), fastClient(t, fake), Repo{"acme", "shop"}, n, opts, fs, fixed)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func suggestionOf(body string) string {
	_, after, ok := strings.Cut(body, "```suggestion\n")
	if !ok {
		return ""
	}
	s, _, _ := strings.Cut(after, "\n```")
	return s
}

func TestCommentSummaryAndSuggestions(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fs, fixed := prFindings(digest("a"))
	res := runComment(t, fake, n, CommentOptions{}, fs, fixed)

	if res.Checked != 3 || res.NeedsAction != 2 || res.Errors != 1 || res.Summary != SummaryCreated || res.Suggestions != 2 || res.Fallback {
		t.Errorf("result = %+v", res)
	}
	if !res.ChangedFiles["Dockerfile"] || !res.ChangedFiles["k8s/job.yaml"] || res.ChangedFiles["deploy/app.yaml"] {
		t.Errorf("changed files = %v", res.ChangedFiles)
	}
	comments := fake.Comments(n)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want 1", len(comments))
	}
	body := comments[0].Body
	golden(t, "comment-summary.md", body)
	if strings.Contains(body, "nginx") || strings.Contains(body, "alpine") {
		t.Errorf("summary reports lines the pull request does not change:\n%s", body)
	}

	reviews := fake.Reviews(n)
	if len(reviews) != 1 || reviews[0].State != "COMMENTED" {
		t.Fatalf("reviews = %+v", reviews)
	}
	head, _ := fake.Head("feature")
	if reviews[0].CommitID != head {
		t.Errorf("review on %s, head is %s", reviews[0].CommitID, head)
	}
	rc := fake.ReviewComments(n)
	if len(rc) != 2 {
		t.Fatalf("review comments = %+v", rc)
	}
	want := map[FileLine]string{
		{"Dockerfile", 1}:   "FROM node:20@" + digest("a") + " AS build",
		{"compose.yaml", 3}: "    image: redis:7.2@" + digest("b"),
	}
	for _, c := range rc {
		at := FileLine{c.Path, c.Line}
		if got := suggestionOf(c.Body); got != want[at] {
			t.Errorf("suggestion on %s = %q, want %q", at, got, want[at])
		}
		if c.Side != "RIGHT" || c.ReviewID != reviews[0].ID {
			t.Errorf("comment %+v", c)
		}
	}
	if !strings.Contains(rc[1].Body, "⚠️ **mismatch**") {
		t.Errorf("mismatch suggestion not loud:\n%s", rc[1].Body)
	}
}

func TestCommentSecondRunWritesNothing(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fs, fixed := prFindings(digest("a"))
	runComment(t, fake, n, CommentOptions{}, fs, fixed)
	fake.ResetCalls()
	res := runComment(t, fake, n, CommentOptions{}, fs, fixed)
	if w := writes(fake); len(w) != 0 {
		t.Errorf("second run wrote %v", w)
	}
	if res.Summary != SummaryUnchanged || res.Suggestions != 0 || res.SuggestionsKept != 2 {
		t.Errorf("result = %+v", res)
	}
	if len(fake.Comments(n)) != 1 || len(fake.Reviews(n)) != 1 || len(fake.ReviewComments(n)) != 2 {
		t.Errorf("comments %d reviews %d review comments %d", len(fake.Comments(n)), len(fake.Reviews(n)), len(fake.ReviewComments(n)))
	}
}

func TestCommentEditsInPlace(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fake.AddComment(n, "bob", "Please pin images.")
	fs, fixed := prFindings(digest("a"))
	runComment(t, fake, n, CommentOptions{}, fs, fixed)
	first := fake.Comments(n)[1]

	// node:20 moved before the next push.
	fs, fixed = prFindings(digest("d"))
	res := runComment(t, fake, n, CommentOptions{}, fs, fixed)
	comments := fake.Comments(n)
	if len(comments) != 2 || comments[1].ID != first.ID || comments[0].Body != "Please pin images." {
		t.Fatalf("comments = %+v", comments)
	}
	if !strings.Contains(comments[1].Body, shortDigest(digest("d"))) || strings.Contains(comments[1].Body, shortDigest(digest("a"))) {
		t.Errorf("summary not updated:\n%s", comments[1].Body)
	}
	if res.Summary != SummaryUpdated || res.SuggestionsEdited != 1 || res.SuggestionsKept != 1 || res.Suggestions != 0 {
		t.Errorf("result = %+v", res)
	}
	rc := fake.ReviewComments(n)
	if len(rc) != 2 || len(fake.Reviews(n)) != 1 {
		t.Fatalf("review comments %d, reviews %d", len(rc), len(fake.Reviews(n)))
	}
	if got := suggestionOf(rc[0].Body); got != "FROM node:20@"+digest("d")+" AS build" {
		t.Errorf("suggestion not refreshed: %q", got)
	}
}

func TestCommentSaysWhenAllPinned(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fs, fixed := prFindings(digest("a"))
	runComment(t, fake, n, CommentOptions{}, fs, fixed)

	// alice pushes the fixes.
	fake.Commit("feature", "pin",
		fakegithub.File{Path: "Dockerfile", Content: "FROM node:20@" + digest("a") + " AS build\nRUN npm ci\nFROM alpine:3.20@" + digest("e") + "\nRUN make\n"},
		fakegithub.File{Path: "compose.yaml", Content: "services:\n  web:\n    image: redis:7.2@" + digest("b") + "\n"},
		fakegithub.File{Path: "k8s/job.yaml", Delete: true},
	)
	fs = []finding.Finding{
		mkFinding("Dockerfile", 1, "node:20@"+digest("a"), finding.OK, digest("a"), ""),
		mkFinding("compose.yaml", 3, "redis:7.2@"+digest("b"), finding.OK, digest("b"), ""),
	}
	fake.ResetCalls()
	res := runComment(t, fake, n, CommentOptions{}, fs, nil)
	comments := fake.Comments(n)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "All image references on changed lines are pinned ✅") || !strings.Contains(comments[0].Body, CommentMarker) {
		t.Fatalf("comments = %+v", comments)
	}
	if res.Summary != SummaryUpdated || res.NeedsAction != 0 || res.Checked != 2 {
		t.Errorf("result = %+v", res)
	}
	if w := writes(fake); len(w) != 1 || !strings.Contains(w[0], "PATCH /repos/acme/shop/issues/comments/") {
		t.Errorf("writes = %v", w)
	}
}

func TestCommentQuietWhenNoImagesChanged(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	// Only refs on lines the pull request does not touch.
	fs := []finding.Finding{mkFinding("deploy/app.yaml", 1, "nginx:1.27", finding.Unpinned, digest("c"), "")}
	res := runComment(t, fake, n, CommentOptions{}, fs, map[FileLine]string{{"deploy/app.yaml", 1}: "image: nginx:1.27@" + digest("c")})
	if w := writes(fake); len(w) != 0 || res.Summary != SummaryNone || res.Checked != 0 {
		t.Errorf("result %+v, writes %v", res, w)
	}
}

func TestCommentForkFallsBackToAnnotations(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fake.ForbidWrites(true)
	summary := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(summary, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ann, out bytes.Buffer
	fs, fixed := prFindings(digest("a"))
	res := runComment(t, fake, n, CommentOptions{Annotations: &ann, Out: &out, StepSummaryPath: summary}, fs, fixed)
	if !res.Fallback || res.NeedsAction != 2 || res.Errors != 1 {
		t.Errorf("result = %+v", res)
	}
	if len(fake.Comments(n)) != 0 || len(fake.Reviews(n)) != 0 {
		t.Error("wrote to a fork's pull request")
	}
	lines := strings.Split(strings.TrimSpace(ann.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("annotations:\n%s", ann.String())
	}
	wantPrefixes := []string{
		"::warning file=Dockerfile,line=1,title=digestbot%3A unpinned::unpinned node:20: not pinned to a digest; pin it to sha256:aaaaaaaaaaaa",
		"::warning file=compose.yaml,line=3,title=digestbot%3A mismatch::mismatch redis:7.2@",
		"::error file=k8s/job.yaml,line=5,title=digestbot%3A error::error busybox:1.36: could not be checked",
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("annotation %d:\n%s\nwant prefix\n%s", i, lines[i], p)
		}
	}
	if !strings.Contains(lines[0], "%0ASuggested line:%0AFROM node:20@"+digest("a")+" AS build") {
		t.Errorf("annotation lacks the fixed line: %s", lines[0])
	}
	b, _ := os.ReadFile(summary)
	md := string(b)
	if !strings.HasPrefix(md, "earlier step\n") || !strings.Contains(md, "| `Dockerfile:1` | `node:20` | unpinned |") ||
		!strings.Contains(md, "```\nFROM node:20@"+digest("a")+" AS build\n```") || strings.Contains(md, CommentMarker) {
		t.Errorf("step summary:\n%s", md)
	}
	if !strings.Contains(out.String(), "cannot comment") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestCommentSkipsLinesThatDoNotMatchHead(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	// A checkout of another commit: line 1 holds something else on GitHub.
	fs := []finding.Finding{mkFinding("Dockerfile", 1, "python:3.12", finding.Unpinned, digest("a"), "")}
	var out bytes.Buffer
	res := runComment(t, fake, n, CommentOptions{Out: &out}, fs, map[FileLine]string{{"Dockerfile", 1}: "FROM python:3.12@" + digest("a")})
	if res.NeedsAction != 0 || len(fake.ReviewComments(n)) != 0 {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(out.String(), "head commit") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestCommentLineText: with the checkout's line texts, a finding is matched
// by its line, not by its ref text, so a ref split over keys (reported as
// image:tag at the tag's line, which does not hold that text) is commented,
// and a line that differs from the checkout is not.
func TestCommentLineText(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	checkout := map[FileLine]string{
		{"Dockerfile", 1}:   "FROM node:20 AS build",
		{"compose.yaml", 3}: "    image: redis:7.1@" + digest("0"), // another commit
	}
	lineText := func(file string, line int) (string, bool) {
		s, ok := checkout[FileLine{file, line}]
		return s, ok
	}
	fs := []finding.Finding{
		mkFinding("Dockerfile", 1, "docker.io/library/node:20", finding.Unpinned, digest("a"), ""),
		mkFinding("compose.yaml", 3, "redis:7.2@"+digest("0"), finding.Mismatch, digest("b"), ""),
	}
	var out bytes.Buffer
	res := runComment(t, fake, n, CommentOptions{Out: &out, LineText: lineText}, fs, nil)
	if res.NeedsAction != 1 || len(res.Findings) != 1 || res.Findings[0].File != "Dockerfile" {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(out.String(), "compose.yaml:3") || !strings.Contains(out.String(), "head commit") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestCommentSuggestsOnEditedLine: a ref split over keys is reported at
// one line (its tag) and pinned at another (its digest key); the suggestion
// goes on the edited line when the pull request changes it, and is left
// out when it does not.
func TestCommentSuggestsOnEditedLine(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fs := []finding.Finding{
		mkFinding("k8s/job.yaml", 5, "busybox:1.36", finding.Unpinned, digest("a"), ""),
		mkFinding("compose.yaml", 3, "redis:7.2@"+digest("0"), finding.Stale, digest("b"), ""),
	}
	fixed := map[FileLine]string{
		{"k8s/job.yaml", 4}: "  containers: # pinned here",
		{"compose.yaml", 2}: "  web: # not in the pull request's diff",
	}
	edits := map[FileLine][]int{{"k8s/job.yaml", 5}: {4}, {"compose.yaml", 3}: {2}}
	res := runComment(t, fake, n, CommentOptions{EditLines: edits}, fs, fixed)
	if res.NeedsAction != 2 || res.Suggestions != 1 {
		t.Errorf("result %+v", res)
	}
	rc := fake.ReviewComments(n)
	if len(rc) != 1 || rc[0].Path != "k8s/job.yaml" || rc[0].Line != 4 || suggestionOf(rc[0].Body) != "  containers: # pinned here" {
		t.Fatalf("review comments = %+v", rc)
	}
	if body := fake.Comments(n)[0].Body; !strings.Contains(body, "(suggested below)") {
		t.Errorf("summary does not point at the suggestion:\n%s", body)
	}
}

func TestCommentDryRun(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	var out bytes.Buffer
	fs, fixed := prFindings(digest("a"))
	res := runComment(t, fake, n, CommentOptions{DryRun: true, Out: &out}, fs, fixed)
	if w := writes(fake); len(w) != 0 {
		t.Errorf("dry run wrote %v", w)
	}
	if res.Summary != SummaryCreated || res.Suggestions != 2 || !strings.Contains(out.String(), "dry run: would suggest on Dockerfile:1") {
		t.Errorf("result %+v\n%s", res, out.String())
	}
}

func TestSuggestionFenceOutgrowsBackticks(t *testing.T) {
	t.Parallel()
	s := &suggestion{at: FileLine{"x.md", 1}, text: "echo ```weird``` x", findings: []finding.Finding{mkFinding("x.md", 1, "a:1", finding.Unpinned, digest("a"), "")}}
	body := suggestionBody(s)
	if !strings.Contains(body, "\n````suggestion\necho ```weird``` x\n````\n") {
		t.Errorf("body:\n%s", body)
	}
}

func TestAddedLines(t *testing.T) {
	t.Parallel()
	patch := "@@ -1,3 +1,4 @@\n+FROM node:20\n FROM a\n-RUN x\n+RUN y\n keep\n@@ -10 +11,2 @@ func\n ctx\n+new\\\n\\ No newline at end of file"
	got := AddedLines(patch)
	want := map[int]string{1: "FROM node:20", 3: "RUN y", 12: "new\\"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("line %d = %q, want %q", k, got[k], v)
		}
	}
	if got := AddedLines("@@ -1,2 +0,0 @@\n-a\n-b"); len(got) != 0 {
		t.Errorf("deletion-only patch: %v", got)
	}
}

func TestMarkdownHelpers(t *testing.T) {
	t.Parallel()
	cases := []struct{ got, want string }{
		{escapeMD("a*b_c<d>|e@f\nx"), `a\*b\_c\<d\>\|e&#64;f x`},
		{code("plain"), "`plain`"},
		{code("a`b"), "``a`b``"},
		{code("`x`"), "`` `x` ``"},
		{codeCell("a|b"), "`a\\|b`"},
		{shortDigest(digest("f")), "sha256:ffffffffffff"},
		{fenceFor("no ticks"), "```"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("%d: %q, want %q", i, c.got, c.want)
		}
	}
}

// TestCommentAdoptsOnlyItsOwn: a comment by someone else that carries
// digestbot's hidden marker is never adopted nor edited; digestbot posts
// its own.
func TestCommentAdoptsOnlyItsOwn(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	forged := CommentMarker + "\nmallory's words, which digestbot must not edit"
	fake.AddComment(n, "mallory", forged)
	fs, fixed := prFindings(digest("a"))
	res := runComment(t, fake, n, CommentOptions{}, fs, fixed)
	comments := fake.Comments(n)
	if len(comments) != 2 || comments[0].Body != forged || comments[0].User != "mallory" {
		t.Fatalf("comments = %+v", comments)
	}
	if res.Summary != SummaryCreated || comments[1].User != ActionsBot {
		t.Errorf("summary %v by %s, want created by %s", res.Summary, comments[1].User, ActionsBot)
	}
	// The second run edits digestbot's own comment, still not mallory's.
	fs, fixed = prFindings(digest("d"))
	runComment(t, fake, n, CommentOptions{}, fs, fixed)
	comments = fake.Comments(n)
	if len(comments) != 2 || comments[0].Body != forged || !strings.Contains(comments[1].Body, shortDigest(digest("d"))) {
		t.Errorf("comments after the second run = %+v", comments)
	}
}
