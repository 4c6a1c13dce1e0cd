package pullreq

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v75/github"

	"github.com/digestbot/digestbot/internal/safetext"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/plan"
)

// PROptions configures Publish.
type PROptions struct {
	// Base is the branch the pull request targets; "" means the
	// repository's default branch.
	Base string
	// Branch is digestbot's branch (default config.DefaultBranch).
	Branch        string
	Title         string
	CommitMessage string
	Labels        []string
	Reviewers     []string
	TeamReviewers []string
	// DryRun reads from GitHub but writes nothing; Out says what would happen.
	DryRun bool
	// Out receives one line per step (nil discards).
	Out io.Writer
	// Timeout bounds all of Publish's API work (0: DefaultPhaseTimeout).
	Timeout time.Duration
	// NotPinned lists references fix left as they are, one line each
	// (unsigned digests, refs it cannot edit): shown under the table so
	// reviewers see what the pull request does not pin, and why.
	NotPinned []finding.Problem
}

// Actions Publish reports.
const (
	ActionCreated   = "created"
	ActionUpdated   = "updated"
	ActionUnchanged = "unchanged"
	ActionClosed    = "closed"
	ActionNone      = "none"
)

// PRResult is what Publish did (or, in a dry run, would do).
type PRResult struct {
	Number int
	URL    string
	// Action is created, updated, unchanged, closed or none.
	Action string
	// Commit is the branch's head commit ("" when there is no branch).
	Commit string
}

const (
	defaultBranch  = "digestbot/pin-digests"
	defaultTitle   = "Pin container images to digests"
	defaultMessage = "Pin container images to digests"
	// maxBody keeps the body under GitHub's 65536-character limit.
	maxBody = 60000
)

type publisher struct {
	gh    *github.Client
	repo  Repo
	opts  PROptions
	out   io.Writer
	wrote bool // something visible changed (commit, PR edit, labels)
}

func (p *publisher) say(format string, args ...any) {
	prefix := ""
	if p.opts.DryRun {
		prefix = "dry run: "
	}
	fmt.Fprintln(p.out, safetext.Lines(safetext.Redact(prefix+fmt.Sprintf(format, args...))))
}

// Publish makes GitHub hold one branch with one commit on top of the base
// branch holding every changed file, and one open pull request describing
// it. With nothing new it writes nothing. With no changes at all it closes
// digestbot's open pull request (with a comment) and deletes its branch.
//
// Each FileChange's File.Path must be relative to the repository root,
// '/'-separated; New is the file's new content.
func Publish(ctx context.Context, client *github.Client, repo Repo, opts PROptions, changes []plan.FileChange) (PRResult, error) {
	if opts.Branch == "" {
		opts.Branch = defaultBranch
	}
	if opts.Title == "" {
		opts.Title = defaultTitle
	}
	if opts.CommitMessage == "" {
		opts.CommitMessage = defaultMessage
	}
	p := &publisher{gh: client, repo: repo, opts: opts, out: opts.Out}
	if p.out == nil {
		p.out = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout(opts.Timeout))
	defer cancel()
	return p.run(ctx, changes)
}

