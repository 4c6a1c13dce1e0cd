package pullreq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v75/github"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/internal/fakegithub"
	"github.com/digestbot/digestbot/pkg/plan"
)

var prOpts = PROptions{
	Branch: "digestbot/pin-digests", Title: "Pin container images", CommitMessage: "Pin images to digests",
	Labels: []string{"dependencies", "docker"}, Reviewers: []string{"alice"}, TeamReviewers: []string{"platform"},
}

// expectedFiles is main's tree with the changes applied.
func expectedFiles(changes []plan.FileChange) map[string]string {
	want := maps.Clone(baseFiles)
	for _, fc := range changes {
		want[fc.File.Path] = string(fc.New)
	}
	return want
}

func TestPublishCreatesBranchCommitAndPR(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	mainHead, _ := fake.Head("main")
	changes := pinAll(digest("a"))
	var out bytes.Buffer
	opts := prOpts
	opts.Out = &out
	res, err := Publish(context.Background(), fastClient(t, fake), Repo{"acme", "shop"}, opts, changes)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ActionCreated || res.Number != 1 || res.URL != "https://github.example/acme/shop/pull/1" {
		t.Errorf("result = %+v", res)
	}

	// The branch: exactly main's files with the changed ones replaced.
	got := fake.Files("digestbot/pin-digests")
	want := expectedFiles(changes)
	if !maps.Equal(got, want) {
		t.Errorf("branch files:\n%q\nwant\n%q", got, want)
	}
	if !strings.Contains(got["Dockerfile"], "FROM node:20@"+digest("a")+" AS build") {
		t.Errorf("Dockerfile not pinned: %q", got["Dockerfile"])
	}
	if m := fake.Modes("digestbot/pin-digests"); m["tools/Dockerfile"] != fakegithub.ModeExec || m["Dockerfile"] != fakegithub.ModeFile {
		t.Errorf("modes = %v", m)
	}
	// One commit on top of main, made through the API (so GitHub signs it).
	head, _ := fake.Head("digestbot/pin-digests")
	c, _ := fake.GetCommit(head)
	if len(c.Parents) != 1 || c.Parents[0] != mainHead || c.Message != "Pin images to digests" || !c.Verified {
		t.Errorf("commit = %+v, want one verified commit on %s", c, mainHead)
	}
	if res.Commit != head {
		t.Errorf("result commit %s, branch head %s", res.Commit, head)
	}

	prs := fake.PRs()
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	pr := prs[0]
	if pr.Title != "Pin container images" || pr.Head != "digestbot/pin-digests" || pr.Base != "main" || pr.State != "open" {
		t.Errorf("pull request = %+v", pr)
	}
	if strings.Join(pr.Labels, ",") != "dependencies,docker" || strings.Join(pr.Reviewers, ",") != "alice" || strings.Join(pr.Teams, ",") != "platform" {
		t.Errorf("labels %v reviewers %v teams %v", pr.Labels, pr.Reviewers, pr.Teams)
	}
	golden(t, "pr-body.md", pr.Body)
	if !strings.Contains(out.String(), "opened pull request #1") {
		t.Errorf("output:\n%s", out.String())
	}
	for _, call := range fake.Calls() {
		if call.Token != "test-token" {
			t.Errorf("%s carried token %q", call, call.Token)
		}
	}
}

func TestPublishSecondRunWritesNothing(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	gh := fastClient(t, fake)
	repo := Repo{"acme", "shop"}
	if _, err := Publish(context.Background(), gh, repo, prOpts, pinAll(digest("a"))); err != nil {
		t.Fatal(err)
	}
	head1, _ := fake.Head("digestbot/pin-digests")
	body1 := fake.PRs()[0].Body
	fake.ResetCalls()

	res, err := Publish(context.Background(), gh, repo, prOpts, pinAll(digest("a")))
	if err != nil {
		t.Fatal(err)
	}
	if w := writes(fake); len(w) != 0 {
		t.Errorf("second identical run wrote: %v", w)
	}
	if res.Action != ActionUnchanged || res.Number != 1 {
		t.Errorf("result = %+v", res)
	}
	head2, _ := fake.Head("digestbot/pin-digests")
	if prs := fake.PRs(); head2 != head1 || len(prs) != 1 || prs[0].Body != body1 {
		t.Errorf("state changed: head %s→%s, %d PRs", head1, head2, len(prs))
	}
}

