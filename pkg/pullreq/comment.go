package pullreq

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digestbot/digestbot/internal/safetext"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/google/go-github/v75/github"
)

// FileLine names one line of one file (repository-relative path, 1-based line).
type FileLine struct {
	File string
	Line int
}

func (fl FileLine) String() string { return fl.File + ":" + strconv.Itoa(fl.Line) }

// CommentOptions configures Comment.
type CommentOptions struct {
	// HeadSHA is the pull request's head commit, which review comments
	// attach to; "" means ask GitHub.
	HeadSHA string
	// DryRun reads from GitHub but writes nothing; Out says what would happen.
	DryRun bool
	// Out receives one line per step (nil discards).
	Out io.Writer
	// Annotations receives workflow commands (::warning …) when the token
	// cannot write; normally the step's stdout.
	Annotations io.Writer
	// StepSummaryPath is $GITHUB_STEP_SUMMARY, appended to when the token
	// cannot write.
	StepSummaryPath string
	// Timeout bounds all of Comment's API work (0: DefaultPhaseTimeout).
	Timeout time.Duration
	// Self is the login the token acts as, whose comments digestbot adopts
	// and edits; "" means ask GitHub (GET /user), and when that is not
	// allowed (the Actions token may not read /user), github-actions[bot],
	// the user the Actions token posts as.
	Self string
	// LineText, when set, gives the checked-out text of a file's line (the
	// text the findings come from). A finding is commented only when the
	// pull request's line is that text, so a run on another commit says so
	// instead of commenting on the wrong bytes. Without it the line must
	// hold the finding's ref as written.
	LineText func(file string, line int) (string, bool)
	// EditLines maps a finding's line to the lines its fix edits, when
	// they differ (a ref split over keys is reported at its tag and pinned
	// at its digest key): the suggestion goes on the edited line.
	EditLines map[FileLine][]int
}

// Summary comment actions.
const (
	SummaryCreated   = "created"
	SummaryUpdated   = "updated"
	SummaryUnchanged = "unchanged"
	SummaryNone      = "none"
)

// CommentResult is what Comment found and did.
type CommentResult struct {
	// Findings are the findings on lines the pull request adds or changes.
	Findings []finding.Finding
	// Checked counts those findings that are image references (not skipped).
	Checked int
	// NeedsAction and Errors count findings to report.
	NeedsAction, Errors int
	// ChangedFiles holds every file the pull request adds or modifies.
	ChangedFiles map[string]bool
	// Summary is created, updated, unchanged or none; SummaryURL its link.
	Summary    string
	SummaryURL string
	// Suggestions counts suggestions posted; SuggestionsEdited those
	// refreshed in place; SuggestionsKept those already there.
	Suggestions, SuggestionsEdited, SuggestionsKept int
	// Notes counts review comments posted on unsigned lines (no
	// suggestion); NotesEdited those refreshed in place; NotesKept those
	// already there.
	Notes, NotesEdited, NotesKept int
	// Fallback is true when the token could not write and annotations and
	// the step summary were used instead.
	Fallback bool
}

// Comment reports the findings that sit on lines pull request number adds
// or changes: it keeps one summary comment up to date (found by its marker,
// edited in place, created only when there is something to say), and posts
// one review with a suggestion block on each offending line, skipping lines
// that already carry digestbot's suggestion, and a comment without a
// suggestion on each unsigned line saying why it is not pinned. When the
// token cannot write
// (pull requests from forks), it writes workflow annotations and appends to
// the step summary instead.
//
// findings are every finding of a check over the checked-out head, with
// repository-relative paths; fixed maps each line fix would change to the
// line's full fixed text (without the newline).
func Comment(ctx context.Context, client *github.Client, repo Repo, number int, opts CommentOptions, findings []finding.Finding, fixed map[FileLine]string) (CommentResult, error) {
	c := &commenter{gh: client, repo: repo, number: number, opts: opts, out: opts.Out}
	if c.out == nil {
		c.out = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout(opts.Timeout))
	defer cancel()
	return c.run(ctx, findings, fixed)
}