func (p *publisher) run(ctx context.Context, changes []plan.FileChange) (PRResult, error) {
	o, n := p.repo.Owner, p.repo.Name
	base := p.opts.Base
	if base == "" {
		r, _, err := p.gh.Repositories.Get(ctx, o, n)
		if err != nil {
			return PRResult{}, apiError("read repository "+p.repo.String(), err, hintRead)
		}
		base = r.GetDefaultBranch()
	}
	if base == p.opts.Branch {
		return PRResult{}, fmt.Errorf("the pull request branch %q is the base branch; set pull-request.branch in .digestbot.yaml to another name", base)
	}
	pr, err := p.findPR(ctx)
	if err != nil {
		return PRResult{}, err
	}
	if len(changes) == 0 {
		return p.closeStale(ctx, pr, base)
	}

	baseRef, _, err := p.gh.Git.GetRef(ctx, o, n, "heads/"+base)
	if err != nil {
		return PRResult{}, apiError(fmt.Sprintf("read base branch %q of %s", base, p.repo), err, hintRead)
	}
	baseSHA := baseRef.GetObject().GetSHA()
	baseCommit, _, err := p.gh.Git.GetCommit(ctx, o, n, baseSHA)
	if err != nil {
		return PRResult{}, apiError("read base commit "+short(baseSHA), err, hintRead)
	}
	want, err := wanted(changes)
	if err != nil {
		return PRResult{}, err
	}

	// The branch: keep it when it already holds exactly this change.
	head, exists, err := p.branchHead(ctx)
	if err != nil {
		return PRResult{}, err
	}
	current := false
	if exists {
		current, err = p.upToDate(ctx, head, baseSHA, baseCommit.GetTree().GetSHA(), want)
		if err != nil {
			return PRResult{}, err
		}
	}
	files := len(want)
	if current {
		p.say("branch %s already holds the %d changed %s on top of %s (%s)", p.opts.Branch, files, plural(files, "file", "files"), base, short(baseSHA))
	} else {
		head, err = p.commit(ctx, exists, base, baseSHA, baseCommit.GetTree().GetSHA(), want)
		if err != nil {
			return PRResult{}, err
		}
	}

	body := Body(changes, base) + NotPinnedNote(p.opts.NotPinned)
	res := PRResult{Commit: head}
	if pr == nil {
		// A closed pull request of ours showing exactly this commit was
		// closed by a person: do not reopen it until something changes.
		if current {
			if closed, err := p.closedWithHead(ctx, head); err != nil {
				return PRResult{}, err
			} else if closed != nil {
				p.say("pull request #%d with exactly these changes was closed; not opening another until something changes", closed.GetNumber())
				return PRResult{Number: closed.GetNumber(), URL: closed.GetHTMLURL(), Action: ActionUnchanged, Commit: head}, nil
			}
		}
		created, err := p.create(ctx, base, body)
		if err != nil {
			return PRResult{}, err
		}
		res.Number, res.URL, res.Action = created.GetNumber(), created.GetHTMLURL(), ActionCreated
		return res, nil
	}
	res.Number, res.URL = pr.GetNumber(), pr.GetHTMLURL()
	if err := p.update(ctx, pr, base, body); err != nil {
		return PRResult{}, err
	}
	res.Action = ActionUnchanged
	if p.wrote {
		res.Action = ActionUpdated
	}
	if res.Action == ActionUnchanged {
		p.say("pull request #%d is up to date: %s", res.Number, res.URL)
	}
	return res, nil
}

type wantFile struct {
	path, mode, sha string
	content         []byte
}

