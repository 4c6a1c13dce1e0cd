package pullreq

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/internal/fakegithub"
)

// unsignedMsg is what verify says, with Markdown, HTML and a mention that
// must come out as text.
const unsignedMsg = "no signature found for *node* <b>20</b> [x](https://evil.example) @mallory"

// unsignedFindings: the pull request's new node line is unsigned, the
// alpine line is signed and ok, the redis line a mismatch to suggest.
// fixed holds a text for the unsigned line too (as if another ref on it
// were pinned), to prove an unsigned line never gets a suggestion.
func unsignedFindings(msg string) ([]finding.Finding, map[FileLine]string) {
	fs := []finding.Finding{
		mkFinding("Dockerfile", 1, "node:20", finding.Unsigned, digest("a"), msg),
		mkFinding("Dockerfile", 3, "alpine:3.20@"+digest("e"), finding.OK, digest("e"), "signed with key cosign.pub"),
		mkFinding("compose.yaml", 3, "redis:7.2@"+digest("0"), finding.Mismatch, digest("b"), "the pinned digest is what tag 7 points to"),
	}
	fixed := map[FileLine]string{
		{"Dockerfile", 1}:   "FROM node:20@" + digest("a") + " AS build",
		{"compose.yaml", 3}: "    image: redis:7.2@" + digest("b"),
	}
	return fs, fixed
}

// reviewCommentsAt returns the review comments on one line.
func reviewCommentsAt(rcs []fakegithub.ReviewComment, at FileLine) []fakegithub.ReviewComment {
	var out []fakegithub.ReviewComment
	for _, c := range rcs {
		if (FileLine{c.Path, c.Line}) == at {
			out = append(out, c)
		}
	}
	return out
}

// TestCommentUnsignedLine: an unsigned line gets one review comment saying
// why it is not pinned, with no suggestion block; a second run leaves it as
// the only one; a changed reason edits it in place; the signed line gets
// none.
func TestCommentUnsignedLine(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fs, fixed := unsignedFindings(unsignedMsg)
	res := runComment(t, fake, n, CommentOptions{}, fs, fixed)
	if res.NeedsAction != 2 || res.Suggestions != 1 || res.Notes != 1 || res.Fallback {
		t.Errorf("result = %+v", res)
	}
	rc := fake.ReviewComments(n)
	if len(rc) != 2 {
		t.Fatalf("review comments = %+v", rc)
	}
	un := reviewCommentsAt(rc, FileLine{"Dockerfile", 1})
	if len(un) != 1 {
		t.Fatalf("comments on the unsigned line = %+v", un)
	}
	body := un[0].Body
	if strings.Contains(body, "```") || suggestionOf(body) != "" || strings.Contains(body, SuggestionMarker) {
		t.Errorf("the unsigned line got a suggestion:\n%s", body)
	}
	for _, want := range []string{
		UnsignedMarker + "\n",
		"**unsigned** `node:20`: no signature satisfies the verify policy (",
		`no signature found for \*node\* \<b\>20\</b\> \[x\]\(https\://evil\.example\) &#64;mallory`,
		"digestbot does not pin an unverified digest.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("unsigned comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<b>") || strings.Contains(body, "@mallory") || strings.Contains(body, "](https") {
		t.Errorf("message not escaped:\n%s", body)
	}
	if un[0].Side != "RIGHT" {
		t.Errorf("comment %+v", un[0])
	}
	if len(reviewCommentsAt(rc, FileLine{"Dockerfile", 3})) != 0 {
		t.Errorf("the signed line got a comment: %+v", rc)
	}
	if s := reviewCommentsAt(rc, FileLine{"compose.yaml", 3}); len(s) != 1 || suggestionOf(s[0].Body) != "    image: redis:7.2@"+digest("b") {
		t.Errorf("the mismatch suggestion = %+v", s)
	}
	reviews := fake.Reviews(n)
	if len(reviews) != 1 || !strings.Contains(reviews[0].Body, "suggests pinning 1 image reference") ||
		!strings.Contains(reviews[0].Body, "does not pin 1 line") {
		t.Errorf("reviews = %+v", reviews)
	}
	if summary := fake.Comments(n)[0].Body; !strings.Contains(summary, "| `Dockerfile:1` | `node:20` | unsigned | not pinned: ") {
		t.Errorf("summary:\n%s", summary)
	}

	// A second run writes nothing and leaves one comment on the line.
	fake.ResetCalls()
	res = runComment(t, fake, n, CommentOptions{}, fs, fixed)
	if w := writes(fake); len(w) != 0 {
		t.Errorf("second run wrote %v", w)
	}
	if res.Notes != 0 || res.NotesKept != 1 || res.NotesEdited != 0 || res.SuggestionsKept != 1 {
		t.Errorf("second run result = %+v", res)
	}
	if un := reviewCommentsAt(fake.ReviewComments(n), FileLine{"Dockerfile", 1}); len(un) != 1 || len(fake.Reviews(n)) != 1 {
		t.Errorf("after the second run: %d comments on the line, %d reviews", len(un), len(fake.Reviews(n)))
	}

	// The reason changes: the comment is edited, not duplicated.
	fs, fixed = unsignedFindings("signed with another key: does not verify with key cosign.pub")
	fake.ResetCalls()
	res = runComment(t, fake, n, CommentOptions{}, fs, fixed)
	if res.Notes != 0 || res.NotesEdited != 1 || res.NotesKept != 0 {
		t.Errorf("third run result = %+v", res)
	}
	un = reviewCommentsAt(fake.ReviewComments(n), FileLine{"Dockerfile", 1})
	if len(un) != 1 || !strings.Contains(un[0].Body, "does not verify with key cosign\\.pub") || strings.Contains(un[0].Body, "evil") {
		t.Fatalf("after the reason changed: %+v", un)
	}
	if w := writes(fake); len(w) != 2 || !strings.Contains(w[1], "PATCH /repos/acme/shop/pulls/comments/") {
		t.Errorf("third run writes = %v", w)
	}
}