type commenter struct {
	gh     *github.Client
	repo   Repo
	number int
	opts   CommentOptions
	out    io.Writer

	selfOnce  sync.Once
	selfLogin string
}

// ActionsBot is the login the GitHub Actions token posts as.
const ActionsBot = "github-actions[bot]"

// self is the login the token acts as (see CommentOptions.Self).
func (c *commenter) self(ctx context.Context) string {
	c.selfOnce.Do(func() {
		c.selfLogin = c.opts.Self
		if c.selfLogin != "" {
			return
		}
		if u, _, err := c.gh.Users.Get(ctx, ""); err == nil && u.GetLogin() != "" {
			c.selfLogin = u.GetLogin()
			return
		}
		c.selfLogin = ActionsBot
	})
	return c.selfLogin
}

func (c *commenter) say(format string, args ...any) {
	prefix := ""
	if c.opts.DryRun {
		prefix = "dry run: "
	}
	// Out is the step's log: every line escaped (file names and refs come
	// from the pull request) so none is a workflow command.
	fmt.Fprintln(c.out, safetext.Lines(safetext.Redact(prefix+fmt.Sprintf(format, args...))))
}

// sameLine reports whether the pull request's line text is the line the
// finding was read from.
func (c *commenter) sameLine(f finding.Finding, text string) bool {
	if c.opts.LineText != nil {
		want, ok := c.opts.LineText(f.File, f.Line)
		return ok && strings.TrimSuffix(want, "\r") == strings.TrimSuffix(text, "\r")
	}
	return strings.Contains(text, f.Ref)
}

// suggestion is one line to fix, with the findings on it; or, when note is
// set, one unsigned line, with no text to suggest.
type suggestion struct {
	at       FileLine
	text     string
	findings []finding.Finding
	note     bool
}

// marker is the hidden marker of the suggestion's review comment.
func (s *suggestion) marker() string {
	if s.note {
		return UnsignedMarker
	}
	return SuggestionMarker
}

// kind names the comment in the step log.
func (s *suggestion) kind() string {
	if s.note {
		return "comment"
	}
	return "suggestion"
}

// body is the suggestion's review comment.
func (s *suggestion) body() string {
	if s.note {
		return unsignedBody(s)
	}
	return suggestionBody(s)
}