func wanted(changes []plan.FileChange) ([]wantFile, error) {
	var out []wantFile
	seen := map[string]bool{}
	for _, fc := range changes {
		if fc.File == nil {
			return nil, fmt.Errorf("a file change without a file")
		}
		path := fc.File.Path
		// A backslash is an ordinary character in a git path (and on
		// Unix in a file name): only absolute and parent paths are refused.
		if path == "" || strings.HasPrefix(path, "/") || strings.HasPrefix(path, "../") || path == ".." || strings.Contains(path, "/../") || strings.HasSuffix(path, "/..") {
			return nil, fmt.Errorf("%s: not a path inside the repository; run digestbot pr from the repository root", path)
		}
		if seen[path] {
			return nil, fmt.Errorf("%s: changed twice; scan each file once", path)
		}
		seen[path] = true
		mode := "100644"
		if fc.File.Mode&0o111 != 0 {
			mode = "100755"
		}
		out = append(out, wantFile{path: path, mode: mode, sha: BlobSHA(fc.New), content: fc.New})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// findPR returns digestbot's open pull request from its branch, or nil.
func (p *publisher) findPR(ctx context.Context) (*github.PullRequest, error) {
	prs, err := p.listPRs(ctx, "open")
	if err != nil {
		return nil, err
	}
	for _, pr := range prs {
		if strings.Contains(pr.GetBody(), PRMarker) {
			return pr, nil
		}
	}
	// The branch is digestbot's even if someone edited the marker away.
	if len(prs) > 0 {
		return prs[0], nil
	}
	return nil, nil
}

func (p *publisher) listPRs(ctx context.Context, state string) ([]*github.PullRequest, error) {
	prs, err := listAll(ctx, func(lo github.ListOptions) ([]*github.PullRequest, *github.Response, error) {
		return p.gh.PullRequests.List(ctx, p.repo.Owner, p.repo.Name, &github.PullRequestListOptions{
			State: state, Head: p.repo.Owner + ":" + p.opts.Branch, ListOptions: lo,
		})
	})
	if err != nil {
		return nil, apiError("list pull requests of "+p.repo.String(), err, hintRead)
	}
	var out []*github.PullRequest
	for _, pr := range prs {
		if pr.GetHead().GetRef() == p.opts.Branch {
			out = append(out, pr)
		}
	}
	return out, nil
}

func (p *publisher) closedWithHead(ctx context.Context, head string) (*github.PullRequest, error) {
	prs, err := p.listPRs(ctx, "closed")
	if err != nil {
		return nil, err
	}
	for _, pr := range prs {
		if pr.GetHead().GetSHA() == head && pr.MergedAt == nil && !pr.GetMerged() {
			return pr, nil
		}
	}
	return nil, nil
}

func (p *publisher) branchHead(ctx context.Context) (string, bool, error) {
	ref, _, err := p.gh.Git.GetRef(ctx, p.repo.Owner, p.repo.Name, "heads/"+p.opts.Branch)
	if statusOf(err) == http.StatusNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, apiError("read branch "+p.opts.Branch, err, hintRead)
	}
	return ref.GetObject().GetSHA(), true, nil
}

// upToDate reports whether the branch head is one commit on top of the
// base head whose tree is the base tree with exactly the wanted files.
// It compares git object names computed locally: no writes.
func (p *publisher) upToDate(ctx context.Context, head, baseSHA, baseTree string, want []wantFile) (bool, error) {
	o, n := p.repo.Owner, p.repo.Name
	c, _, err := p.gh.Git.GetCommit(ctx, o, n, head)
	if err != nil {
		return false, apiError("read branch commit "+short(head), err, hintRead)
	}
	if len(c.Parents) != 1 || c.Parents[0].GetSHA() != baseSHA || c.GetTree().GetSHA() == baseTree {
		return false, nil
	}
	branchFiles, ok, err := p.blobs(ctx, c.GetTree().GetSHA())
	if err != nil || !ok {
		return false, err
	}
	expect, ok, err := p.blobs(ctx, baseTree)
	if err != nil || !ok {
		return false, err
	}
	for _, w := range want {
		expect[w.path] = w.mode + " " + w.sha
	}
	if len(expect) != len(branchFiles) {
		return false, nil
	}
	for path, e := range expect {
		if branchFiles[path] != e {
			return false, nil
		}
	}
	return true, nil
}

// blobs lists "mode sha" of every non-tree entry of a tree, recursively.
// ok is false when GitHub truncated the listing.
func (p *publisher) blobs(ctx context.Context, tree string) (map[string]string, bool, error) {
	t, _, err := p.gh.Git.GetTree(ctx, p.repo.Owner, p.repo.Name, tree, true)
	if err != nil {
		return nil, false, apiError("read tree "+short(tree), err, hintRead)
	}
	if t.GetTruncated() {
		return nil, false, nil
	}
	out := map[string]string{}
	for _, e := range t.Entries {
		if e.GetType() == "tree" {
			continue
		}
		out[e.GetPath()] = e.GetMode() + " " + e.GetSHA()
	}
	return out, true, nil
}

// commit writes one commit on top of the base head and points the branch at it.
func (p *publisher) commit(ctx context.Context, exists bool, base, baseSHA, baseTree string, want []wantFile) (string, error) {
	o, n := p.repo.Owner, p.repo.Name
	verb := "create"
	if exists {
		verb = "move"
	}
	if p.opts.DryRun {
		p.say("would %s branch %s to one new commit on top of %s (%s) changing %d %s:", verb, p.opts.Branch, base, short(baseSHA), len(want), plural(len(want), "file", "files"))
		for _, w := range want {
			p.say("  %s", w.path)
		}
		return "", nil
	}
	entries := make([]*github.TreeEntry, 0, len(want))
	for _, w := range want {
		entries = append(entries, &github.TreeEntry{
			Path: github.Ptr(w.path), Mode: github.Ptr(w.mode), Type: github.Ptr("blob"),
			Content: github.Ptr(string(w.content)),
		})
	}
	tree, _, err := p.gh.Git.CreateTree(ctx, o, n, baseTree, entries)
	if err != nil {
		return "", apiError("create tree", err, hintContents)
	}
	c, _, err := p.gh.Git.CreateCommit(ctx, o, n, github.Commit{
		Message: github.Ptr(p.opts.CommitMessage),
		Tree:    &github.Tree{SHA: tree.SHA},
		Parents: []*github.Commit{{SHA: github.Ptr(baseSHA)}},
	}, nil)
	if err != nil {
		return "", apiError("create commit", err, hintContents)
	}
	sha := c.GetSHA()
	if exists {
		_, _, err = p.gh.Git.UpdateRef(ctx, o, n, "heads/"+p.opts.Branch, github.UpdateRef{SHA: sha, Force: github.Ptr(true)})
	} else {
		_, _, err = p.gh.Git.CreateRef(ctx, o, n, github.CreateRef{Ref: "refs/heads/" + p.opts.Branch, SHA: sha})
	}
	if err != nil {
		return "", apiError(verb+" branch "+p.opts.Branch, err, hintContents)
	}
	p.wrote = true
	p.say("%sd branch %s at %s: one commit on top of %s changing %d %s", verb, p.opts.Branch, short(sha), base, len(want), plural(len(want), "file", "files"))
	return sha, nil
}

func (p *publisher) create(ctx context.Context, base, body string) (*github.PullRequest, error) {
	o, n := p.repo.Owner, p.repo.Name
	if p.opts.DryRun {
		p.say("would open pull request %q from %s into %s", p.opts.Title, p.opts.Branch, base)
		if len(p.opts.Labels) > 0 {
			p.say("would add labels %s", strings.Join(p.opts.Labels, ", "))
		}
		if len(p.opts.Reviewers)+len(p.opts.TeamReviewers) > 0 {
			p.say("would request reviews from %s", strings.Join(append(append([]string{}, p.opts.Reviewers...), p.opts.TeamReviewers...), ", "))
		}
		fmt.Fprintf(p.out, "%s\n", body)
		return &github.PullRequest{}, nil
	}
	pr, _, err := p.gh.PullRequests.Create(ctx, o, n, &github.NewPullRequest{
		Title: github.Ptr(p.opts.Title), Head: github.Ptr(p.opts.Branch), Base: github.Ptr(base),
		Body: github.Ptr(body), MaintainerCanModify: github.Ptr(true),
	})
	if err != nil {
		return nil, apiError("open pull request", err, hintPulls)
	}
	p.say("opened pull request #%d: %s", pr.GetNumber(), pr.GetHTMLURL())
	if len(p.opts.Labels) > 0 {
		if _, _, err := p.gh.Issues.AddLabelsToIssue(ctx, o, n, pr.GetNumber(), p.opts.Labels); err != nil {
			return nil, apiError(fmt.Sprintf("label pull request #%d", pr.GetNumber()), err, hintPulls)
		}
	}
	if len(p.opts.Reviewers)+len(p.opts.TeamReviewers) > 0 {
		_, _, err := p.gh.PullRequests.RequestReviewers(ctx, o, n, pr.GetNumber(), github.ReviewersRequest{
			Reviewers: p.opts.Reviewers, TeamReviewers: p.opts.TeamReviewers,
		})
		if err != nil {
			// A reviewer who cannot review (not a collaborator, the
			// author) must not lose the pull request: warn and go on.
			p.say("warning: could not request reviews on #%d: %v", pr.GetNumber(), err)
		}
	}
	return pr, nil
}

// update edits the pull request's title, body and base when they differ and
// adds missing labels.
func (p *publisher) update(ctx context.Context, pr *github.PullRequest, base, body string) error {
	o, n, num := p.repo.Owner, p.repo.Name, pr.GetNumber()
	edit := &github.PullRequest{}
	changed := false
	if pr.GetTitle() != p.opts.Title {
		edit.Title, changed = github.Ptr(p.opts.Title), true
	}
	if normalise(pr.GetBody()) != normalise(body) {
		edit.Body, changed = github.Ptr(body), true
	}
	if pr.GetBase().GetRef() != base {
		edit.Base, changed = &github.PullRequestBranch{Ref: github.Ptr(base)}, true
	}
	if changed {
		if p.opts.DryRun {
			p.say("would update pull request #%d in place", num)
			fmt.Fprintf(p.out, "%s\n", body)
		} else {
			if _, _, err := p.gh.PullRequests.Edit(ctx, o, n, num, edit); err != nil {
				return apiError(fmt.Sprintf("update pull request #%d", num), err, hintPulls)
			}
			p.wrote = true
			p.say("updated pull request #%d: %s", num, pr.GetHTMLURL())
		}
	}
	have := map[string]bool{}
	for _, l := range pr.Labels {
		have[l.GetName()] = true
	}
	var missing []string
	for _, l := range p.opts.Labels {
		if !have[l] {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		if p.opts.DryRun {
			p.say("would add labels %s to #%d", strings.Join(missing, ", "), num)
			return nil
		}
		if _, _, err := p.gh.Issues.AddLabelsToIssue(ctx, o, n, num, missing); err != nil {
			return apiError(fmt.Sprintf("label pull request #%d", num), err, hintPulls)
		}
		p.wrote = true
	}
	return nil
}

func normalise(body string) string {
	return strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
}

// closeStale closes digestbot's open pull request, with a comment, and
// deletes its branch, because the base needs no change any more.
func (p *publisher) closeStale(ctx context.Context, pr *github.PullRequest, base string) (PRResult, error) {
	if pr == nil {
		p.say("every image on %s is pinned and fresh; no pull request needed", base)
		return PRResult{Action: ActionNone}, nil
	}
	o, n, num := p.repo.Owner, p.repo.Name, pr.GetNumber()
	res := PRResult{Number: num, URL: pr.GetHTMLURL(), Action: ActionClosed}
	if p.opts.DryRun {
		p.say("would close pull request #%d and delete branch %s: %s already pins every image", num, p.opts.Branch, base)
		return res, nil
	}
	msg := fmt.Sprintf("%s already pins every image to its current digest, so this pull request is no longer needed. Closing it and deleting its branch; digestbot opens a new one when a tag moves.", code(base))
	if _, _, err := p.gh.Issues.CreateComment(ctx, o, n, num, &github.IssueComment{Body: github.Ptr(msg)}); err != nil {
		return PRResult{}, apiError(fmt.Sprintf("comment on pull request #%d", num), err, hintPulls)
	}
	if _, _, err := p.gh.PullRequests.Edit(ctx, o, n, num, &github.PullRequest{State: github.Ptr("closed")}); err != nil {
		return PRResult{}, apiError(fmt.Sprintf("close pull request #%d", num), err, hintPulls)
	}
	if pr.GetHead().GetRepo().GetFullName() == "" || strings.EqualFold(pr.GetHead().GetRepo().GetFullName(), p.repo.String()) {
		_, err := p.gh.Git.DeleteRef(ctx, o, n, "heads/"+p.opts.Branch)
		if err != nil && statusOf(err) != http.StatusUnprocessableEntity && statusOf(err) != http.StatusNotFound {
			return PRResult{}, apiError("delete branch "+p.opts.Branch, err, hintContents)
		}
	}
	p.say("closed pull request #%d and deleted branch %s: %s already pins every image", num, p.opts.Branch, base)
	return res, nil
}

// Body renders the pull request description: a hidden marker, loud notes
// for changes that alter the image that runs, and a table of every change.
func Body(changes []plan.FileChange, base string) string {
	var rows []finding.Change
	files := 0
	for _, fc := range changes {
		if len(fc.Changes) > 0 {
			files++
		}
		for _, c := range fc.Changes {
			if fc.File != nil {
				c.File = fc.File.Path
			}
			rows = append(rows, c)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	head := fmt.Sprintf("%s\ndigestbot pins **%d** container image %s in **%d** %s to the digest each tag points to today. "+
		"Anyone who can push to a registry can move a tag; a digest names one exact image, and Docker verifies it on pull.\n\n",
		PRMarker, len(rows), plural(len(rows), "reference", "references"), files, plural(files, "file", "files"))

	var loud []finding.Change
	why := map[string]bool{}
	for _, c := range rows {
		if c.Status.ChangesImage() {
			loud = append(loud, c)
		}
		why[c.Why()] = true
	}
	var legend strings.Builder
	legend.WriteString("\n<details><summary>What the reasons mean</summary>\n\n")
	for _, r := range finding.Infos() {
		if r.Why != "" && why[r.Why] {
			fmt.Fprintf(&legend, "- **%s**: %s\n", r.Why, r.WhyText)
		}
	}
	legend.WriteString("\n</details>\n\n")
	fmt.Fprintf(&legend, "<sub>Made by digestbot. This pull request is updated in place when tags move, and closed when %s needs no change. "+
		"Title, labels, reviewers, branch and commit message are set in `.digestbot.yaml` under `pull-request`.</sub>\n", code(base))

	// The whole body stays within maxBody: the head, the legend and the
	// notes of what was left out are reserved first; warnings come before
	// table rows; whatever does not fit is counted in a note, never cut
	// mid-line.
	const noteRoom = 600
	budget := maxBody - len(head) - legend.Len() - noteRoom
	var warn, table strings.Builder
	loudShown := 0
	if len(loud) > 0 {
		fmt.Fprintf(&warn, "> [!WARNING]\n> ⚠️ **%d %s the image that runs.** The old %s named an image the tag does not point to; after merging, the tag's current image runs. Review %s before merging:\n>\n",
			len(loud), plural(len(loud), "change alters", "changes alter"), plural(len(loud), "pin", "pins"), plural(len(loud), "it", "each one"))
		for _, c := range loud {
			item := fmt.Sprintf("> - ⚠️ %s %s — **%s**: %s\n", code(fmt.Sprintf("%s:%d", c.File, c.Line)), code(clipText(c.Old, 200)), c.Why(), loudText(c))
			// Warnings may use at most two thirds of the budget: the table
			// must still show some rows.
			if warn.Len()+len(item) > budget*2/3 {
				break
			}
			warn.WriteString(item)
			loudShown++
		}
		if n := len(loud) - loudShown; n > 0 {
			fmt.Fprintf(&warn, "> - … and **%d more %s the image that runs**, not listed here: the description would pass GitHub's 65,536-character limit. Review the pull request's diff.\n",
				n, plural(n, "change that alters", "changes that alter"))
		}
		warn.WriteString("\n")
	}
	table.WriteString("| File | Image | Tag | Digest (old → new) | Why |\n| --- | --- | --- | --- | --- |\n")
	shown := 0
	for _, c := range rows {
		old := "—"
		if c.OldDigest != "" {
			old = codeCell(shortDigest(c.OldDigest))
		}
		reason := c.Why()
		if c.Status.ChangesImage() {
			reason = "⚠️ " + reason
		}
		row := fmt.Sprintf("| %s | %s | %s | %s → %s | %s |\n",
			codeCell(clipText(fmt.Sprintf("%s:%d", c.File, c.Line), 300)), codeCell(clipText(c.Image, 200)), codeCell(clipText(c.Tag, 130)),
			old, codeCell(shortDigest(c.NewDigest)), reason)
		if warn.Len()+table.Len()+len(row) > budget {
			break
		}
		table.WriteString(row)
		shown++
	}
	if n := len(rows) - shown; n > 0 {
		fmt.Fprintf(&table, "| … | **%d more %s not listed** (GitHub's 65,536-character limit); the pull request's diff holds every one | | | |\n",
			n, plural(n, "change", "changes"))
	}
	return head + warn.String() + table.String() + legend.String()
}

// clipText bounds text from a file or a registry shown in the body.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// loudText explains one image-changing fix.
func loudText(c finding.Change) string {
	msg := ""
	if c.Message != "" {
		msg = escapeMD(clipText(c.Message, 500)) + "; "
	}
	if loud := c.Status.Info().Loud; loud != "" {
		return msg + strings.NewReplacer("{old}", code(shortDigest(c.OldDigest)), "{new}", code(shortDigest(c.NewDigest)), "{tag}", code(c.Tag)).Replace(loud)
	}
	return msg + "the image that runs will change."
}

// maxNotPinned bounds the not-pinned lines listed in the description.
const maxNotPinned = 30

// NotPinnedNote renders the references fix left as they are, and why, for
// the pull request description ("" when there are none).
func NotPinnedNote(ps []finding.Problem) string {
	if len(ps) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n**Not pinned** (%d): digestbot left %s as %s:\n\n", len(ps), plural(len(ps), "this reference", "these references"), plural(len(ps), "it is", "they are"))
	for i, p := range ps {
		if i == maxNotPinned {
			fmt.Fprintf(&b, "- … and %d more; run `digestbot fix` to see them all\n", len(ps)-maxNotPinned)
			break
		}
		fmt.Fprintf(&b, "- %s: %s\n", code(fmt.Sprintf("%s:%d", p.File, p.Line)), escapeMD(clipText(p.Message, 400)))
	}
	return b.String()
}