func TestPublishUpdatesBranchAndPRInPlace(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	gh := fastClient(t, fake)
	repo := Repo{"acme", "shop"}
	if _, err := Publish(context.Background(), gh, repo, prOpts, pinAll(digest("a"))); err != nil {
		t.Fatal(err)
	}
	head1, _ := fake.Head("digestbot/pin-digests")
	fake.ResetCalls()

	// node:20 moved: a new digest.
	changes := pinAll(digest("d"))
	res, err := Publish(context.Background(), gh, repo, prOpts, changes)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ActionUpdated || res.Number != 1 {
		t.Errorf("result = %+v", res)
	}
	head2, _ := fake.Head("digestbot/pin-digests")
	mainHead, _ := fake.Head("main")
	c, _ := fake.GetCommit(head2)
	if head2 == head1 || len(c.Parents) != 1 || c.Parents[0] != mainHead {
		t.Errorf("branch not moved to one new commit on main: %s → %s (%v)", head1, head2, c.Parents)
	}
	if got := fake.Files("digestbot/pin-digests"); !maps.Equal(got, expectedFiles(changes)) {
		t.Errorf("branch files = %q", got)
	}
	prs := fake.PRs()
	if len(prs) != 1 || !strings.Contains(prs[0].Body, shortDigest(digest("d"))) || strings.Contains(prs[0].Body, shortDigest(digest("a"))) {
		t.Errorf("pull request body not edited in place: %d PRs\n%s", len(prs), prs[0].Body)
	}
	// Edited, not recreated; labels already there are not re-added.
	var paths []string
	for _, w := range fake.Writes() {
		paths = append(paths, w.Method+" "+w.Path)
	}
	wantWrites := []string{
		"POST /repos/acme/shop/git/trees", "POST /repos/acme/shop/git/commits",
		"PATCH /repos/acme/shop/git/refs/heads/digestbot/pin-digests", "PATCH /repos/acme/shop/pulls/1",
	}
	if strings.Join(paths, "\n") != strings.Join(wantWrites, "\n") {
		t.Errorf("writes:\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(wantWrites, "\n"))
	}
}

func TestPublishRebasesWhenBaseMoves(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	gh := fastClient(t, fake)
	repo := Repo{"acme", "shop"}
	changes := pinAll(digest("a"))
	if _, err := Publish(context.Background(), gh, repo, prOpts, changes); err != nil {
		t.Fatal(err)
	}
	newMain := fake.Commit("main", "docs", fakegithub.File{Path: "docs/new.md", Content: "new\n"})
	fake.ResetCalls()
	res, err := Publish(context.Background(), gh, repo, prOpts, changes)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := fake.Head("digestbot/pin-digests")
	c, _ := fake.GetCommit(head)
	if len(c.Parents) != 1 || c.Parents[0] != newMain {
		t.Errorf("branch commit parents %v, want [%s]", c.Parents, newMain)
	}
	want := expectedFiles(changes)
	want["docs/new.md"] = "new\n"
	if got := fake.Files("digestbot/pin-digests"); !maps.Equal(got, want) {
		t.Errorf("branch files = %q", got)
	}
	// Same changes: the body is the same and is not edited.
	for _, w := range fake.Writes() {
		if strings.Contains(w.Path, "/pulls") || strings.Contains(w.Path, "/issues") {
			t.Errorf("unexpected write %s", w)
		}
	}
	if res.Action != ActionUpdated {
		t.Errorf("action %q", res.Action)
	}
}

func TestPublishClosesStalePR(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	gh := fastClient(t, fake)
	repo := Repo{"acme", "shop"}
	changes := pinAll(digest("a"))
	if _, err := Publish(context.Background(), gh, repo, prOpts, changes); err != nil {
		t.Fatal(err)
	}
	// Someone pinned everything on main by hand.
	var fs []fakegithub.File
	for _, fc := range changes {
		fs = append(fs, fakegithub.File{Path: fc.File.Path, Content: string(fc.New)})
	}
	fake.Commit("main", "pin by hand", fs...)
	// A person commented on the pull request meanwhile.
	fake.AddComment(1, "bob", "looks good")

	var out bytes.Buffer
	opts := prOpts
	opts.Out = &out
	res, err := Publish(context.Background(), gh, repo, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ActionClosed || res.Number != 1 {
		t.Errorf("result = %+v", res)
	}
	prs := fake.PRs()
	if len(prs) != 1 || prs[0].State != "closed" {
		t.Fatalf("pull requests = %+v", prs)
	}
	comments := fake.Comments(1)
	if len(comments) != 2 || !strings.Contains(comments[1].Body, "already pins every image") {
		t.Errorf("comments = %+v", comments)
	}
	if _, ok := fake.Head("digestbot/pin-digests"); ok {
		t.Error("branch not deleted")
	}

	// Nothing more to do: no writes.
	fake.ResetCalls()
	res, err = Publish(context.Background(), gh, repo, prOpts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := writes(fake); len(w) != 0 || res.Action != ActionNone {
		t.Errorf("third run: %+v, writes %v", res, w)
	}
}

func TestPublishDoesNotReopenWhatAPersonClosed(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	gh := fastClient(t, fake)
	repo := Repo{"acme", "shop"}
	if _, err := Publish(context.Background(), gh, repo, prOpts, pinAll(digest("a"))); err != nil {
		t.Fatal(err)
	}
	fake.ClosePR(1)
	fake.ResetCalls()
	res, err := Publish(context.Background(), gh, repo, prOpts, pinAll(digest("a")))
	if err != nil {
		t.Fatal(err)
	}
	if w := writes(fake); len(w) != 0 || len(fake.PRs()) != 1 || res.Action != ActionUnchanged {
		t.Errorf("result %+v, writes %v, %d PRs", res, w, len(fake.PRs()))
	}
	// Something new: a new pull request.
	res, err = Publish(context.Background(), gh, repo, prOpts, pinAll(digest("e")))
	if err != nil {
		t.Fatal(err)
	}
	if prs := fake.PRs(); len(prs) != 2 || prs[1].State != "open" || res.Action != ActionCreated || res.Number != 2 {
		t.Errorf("result %+v, PRs %+v", res, prs)
	}
}

func TestPublishDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	var out bytes.Buffer
	opts := prOpts
	opts.DryRun, opts.Out = true, &out
	res, err := Publish(context.Background(), fastClient(t, fake), Repo{"acme", "shop"}, opts, pinAll(digest("a")))
	if err != nil {
		t.Fatal(err)
	}
	if w := writes(fake); len(w) != 0 {
		t.Errorf("dry run wrote %v", w)
	}
	if res.Action != ActionCreated {
		t.Errorf("action %q", res.Action)
	}
	for _, want := range []string{"dry run: would create branch digestbot/pin-digests", "  Dockerfile", "would open pull request", PRMarker} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPublishDefaultsToRepositoryDefaultBranch(t *testing.T) {
	t.Parallel()
	fake := fakegithub.New(t, "acme", "shop")
	fake.Seed("trunk", baseFiles)
	fake.SetDefaultBranch("trunk")
	res, err := Publish(context.Background(), fastClient(t, fake), Repo{"acme", "shop"}, PROptions{}, pinAll(digest("a")))
	if err != nil {
		t.Fatal(err)
	}
	prs := fake.PRs()
	if len(prs) != 1 || prs[0].Base != "trunk" || prs[0].Head != "digestbot/pin-digests" || prs[0].Title != "Pin container images to digests" {
		t.Errorf("result %+v, PRs %+v", res, prs)
	}
}

func TestPublishRefusesBranchEqualToBase(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	_, err := Publish(context.Background(), fastClient(t, fake), Repo{"acme", "shop"}, PROptions{Branch: "main"}, pinAll(digest("a")))
	if err == nil || !strings.Contains(err.Error(), "pull-request.branch") {
		t.Errorf("err = %v", err)
	}
	if w := writes(fake); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
}

func TestPublishExplainsMissingPermission(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	fake.ForbidWrites(true)
	_, err := Publish(context.Background(), fastClient(t, fake), Repo{"acme", "shop"}, prOpts, pinAll(digest("a")))
	if err == nil || !strings.Contains(err.Error(), "contents: write") || strings.Contains(err.Error(), "test-token") {
		t.Errorf("err = %v", err)
	}
}

func TestPublishReviewerFailureIsAWarning(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	var out bytes.Buffer
	opts := prOpts
	opts.Reviewers = []string{"github-actions[bot]"} // the author: GitHub refuses
	opts.Out = &out
	res, err := Publish(context.Background(), fastClient(t, fake), Repo{"acme", "shop"}, opts, pinAll(digest("a")))
	if err != nil || res.Action != ActionCreated {
		t.Fatalf("res %+v err %v", res, err)
	}
	if !strings.Contains(out.String(), "warning: could not request reviews") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestBodyEscapesHostileText(t *testing.T) {
	t.Parallel()
	hostile := "evil|<img src=x onerror=alert(1)>*b*_i_`c`[l](http://x) @org/team $x$"
	fc := fileChange("a|b<i>.yaml", "image: x\n", 0o644, finding.Change{
		Line: 1, Column: 8, Old: "x",
		Image: hostile, Tag: "t|`<b>`", NewDigest: digest("1"), OldDigest: digest("2"),
		Status: finding.Missing, Message: "gone <script>alert(1)</script> | @admin",
	})
	body := Body([]plan.FileChange{fc}, "main")
	for _, bad := range []string{"<img", "<script", "<i>", "<b>", "@org", "@admin", "](http"} {
		// Raw HTML, mentions and links may only appear backslash-escaped
		// or inside code spans.
		for off := 0; ; {
			i := strings.Index(body[off:], bad)
			if i < 0 {
				break
			}
			idx := off + i
			if (idx == 0 || body[idx-1] != '\\') && !insideCode(body, idx) {
				t.Errorf("body has %q outside code:\n%s", bad, body)
			}
			off = idx + 1
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "| `") {
			if n := cells(line); n != 5 {
				t.Errorf("row has %d cells, want 5: %s", n, line)
			}
		}
	}
	if !strings.Contains(body, "⚠️") || !strings.Contains(body, "[!WARNING]") {
		t.Errorf("missing pin not called out loudly:\n%s", body)
	}
}

// insideCode reports whether byte idx of s's line sits inside a code span.
func insideCode(s string, idx int) bool {
	start := strings.LastIndexByte(s[:idx], '\n') + 1
	line := s[start:]
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	pos := idx - start
	in, i := false, 0
	for i < len(line) && i < pos {
		if line[i] == '\\' {
			i += 2
			continue
		}
		if line[i] == '`' {
			n := 0
			for i < len(line) && line[i] == '`' {
				n++
				i++
			}
			// Find the closing run of the same length.
			rest := line[i:]
			fence := strings.Repeat("`", n)
			end := strings.Index(rest, fence)
			for end >= 0 && end+n < len(rest) && rest[end+n] == '`' {
				next := strings.Index(rest[end+n+1:], fence)
				if next < 0 {
					end = -1
					break
				}
				end += n + 1 + next
			}
			if end < 0 {
				continue
			}
			if pos < i+end {
				in = true
				break
			}
			i += end + n
			continue
		}
		i++
	}
	return in
}

// cells counts the cells of a GFM table row (pipes not escaped by a backslash).
func cells(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		if row[i] == '\\' {
			i++
			continue
		}
		if row[i] == '|' {
			n++
		}
	}
	return n - 1
}

func TestPublishWaitsOutRateLimits(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	s := &sleeps{}
	gh := newClient(t, fake, RetryPolicy{Sleep: s.sleep, MaxWait: 2 * time.Minute})
	fake.RateLimitNext(fakegithub.Primary, 30*time.Second)
	// A write too: its body must be sent again.
	fake.RateLimitWhen("POST", "/git/trees", fakegithub.Secondary, 3*time.Second)
	fake.RateLimitWhen("POST", "/pulls", fakegithub.TooMany, 2*time.Second)
	res, err := Publish(context.Background(), gh, Repo{"acme", "shop"}, prOpts, pinAll(digest("a")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ActionCreated {
		t.Errorf("result %+v", res)
	}
	got := s.all()
	if len(got) != 3 || got[0] < 29*time.Second || got[0] > 32*time.Second || got[1] != 3*time.Second || got[2] != 2*time.Second {
		t.Errorf("waits = %v, want ~31s, 3s, 2s", got)
	}
	if files := fake.Files("digestbot/pin-digests"); !maps.Equal(files, expectedFiles(pinAll(digest("a")))) {
		t.Errorf("branch files after retried write = %q", files)
	}
}

func TestRateLimitWaitIsBounded(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	s := &sleeps{}
	gh := newClient(t, fake, RetryPolicy{Sleep: s.sleep, MaxWait: 10 * time.Second})
	fake.RateLimitNext(fakegithub.Primary, time.Hour)
	_, err := Publish(context.Background(), gh, Repo{"acme", "shop"}, prOpts, pinAll(digest("a")))
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || !strings.Contains(err.Error(), "rate limit exhausted until") {
		t.Fatalf("err = %v", err)
	}
	if len(s.all()) != 0 {
		t.Errorf("waited %v beyond the bound", s.all())
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}

	fake2 := seedRepo(t)
	gh2 := newClient(t, fake2, RetryPolicy{Sleep: s.sleep, MaxWait: time.Minute, MaxRetries: 2})
	for range 3 {
		fake2.RateLimitNext(fakegithub.Secondary, time.Second)
	}
	_, err = Publish(context.Background(), gh2, Repo{"acme", "shop"}, prOpts, pinAll(digest("a")))
	var ab *github.AbuseRateLimitError
	if !errors.As(err, &ab) || !strings.Contains(err.Error(), "secondary rate limit") {
		t.Fatalf("err = %v", err)
	}
	if len(s.all()) != 2 {
		t.Errorf("waits %v, want 2 retries", s.all())
	}
}

func TestNewClientEnterprise(t *testing.T) {
	t.Parallel()
	fake := seedRepo(t)
	s := &sleeps{}
	gh, err := NewClient(context.Background(), "ghe-token", fake.URL+"api/v3", WithRetry(RetryPolicy{Sleep: s.sleep}))
	if err != nil {
		t.Fatal(err)
	}
	if gh.BaseURL.String() != fake.URL+"api/v3/" || gh.UploadURL.String() != fake.URL+"api/uploads/" {
		t.Errorf("base %s upload %s", gh.BaseURL, gh.UploadURL)
	}
	if _, err := Publish(context.Background(), gh, Repo{"acme", "shop"}, prOpts, pinAll(digest("a"))); err != nil {
		t.Fatal(err)
	}
	for _, c := range fake.Calls() {
		if !c.Enterprise || c.Token != "ghe-token" {
			t.Errorf("%s: enterprise %v token %q", c, c.Enterprise, c.Token)
		}
	}
	if _, err := NewClient(context.Background(), "", "ftp://x", WithRetry(RetryPolicy{})); err == nil {
		t.Error("ftp URL accepted")
	}
	def, _ := NewClient(context.Background(), "", "")
	if def.BaseURL.String() != "https://api.github.com/" {
		t.Errorf("default base %s", def.BaseURL)
	}
}

func TestParseRepo(t *testing.T) {
	t.Parallel()
	if r, err := ParseRepo("acme/shop"); err != nil || r != (Repo{"acme", "shop"}) {
		t.Errorf("%v %v", r, err)
	}
	for _, bad := range []string{"", "acme", "/shop", "acme/", "a/b/c"} {
		if _, err := ParseRepo(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestBodyBudget: 200 image-changing fixes with long messages and names
// still give a body under GitHub's 65,536-character limit, with every part
// present and a note saying how many changes were left out.
func TestBodyBudget(t *testing.T) {
	t.Parallel()
	var fcs []plan.FileChange
	for i := range 200 {
		path := fmt.Sprintf("services/%s-%03d/Dockerfile", strings.Repeat("long-folder-name", 8), i)
		fcs = append(fcs, fileChange(path, "FROM x\n", 0o644, finding.Change{
			Line: 1, Column: 6, Old: "x",
			Image: "registry.example.com/" + strings.Repeat("team/", 20) + "app", Tag: "v1", OldDigest: digest("2"), NewDigest: digest("1"),
			Status: finding.Mismatch, Message: strings.Repeat("the pinned digest is what another tag points to; ", 40),
		}))
	}
	body := Body(fcs, "main")
	if n := utf8.RuneCountInString(body); n > 65536 || len(body) > 65536 {
		t.Fatalf("body is %d characters (%d bytes)", n, len(body))
	}
	for _, want := range []string{PRMarker, "[!WARNING]", "| File | Image |", "more change", "not listed", "What the reasons mean", "Made by digestbot"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	// A small change set is listed whole.
	small := Body(fcs[:3], "main")
	if strings.Contains(small, "not listed") || strings.Count(small, "| `services/") != 3 {
		t.Errorf("3 changes not listed whole:\n%s", small)
	}
}