func (c *commenter) run(ctx context.Context, findings []finding.Finding, fixed map[FileLine]string) (CommentResult, error) {
	o, n := c.repo.Owner, c.repo.Name
	res := CommentResult{ChangedFiles: map[string]bool{}}
	head := c.opts.HeadSHA
	if head == "" {
		pr, _, err := c.gh.PullRequests.Get(ctx, o, n, c.number)
		if err != nil {
			return res, apiError(fmt.Sprintf("read pull request #%d", c.number), err, hintRead)
		}
		head = pr.GetHead().GetSHA()
	}
	changed, err := c.changedLines(ctx, res.ChangedFiles)
	if err != nil {
		return res, err
	}

	var reported []finding.Finding
	for _, f := range findings {
		lines, ok := changed[f.File]
		if !ok {
			continue
		}
		text, ok := lines.at(f.Line)
		if !ok {
			continue
		}
		if text != nil && !c.sameLine(f, *text) {
			c.say("warning: %s:%d: the pull request's line does not hold %s; run digestbot on the pull request's head commit (actions/checkout with ref: the head SHA)", f.File, f.Line, f.Ref)
			continue
		}
		res.Findings = append(res.Findings, f)
		if f.Status != finding.Skipped {
			res.Checked++
		}
		switch {
		case f.Status == finding.Error:
			res.Errors++
			reported = append(reported, f)
		case f.Status.NeedsAction():
			res.NeedsAction++
			reported = append(reported, f)
		}
	}

	// One suggestion per offending line.
	var sugs []*suggestion
	byLine := map[FileLine]*suggestion{} // by the finding's line
	byAt := map[FileLine]*suggestion{}   // by the line suggested
	for _, f := range reported {
		if !f.Status.NeedsAction() || f.Status == finding.Unsigned {
			// Never suggest a pin for an unsigned ref: fix does not write
			// one, and another ref's fix on the same line leaves it as is.
			continue
		}
		key := FileLine{f.File, f.Line}
		at := key
		if el := c.opts.EditLines[key]; len(el) == 1 && el[0] != f.Line {
			// The fix edits another line (a ref split over keys: the
			// digest key's line): suggest there when the pull request
			// changes that line too.
			if _, ok := changed[f.File].at(el[0]); !ok {
				continue
			}
			at = FileLine{f.File, el[0]}
		}
		text, ok := fixed[at]
		if !ok {
			continue
		}
		if s := byAt[at]; s != nil {
			s.findings = append(s.findings, f)
			byLine[key] = s
			continue
		}
		s := &suggestion{at: at, text: strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r"), findings: []finding.Finding{f}}
		byAt[at] = s
		byLine[key] = s
		sugs = append(sugs, s)
	}

	// One comment, with no suggestion, per unsigned line: the line is
	// where a reviewer looks, and the summary's table is easy to miss.
	noteAt := map[FileLine]*suggestion{}
	for _, f := range reported {
		if f.Status != finding.Unsigned {
			continue
		}
		at := FileLine{f.File, f.Line}
		if s := noteAt[at]; s != nil {
			s.findings = append(s.findings, f)
			continue
		}
		s := &suggestion{at: at, note: true, findings: []finding.Finding{f}}
		noteAt[at] = s
		sugs = append(sugs, s)
	}

	body := summaryBody(res, reported, byLine)
	if err := c.summary(ctx, &res, body); err != nil {
		if !forbidden(err) {
			return res, err
		}
		return c.fallback(res, reported, byLine, err)
	}
	if err := c.review(ctx, &res, head, sugs); err != nil {
		if !forbidden(err) {
			return res, err
		}
		return c.fallback(res, reported, byLine, err)
	}
	return res, nil
}

// lineSet is the head-side lines a file's patch adds, with their text;
// all means every line (an added file GitHub shows no patch for).
type lineSet struct {
	all   bool
	lines map[int]string
}

func (l lineSet) at(n int) (*string, bool) {
	if l.all {
		return nil, true
	}
	t, ok := l.lines[n]
	return &t, ok
}

// changedLines lists the pull request's files and the lines each adds.
func (c *commenter) changedLines(ctx context.Context, files map[string]bool) (map[string]lineSet, error) {
	list, err := listAll(ctx, func(lo github.ListOptions) ([]*github.CommitFile, *github.Response, error) {
		return c.gh.PullRequests.ListFiles(ctx, c.repo.Owner, c.repo.Name, c.number, &lo)
	})
	if err != nil {
		return nil, apiError(fmt.Sprintf("list files of pull request #%d", c.number), err, hintRead)
	}
	out := map[string]lineSet{}
	for _, f := range list {
		if f.GetStatus() == "removed" {
			continue
		}
		files[f.GetFilename()] = true
		if f.Patch == nil {
			if f.GetStatus() == "added" {
				out[f.GetFilename()] = lineSet{all: true}
			} else {
				c.say("note: GitHub shows no diff for %s (too large or binary); its lines are not checked", f.GetFilename())
			}
			continue
		}
		out[f.GetFilename()] = lineSet{lines: AddedLines(f.GetPatch())}
	}
	return out, nil
}

// AddedLines parses a unified diff patch (GitHub's `patch` field) and
// returns the new-side line numbers it adds, with their text.
func AddedLines(patch string) map[int]string {
	out := map[int]string{}
	n := 0
	for _, l := range strings.Split(patch, "\n") {
		switch {
		case strings.HasPrefix(l, "@@"):
			n = hunkStart(l)
		case n == 0:
		case strings.HasPrefix(l, "+"):
			out[n] = strings.TrimSuffix(l[1:], "\r")
			n++
		case strings.HasPrefix(l, " "):
			n++
		case l == "":
			// An empty context line some tools emit without its space.
			n++
		}
	}
	return out
}

// hunkStart reads c from "@@ -a,b +c,d @@ …" (0 if malformed).
func hunkStart(header string) int {
	i := strings.Index(header, " +")
	if i < 0 {
		return 0
	}
	rest := header[i+2:]
	end := strings.IndexAny(rest, ", ")
	if end < 0 {
		return 0
	}
	v, err := strconv.Atoi(rest[:end])
	if err != nil || v < 0 {
		return 0
	}
	if v == 0 {
		// "+0,0": the file ends up empty; nothing added.
		return 0
	}
	return v
}

// summary creates or edits the one summary comment.
func (c *commenter) summary(ctx context.Context, res *CommentResult, body string) error {
	o, n := c.repo.Owner, c.repo.Name
	comments, err := listAll(ctx, func(lo github.ListOptions) ([]*github.IssueComment, *github.Response, error) {
		return c.gh.Issues.ListComments(ctx, o, n, c.number, &github.IssueListCommentsOptions{ListOptions: lo})
	})
	if err != nil {
		return apiError(fmt.Sprintf("list comments of pull request #%d", c.number), err, hintRead)
	}
	// Only a comment digestbot itself wrote is adopted: anyone can paste
	// the marker into a comment of theirs, and digestbot would then edit
	// their words.
	self := c.self(ctx)
	var ours *github.IssueComment
	for _, cm := range comments {
		if strings.Contains(cm.GetBody(), CommentMarker) && strings.EqualFold(cm.GetUser().GetLogin(), self) {
			ours = cm
			break
		}
	}
	switch {
	case ours != nil && normalise(ours.GetBody()) == normalise(body):
		res.Summary, res.SummaryURL = SummaryUnchanged, ours.GetHTMLURL()
		c.say("summary comment is up to date: %s", ours.GetHTMLURL())
	case ours != nil:
		res.Summary, res.SummaryURL = SummaryUpdated, ours.GetHTMLURL()
		if c.opts.DryRun {
			c.say("would update the summary comment %s:\n%s", ours.GetHTMLURL(), body)
			return nil
		}
		cm, _, err := c.gh.Issues.EditComment(ctx, o, n, ours.GetID(), &github.IssueComment{Body: github.Ptr(body)})
		if err != nil {
			return apiError("update the summary comment", err, hintPulls)
		}
		res.SummaryURL = cm.GetHTMLURL()
		c.say("updated the summary comment: %s", res.SummaryURL)
	case res.Checked == 0 && res.NeedsAction == 0 && res.Errors == 0:
		res.Summary = SummaryNone
		c.say("no image references on lines pull request #%d changes", c.number)
	default:
		res.Summary = SummaryCreated
		if c.opts.DryRun {
			c.say("would post a summary comment on #%d:\n%s", c.number, body)
			return nil
		}
		cm, _, err := c.gh.Issues.CreateComment(ctx, o, n, c.number, &github.IssueComment{Body: github.Ptr(body)})
		if err != nil {
			return apiError("post the summary comment", err, hintPulls)
		}
		res.SummaryURL = cm.GetHTMLURL()
		c.say("posted the summary comment: %s", res.SummaryURL)
	}
	return nil
}

// review posts one review with the new suggestions and unsigned-line
// comments, and refreshes in place those of digestbot's whose text changed.
// A comment is adopted only when the token's own user wrote it and it
// carries the marker of its kind, so a suggestion and an unsigned-line
// comment on the same line are two comments, each kept in place.
func (c *commenter) review(ctx context.Context, res *CommentResult, head string, sugs []*suggestion) error {
	if len(sugs) == 0 {
		return nil
	}
	o, n := c.repo.Owner, c.repo.Name
	existing, err := listAll(ctx, func(lo github.ListOptions) ([]*github.PullRequestComment, *github.Response, error) {
		return c.gh.PullRequests.ListComments(ctx, o, n, c.number, &github.PullRequestListCommentsOptions{ListOptions: lo})
	})
	if err != nil {
		return apiError(fmt.Sprintf("list review comments of pull request #%d", c.number), err, hintRead)
	}
	type key struct {
		marker string
		at     FileLine
	}
	ours := map[key]*github.PullRequestComment{}
	self := c.self(ctx)
	for _, cm := range existing {
		if cm.Line == nil || !strings.EqualFold(cm.GetUser().GetLogin(), self) {
			continue // outdated (no line any more) or not ours
		}
		for _, m := range []string{SuggestionMarker, UnsignedMarker} {
			k := key{m, FileLine{cm.GetPath(), cm.GetLine()}}
			if strings.Contains(cm.GetBody(), m) && ours[k] == nil {
				ours[k] = cm
			}
		}
	}
	var drafts []*github.DraftReviewComment
	var draftNotes []bool
	for _, s := range sugs {
		body := s.body()
		kept, edited := &res.SuggestionsKept, &res.SuggestionsEdited
		if s.note {
			kept, edited = &res.NotesKept, &res.NotesEdited
		}
		if cm := ours[key{s.marker(), s.at}]; cm != nil {
			if normalise(cm.GetBody()) == normalise(body) {
				*kept++
				continue
			}
			*edited++
			if c.opts.DryRun {
				c.say("would refresh the %s on %s", s.kind(), s.at)
				continue
			}
			if _, _, err := c.gh.PullRequests.EditComment(ctx, o, n, cm.GetID(), &github.PullRequestComment{Body: github.Ptr(body)}); err != nil {
				return apiError("refresh the "+s.kind()+" on "+s.at.String(), err, hintPulls)
			}
			c.say("refreshed the %s on %s", s.kind(), s.at)
			continue
		}
		drafts = append(drafts, &github.DraftReviewComment{
			Path: github.Ptr(s.at.File), Line: github.Ptr(s.at.Line), Side: github.Ptr("RIGHT"), Body: github.Ptr(body),
		})
		draftNotes = append(draftNotes, s.note)
		if s.note {
			res.Notes++
		} else {
			res.Suggestions++
		}
	}
	if res.SuggestionsKept > 0 {
		c.say("%d %s already on the pull request", res.SuggestionsKept, plural(res.SuggestionsKept, "suggestion is", "suggestions are"))
	}
	if res.NotesKept > 0 {
		c.say("%d %s already on the pull request", res.NotesKept, plural(res.NotesKept, "comment on an unsigned line is", "comments on unsigned lines are"))
	}
	if len(drafts) == 0 {
		return nil
	}
	if c.opts.DryRun {
		for i, d := range drafts {
			verb := "suggest"
			if draftNotes[i] {
				verb = "comment (no suggestion: unsigned)"
			}
			c.say("would %s on %s:%d:\n%s", verb, d.GetPath(), d.GetLine(), d.GetBody())
		}
		return nil
	}
	var says []string
	if res.Suggestions > 0 {
		says = append(says, fmt.Sprintf("digestbot suggests pinning %d image %s on lines this pull request changes. "+
			"Apply each suggestion with one click, or run `digestbot fix` locally.",
			res.Suggestions, plural(res.Suggestions, "reference", "references")))
	}
	if res.Notes > 0 {
		says = append(says, fmt.Sprintf("digestbot does not pin %d %s on lines this pull request changes: "+
			"no signature satisfies the verify policy, and it never suggests a digest no signature vouches for.",
			res.Notes, plural(res.Notes, "line", "lines")))
	}
	body := strings.Join(says, " ")
	_, _, err = c.gh.PullRequests.CreateReview(ctx, o, n, c.number, &github.PullRequestReviewRequest{
		CommitID: github.Ptr(head), Body: github.Ptr(body), Event: github.Ptr("COMMENT"), Comments: drafts,
	})
	if err != nil {
		return apiError(fmt.Sprintf("post review suggestions on #%d", c.number), err, hintPulls)
	}
	if res.Suggestions > 0 {
		c.say("posted %d %s", res.Suggestions, plural(res.Suggestions, "suggestion", "suggestions"))
	}
	if res.Notes > 0 {
		c.say("commented on %d unsigned %s (no suggestion)", res.Notes, plural(res.Notes, "line", "lines"))
	}
	return nil
}

// unsignedBody is the comment on an unsigned line: why it is not pinned,
// and no suggestion block (a digest no signature vouches for is never
// suggested). The messages come from registries and signatures: escaped.
func unsignedBody(s *suggestion) string {
	var b strings.Builder
	b.WriteString(UnsignedMarker + "\n")
	for _, f := range s.findings {
		fmt.Fprintf(&b, "%s %s: %s\n", statusWord(f.Status), code(f.Ref), findingText(f))
	}
	b.WriteString("\nNo suggestion: digestbot never suggests a digest no signature vouches for. " +
		"Sign the image (`cosign sign`), or correct the `verify` rule's keys or identity in `.digestbot.yaml`, whichever the reason calls for.\n")
	return b.String()
}

func suggestionBody(s *suggestion) string {
	var b strings.Builder
	b.WriteString(SuggestionMarker + "\n")
	for _, f := range s.findings {
		fmt.Fprintf(&b, "%s %s: %s\n", statusWord(f.Status), code(f.Ref), findingText(f))
	}
	fence := fenceFor(s.text)
	fmt.Fprintf(&b, "\n%ssuggestion\n%s\n%s\n", fence, s.text, fence)
	return b.String()
}

// statusWord is a status, loud when the fix changes the image that runs.
func statusWord(s finding.Status) string {
	if s.ChangesImage() {
		return "⚠️ **" + string(s) + "**"
	}
	return "**" + string(s) + "**"
}

// findingText says what is wrong and what the fix does, for people.
func findingText(f finding.Finding) string {
	resolved := finding.Deref(f.Resolved)
	pinTo := ""
	if resolved != "" {
		pinTo = " " + code(shortDigest(resolved))
	}
	msg := ""
	if f.Message != "" {
		msg = " (" + escapeMD(f.Message) + ")"
	}
	// What each status says lives in finding's table.
	if adv := f.Status.Info().Advice; adv != "" {
		return strings.NewReplacer("{msg}", msg, "{to}", pinTo).Replace(adv)
	}
	return escapeMD(f.Message)
}

// summaryBody renders the summary comment.
func summaryBody(res CommentResult, reported []finding.Finding, fixable map[FileLine]*suggestion) string {
	var b strings.Builder
	b.WriteString(CommentMarker + "\n")
	b.WriteString(summaryMarkdown(res, reported, fixable))
	return b.String()
}

func summaryMarkdown(res CommentResult, reported []finding.Finding, fixable map[FileLine]*suggestion) string {
	var b strings.Builder
	b.WriteString("### 📌 digestbot: container images on changed lines\n\n")
	if len(reported) == 0 {
		b.WriteString("All image references on changed lines are pinned ✅\n\n")
		fmt.Fprintf(&b, "Checked %d image %s on lines this pull request adds or changes.\n", res.Checked, plural(res.Checked, "reference", "references"))
		return b.String()
	}
	parts := []string{}
	if res.NeedsAction > 0 {
		parts = append(parts, fmt.Sprintf("**%d** %s a digest pin", res.NeedsAction, plural(res.NeedsAction, "needs", "need")))
	}
	if res.Errors > 0 {
		parts = append(parts, fmt.Sprintf("**%d** could not be checked", res.Errors))
	}
	fmt.Fprintf(&b, "Of %d image %s on lines this pull request adds or changes, %s. "+
		"A tag can be moved by whoever can push to its registry; a digest names one exact image.\n\n",
		res.Checked, plural(res.Checked, "reference", "references"), strings.Join(parts, " and "))
	var loud []finding.Finding
	for _, f := range reported {
		if f.Status.ChangesImage() {
			loud = append(loud, f)
		}
	}
	if len(loud) > 0 {
		b.WriteString("> [!WARNING]\n")
		for _, f := range loud {
			fmt.Fprintf(&b, "> ⚠️ %s %s: %s\n>\n", code(fmt.Sprintf("%s:%d", f.File, f.Line)), code(f.Ref), findingText(f))
		}
		b.WriteString("\n")
	}
	b.WriteString("| Line | Reference | Status | Fix |\n| --- | --- | --- | --- |\n")
	for _, f := range reported {
		fix := "—"
		switch {
		case f.Status == finding.Error:
			fix = "could not be checked: " + escapeMD(f.Message)
		case f.Status == finding.Unsigned:
			// Never suggest pinning a digest no signature vouches for.
			fix = "not pinned: " + escapeMD(f.Message)
		case f.Resolved != nil:
			fix = "pin to " + codeCell(shortDigest(*f.Resolved))
			if fixable[FileLine{f.File, f.Line}] != nil {
				fix += " (suggested below)"
			}
		}
		status := string(f.Status)
		if f.Status.ChangesImage() {
			status = "⚠️ " + status
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", codeCell(fmt.Sprintf("%s:%d", f.File, f.Line)), codeCell(f.Ref), status, fix)
	}
	if len(fixable) > 0 {
		b.WriteString("\nApply the suggestions on each line, or run `digestbot fix` to pin them all at once.\n\n")
		b.WriteString("<sub>digestbot updates this comment on every push.</sub>\n")
	} else {
		b.WriteString("\nRun `digestbot fix` to pin them all at once.\n")
	}
	return b.String()
}

// fallback reports through workflow annotations and the step summary when
// the token cannot comment (a pull request from a fork).
func (c *commenter) fallback(res CommentResult, reported []finding.Finding, fixable map[FileLine]*suggestion, cause error) (CommentResult, error) {
	res.Fallback = true
	res.Summary, res.SummaryURL = SummaryNone, ""
	res.Suggestions, res.SuggestionsEdited, res.Notes, res.NotesEdited = 0, 0, 0, 0
	c.say("the token cannot comment on #%d (%v); reporting through workflow annotations and the job summary instead", c.number, cause)
	if c.opts.Annotations != nil {
		for _, f := range reported {
			level := "warning"
			if f.Status == finding.Error {
				level = "error"
			}
			// Each piece is one escaped line (no control characters, no
			// credential, bounded); escapeData then encodes the line breaks
			// digestbot puts between them.
			msg := fmt.Sprintf("%s %s: %s", f.Status, safetext.Line(safetext.Redact(f.Ref)), safetext.Message(safetext.Redact(plainText(f))))
			if s := fixable[FileLine{f.File, f.Line}]; s != nil {
				msg += "\nSuggested line:\n" + safetext.Clip(s.text, safetext.MaxMessage)
			}
			fmt.Fprintf(c.opts.Annotations, "::%s file=%s,line=%d,title=%s::%s\n",
				level, escapeProperty(f.File), f.Line, escapeProperty("digestbot: "+string(f.Status)), escapeData(msg))
		}
	}
	if c.opts.StepSummaryPath != "" {
		var md strings.Builder
		md.WriteString(summaryMarkdown(res, reported, nil))
		if len(fixable) > 0 {
			var keys []FileLine
			for k := range fixable {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool {
				if keys[i].File != keys[j].File {
					return keys[i].File < keys[j].File
				}
				return keys[i].Line < keys[j].Line
			})
			md.WriteString("\n#### Fixed lines\n\n")
			for _, k := range keys {
				s := fixable[k]
				fence := fenceFor(s.text)
				fmt.Fprintf(&md, "%s\n\n%s\n%s\n%s\n\n", code(s.at.String()), fence, s.text, fence)
			}
		}
		f, err := os.OpenFile(c.opts.StepSummaryPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return res, fmt.Errorf("write the job summary (GITHUB_STEP_SUMMARY): %w", err)
		}
		_, werr := io.WriteString(f, md.String()+"\n")
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return res, fmt.Errorf("write the job summary (GITHUB_STEP_SUMMARY): %w", werr)
		}
	}
	return res, nil
}

// plainText is findingText without Markdown, for annotations.
func plainText(f finding.Finding) string {
	resolved := shortDigest(finding.Deref(f.Resolved))
	msg := ""
	if f.Message != "" {
		msg = " (" + f.Message + ")"
	}
	if adv := f.Status.Info().AdviceText; adv != "" {
		return strings.NewReplacer("{msg}", msg, "{digest}", resolved).Replace(adv)
	}
	return f.Message
}

// escapeData escapes a workflow command's message.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