// TestCommentUnsignedAdoptsOnlyItsOwn: a comment with the unsigned marker
// written by another user is neither adopted nor edited.
func TestCommentUnsignedAdoptsOnlyItsOwn(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fs, fixed := unsignedFindings(unsignedMsg)
	fs = fs[:1]
	fake.SetLogin("mallory")
	runComment(t, fake, n, CommentOptions{}, fs, fixed)
	forged := fake.ReviewComments(n)
	if len(forged) != 1 || forged[0].User != "mallory" {
		t.Fatalf("review comments = %+v", forged)
	}
	fake.SetLogin(ActionsBot)
	fs, fixed = unsignedFindings("another reason")
	res := runComment(t, fake, n, CommentOptions{}, fs[:1], fixed)
	rc := fake.ReviewComments(n)
	if res.Notes != 1 || res.NotesEdited != 0 || len(rc) != 2 || rc[0].Body != forged[0].Body || rc[1].User != ActionsBot {
		t.Errorf("result %+v, review comments %+v", res, rc)
	}
}

// TestCommentUnsignedDryRun: a dry run says what it would comment and
// writes nothing.
func TestCommentUnsignedDryRun(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fs, fixed := unsignedFindings(unsignedMsg)
	var out bytes.Buffer
	res := runComment(t, fake, n, CommentOptions{DryRun: true, Out: &out}, fs, fixed)
	if w := writes(fake); len(w) != 0 {
		t.Errorf("dry run wrote %v", w)
	}
	if res.Notes != 1 || !strings.Contains(out.String(), "would comment (no suggestion: unsigned) on Dockerfile:1") {
		t.Errorf("result %+v\n%s", res, out.String())
	}
}

// TestCommentUnsignedForkFallback: without write access the unsigned line
// is one warning annotation saying why, with no suggested line.
func TestCommentUnsignedForkFallback(t *testing.T) {
	t.Parallel()
	fake, n := seedPR(t)
	fake.ForbidWrites(true)
	summary := filepath.Join(t.TempDir(), "summary.md")
	var ann bytes.Buffer
	fs, fixed := unsignedFindings("no signature found")
	res := runComment(t, fake, n, CommentOptions{Annotations: &ann, StepSummaryPath: summary}, fs, fixed)
	if !res.Fallback || res.Notes != 0 || res.Suggestions != 0 {
		t.Errorf("result = %+v", res)
	}
	lines := strings.Split(strings.TrimSpace(ann.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("annotations:\n%s", ann.String())
	}
	want := "::warning file=Dockerfile,line=1,title=digestbot%3A unsigned::unsigned node:20: no signature satisfies the verify policy (no signature found); not pinned"
	if lines[0] != want {
		t.Errorf("annotation:\n%s\nwant\n%s", lines[0], want)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if !strings.Contains(md, "| `Dockerfile:1` | `node:20` | unsigned | not pinned: no signature found |") ||
		strings.Contains(md, "node:20@"+digest("a")) || !strings.Contains(md, "redis:7.2@"+digest("b")) {
		t.Errorf("step summary:\n%s", md)
	}
}
