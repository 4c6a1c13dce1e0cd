// Package fakegithub is a stateful fake of the parts of the GitHub REST API
// digestbot uses: git refs, commits, trees and blobs (with real git object
// names), pull requests and their files, reviews, review comments, issue
// comments and labels. Tests drive real go-github clients against it and
// assert on its resulting state; it records every call.
//
// The API is served at the server's root and under /api/v3/ (GitHub
// Enterprise's layout).
package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one request the fake received.
type Call struct {
	Method string
	Path   string // without the /api/v3 prefix, e.g. /repos/o/r/git/refs
	Query  string
	Status int
	// Token is the bearer token the call carried ("" for none).
	Token string
	// Enterprise is true when the call used the /api/v3 prefix.
	Enterprise bool
}

func (c Call) String() string { return fmt.Sprintf("%s %s -> %d", c.Method, c.Path, c.Status) }

// Write reports whether the call could change state.
func (c Call) Write() bool { return c.Method != http.MethodGet && c.Method != http.MethodHead }

// Limit is a kind of rate limit response.
type Limit int

// Rate limit kinds.
const (
	// Primary answers 403 with X-RateLimit-Remaining: 0 and a reset time.
	Primary Limit = iota
	// Secondary answers 403 with Retry-After and the secondary-rate-limit documentation URL.
	Secondary
	// TooMany answers 429 with Retry-After.
	TooMany
)

// PR is a pull request as the fake holds it.
type PR struct {
	Number    int
	Title     string
	Body      string
	State     string // open or closed
	Head      string // branch
	Base      string // branch
	HeadSHA   string // head commit (the branch's current head while it exists)
	Labels    []string
	Reviewers []string
	Teams     []string
	User      string
}

// Comment is an issue comment.
type Comment struct {
	ID   int64
	User string
	Body string
}

// Review is a pull request review.
type Review struct {
	ID       int64
	User     string
	Body     string
	State    string
	CommitID string
}

// ReviewComment is a comment on a line of a pull request's diff.
type ReviewComment struct {
	ID       int64
	ReviewID int64
	User     string
	Path     string
	Line     int
	Side     string
	Body     string
	CommitID string
}

// File is a file to commit with Commit.
type File struct {
	Path    string
	Content string
	Mode    string // default ModeFile
	Delete  bool
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API root with a trailing slash, for go-github's BaseURL.
	URL string
	// Owner and Repo name the one repository served.
	Owner, Repo string

	srv *httptest.Server

	mu            sync.Mutex
	login         string
	defaultBranch string
	blobs         map[string][]byte
	trees         map[string][]treeEntry
	commits       map[string]*commitObj
	refs          map[string]string // "heads/main" → commit
	pulls         []*PR
	comments      map[int][]*Comment
	reviews       map[int][]*Review
	reviewCmts    map[int][]*ReviewComment
	nextNumber    int
	nextID        int64
	clock         int64
	calls         []Call
	forbidWrites  bool
	limits        []limitSpec
}

type limitSpec struct {
	kind         Limit
	after        time.Duration
	method, path string // "" matches any
}

// New starts a fake serving owner/repo, closed when the test ends. The
// token's user is "github-actions[bot]".
func New(t testing.TB, owner, repo string) *Server {
	s := &Server{
		Owner: owner, Repo: repo,
		login:         "github-actions[bot]",
		defaultBranch: "main",
		blobs:         map[string][]byte{},
		trees:         map[string][]treeEntry{},
		commits:       map[string]*commitObj{},
		refs:          map[string]string{},
		comments:      map[int][]*Comment{},
		reviews:       map[int][]*Review{},
		reviewCmts:    map[int][]*ReviewComment{},
		nextNumber:    1,
		nextID:        1000,
		clock:         1_700_000_000,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/"
	t.Cleanup(s.srv.Close)
	return s
}

// SetLogin sets the user the token acts as.
func (s *Server) SetLogin(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.login = login
}

// SetDefaultBranch changes the repository's default branch.
func (s *Server) SetDefaultBranch(b string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defaultBranch = b
}

// ForbidWrites makes every write answer 403 "Resource not accessible by
// integration", as for a pull request from a fork.
func (s *Server) ForbidWrites(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidWrites = on
}

// RateLimitNext makes the next request answer with a rate limit of the
// given kind; after is the reset (Primary) or Retry-After (others) delay.
// Calls queue up: each answers one request.
func (s *Server) RateLimitNext(kind Limit, after time.Duration) {
	s.RateLimitWhen("", "", kind, after)
}

// RateLimitWhen is RateLimitNext for the next request with this method
// whose path contains path ("" matches any).
func (s *Server) RateLimitWhen(method, path string, kind Limit, after time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, limitSpec{kind: kind, after: after, method: method, path: path})
}

// Commit adds a commit on branch (created from nothing if missing) that
// applies files on top of the branch's tree, and returns its SHA.
func (s *Server) Commit(branch, message string, files ...File) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	flat := map[string]fileEntry{}
	var parents []string
	if head, ok := s.refs["heads/"+branch]; ok {
		parents = []string{head}
		flat = s.flatten(s.commits[head].Tree)
	}
	for _, f := range files {
		if f.Delete {
			delete(flat, f.Path)
			continue
		}
		mode := f.Mode
		if mode == "" {
			mode = ModeFile
		}
		flat[f.Path] = fileEntry{Mode: mode, SHA: s.putBlob([]byte(f.Content))}
	}
	sha := s.putCommit(&commitObj{
		Tree: s.build(flat), Parents: parents, Message: message,
		Author: "Seed", Email: "seed@example.com", Time: s.tick(),
	})
	s.refs["heads/"+branch] = sha
	return sha
}

// Seed commits files (path → content) on branch.
func (s *Server) Seed(branch string, files map[string]string) string {
	var fs []File
	for p, c := range files {
		fs = append(fs, File{Path: p, Content: c})
	}
	return s.Commit(branch, "seed", fs...)
}

// Branch creates branch at the head of from.
func (s *Server) Branch(branch, from string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha := s.refs["heads/"+from]
	s.refs["heads/"+branch] = sha
	return sha
}

// Head returns a branch's head commit.
func (s *Server) Head(branch string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.refs["heads/"+branch]
	return sha, ok
}

// CommitInfo describes a commit.
type CommitInfo struct {
	SHA, Tree, Message string
	Parents            []string
	Verified           bool
}

// GetCommit returns a commit's tree, parents and message.
func (s *Server) GetCommit(sha string) (CommitInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.commits[sha]
	if c == nil {
		return CommitInfo{}, false
	}
	return CommitInfo{SHA: sha, Tree: c.Tree, Message: c.Message, Parents: append([]string(nil), c.Parents...), Verified: c.Verified}, true
}

// Files returns the content of every file on a branch (nil if no branch).
func (s *Server) Files(branch string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, ok := s.refs["heads/"+branch]
	if !ok {
		return nil
	}
	out := map[string]string{}
	for p, e := range s.flatten(s.commits[head].Tree) {
		out[p] = string(s.blobs[e.SHA])
	}
	return out
}

// Modes returns the mode of every file on a branch.
func (s *Server) Modes(branch string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	head, ok := s.refs["heads/"+branch]
	if !ok {
		return nil
	}
	for p, e := range s.flatten(s.commits[head].Tree) {
		out[p] = e.Mode
	}
	return out
}

// OpenPR opens a pull request from head into base as user and returns its number.
func (s *Server) OpenPR(head, base, title, body, user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &PR{Number: s.nextNumber, Title: title, Body: body, State: "open", Head: head, Base: base, User: user, HeadSHA: s.refs["heads/"+head]}
	s.nextNumber++
	s.pulls = append(s.pulls, p)
	return p.Number
}

// ClosePR closes a pull request, as a person would.
func (s *Server) ClosePR(number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pulls {
		if p.Number == number {
			p.State = "closed"
		}
	}
}

// PRs returns copies of every pull request, in creation order.
func (s *Server) PRs() []PR {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PR
	for _, p := range s.pulls {
		c := *p
		c.HeadSHA = s.headSHA(p)
		c.Labels = append([]string(nil), p.Labels...)
		c.Reviewers = append([]string(nil), p.Reviewers...)
		c.Teams = append([]string(nil), p.Teams...)
		out = append(out, c)
	}
	return out
}

// AddComment posts an issue comment as user (a human, say).
func (s *Server) AddComment(number int, user, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Comment{ID: s.id(), User: user, Body: body}
	s.comments[number] = append(s.comments[number], c)
	return c.ID
}

// Comments returns copies of a pull request's issue comments.
func (s *Server) Comments(number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments[number] {
		out = append(out, *c)
	}
	return out
}

// Reviews returns copies of a pull request's reviews.
func (s *Server) Reviews(number int) []Review {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Review
	for _, r := range s.reviews[number] {
		out = append(out, *r)
	}
	return out
}

// ReviewComments returns copies of a pull request's review comments.
func (s *Server) ReviewComments(number int) []ReviewComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ReviewComment
	for _, c := range s.reviewCmts[number] {
		out = append(out, *c)
	}
	return out
}

// Calls returns every call so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Writes returns the calls that could change state (any method but GET).
func (s *Server) Writes() []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Write() {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the calls recorded so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

func (s *Server) tick() int64 { s.clock += 60; return s.clock }
func (s *Server) id() int64   { s.nextID++; return s.nextID }

func (s *Server) headSHA(p *PR) string {
	if sha, ok := s.refs["heads/"+p.Head]; ok {
		return sha
	}
	return p.HeadSHA
}

// ---- HTTP plumbing ----

type request struct {
	w      http.ResponseWriter
	r      *http.Request
	path   string   // after /repos/{owner}/{repo}
	parts  []string // path split on "/"
	status int
}

func (q *request) json(status int, v any) {
	q.status = status
	q.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	q.w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(q.w).Encode(v)
	}
}

func (q *request) fail(status int, msg string) {
	q.json(status, map[string]any{
		"message":           msg,
		"documentation_url": "https://docs.github.com/rest",
		"status":            strconv.Itoa(status),
	})
}

func (q *request) decode(v any) bool {
	b, err := io.ReadAll(q.r.Body)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		q.fail(http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, enterprise := strings.CutPrefix(r.URL.Path, "/api/v3")
	q := &request{w: w, r: r}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.calls = append(s.calls, Call{Method: r.Method, Path: path, Query: r.URL.RawQuery, Status: q.status, Token: token, Enterprise: enterprise})
	}()
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	for i, l := range s.limits {
		if (l.method == "" || l.method == r.Method) && strings.Contains(path, l.path) {
			s.limits = append(s.limits[:i:i], s.limits[i+1:]...)
			s.rateLimited(q, l)
			return
		}
	}
	prefix := "/repos/" + s.Owner + "/" + s.Repo
	if path != prefix && !strings.HasPrefix(path, prefix+"/") {
		q.fail(http.StatusNotFound, "Not Found")
		return
	}
	if s.forbidWrites && r.Method != http.MethodGet {
		q.json(http.StatusForbidden, map[string]any{
			"message":           "Resource not accessible by integration",
			"documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
			"status":            "403",
		})
		return
	}
	q.path = strings.TrimPrefix(path, prefix)
	q.parts = strings.Split(strings.Trim(q.path, "/"), "/")
	s.route(q)
}

func (s *Server) rateLimited(q *request, l limitSpec) {
	h := q.w.Header()
	secs := int(l.after.Round(time.Second) / time.Second)
	switch l.kind {
	case Primary:
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", "5000")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(l.after).Unix(), 10))
		q.json(http.StatusForbidden, map[string]any{
			"message":           "API rate limit exceeded for installation ID 1.",
			"documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
		})
	case Secondary:
		h.Set("Retry-After", strconv.Itoa(secs))
		q.json(http.StatusForbidden, map[string]any{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	default:
		h.Set("Retry-After", strconv.Itoa(secs))
		q.fail(http.StatusTooManyRequests, "Too Many Requests")
	}
}

// match reports whether the request is method and its path parts match
// pattern ("*" matches one part, a final "**" the rest).
func (q *request) match(method, pattern string) bool {
	if q.r.Method != method {
		return false
	}
	pp := strings.Split(strings.Trim(pattern, "/"), "/")
	if pattern == "" {
		pp = []string{""}
	}
	for i, p := range pp {
		if p == "**" {
			return len(q.parts) > i
		}
		if i >= len(q.parts) {
			return false
		}
		if p != "*" && p != q.parts[i] {
			return false
		}
	}
	return len(pp) == len(q.parts)
}

func (q *request) rest(from int) string { return strings.Join(q.parts[from:], "/") }

func (q *request) num(i int) (int, bool) {
	n, err := strconv.Atoi(q.parts[i])
	if err != nil {
		q.fail(http.StatusNotFound, "Not Found")
		return 0, false
	}
	return n, true
}

func (s *Server) route(q *request) {
	switch {
	case q.match("GET", ""):
		s.getRepo(q)
	case q.match("GET", "git/ref/**"):
		s.getRef(q, q.rest(2))
	case q.match("POST", "git/refs"):
		s.createRef(q)
	case q.match("PATCH", "git/refs/**"):
		s.updateRef(q, q.rest(2))
	case q.match("DELETE", "git/refs/**"):
		s.deleteRef(q, q.rest(2))
	case q.match("GET", "git/commits/*"):
		s.getCommit(q, q.parts[2])
	case q.match("POST", "git/commits"):
		s.createCommit(q)
	case q.match("GET", "git/trees/*"):
		s.getTree(q, q.parts[2])
	case q.match("POST", "git/trees"):
		s.createTree(q)
	case q.match("GET", "git/blobs/*"):
		s.getBlob(q, q.parts[2])
	case q.match("POST", "git/blobs"):
		s.createBlob(q)
	case q.match("GET", "contents/**"):
		s.getContents(q, q.rest(1))
	case q.match("GET", "pulls"):
		s.listPulls(q)
	case q.match("POST", "pulls"):
		s.createPull(q)
	case q.match("GET", "pulls/*"):
		s.withPull(q, func(p *PR) { q.json(http.StatusOK, s.pullJSON(p)) })
	case q.match("PATCH", "pulls/*"):
		s.withPull(q, func(p *PR) { s.editPull(q, p) })
	case q.match("GET", "pulls/*/files"):
		s.withPull(q, func(p *PR) { s.listFiles(q, p) })
	case q.match("POST", "pulls/*/requested_reviewers"):
		s.withPull(q, func(p *PR) { s.requestReviewers(q, p) })
	case q.match("GET", "pulls/*/reviews"):
		s.withPull(q, func(p *PR) { s.listReviews(q, p) })
	case q.match("POST", "pulls/*/reviews"):
		s.withPull(q, func(p *PR) { s.createReview(q, p) })
	case q.match("GET", "pulls/*/comments"):
		s.withPull(q, func(p *PR) { s.listReviewComments(q, p) })
	case q.match("PATCH", "pulls/comments/*"):
		s.editReviewComment(q)
	case q.match("GET", "issues/*/comments"):
		s.withPull(q, func(p *PR) { s.listComments(q, p) })
	case q.match("POST", "issues/*/comments"):
		s.withPull(q, func(p *PR) { s.createComment(q, p) })
	case q.match("PATCH", "issues/comments/*"):
		s.editComment(q)
	case q.match("POST", "issues/*/labels"):
		s.withPull(q, func(p *PR) { s.addLabels(q, p) })
	case q.match("PATCH", "issues/*"):
		s.withPull(q, func(p *PR) { s.editPull(q, p) })
	default:
		q.fail(http.StatusNotFound, "Not Found")
	}
}

// paginate answers a list with per_page/page and a Link header, as GitHub does.
func paginate[T any](q *request, items []T) {
	perPage, _ := strconv.Atoi(q.r.URL.Query().Get("per_page"))
	if perPage <= 0 {
		perPage = 30
	}
	perPage = min(perPage, 100)
	page, _ := strconv.Atoi(q.r.URL.Query().Get("page"))
	if page <= 0 {
		page = 1
	}
	last := max((len(items)+perPage-1)/perPage, 1)
	from := min((page-1)*perPage, len(items))
	to := min(from+perPage, len(items))
	link := func(p int) string {
		u := *q.r.URL
		u.Scheme, u.Host = "http", q.r.Host
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = v.Encode()
		return u.String()
	}
	var links []string
	if page < last {
		links = append(links, fmt.Sprintf(`<%s>; rel="next"`, link(page+1)), fmt.Sprintf(`<%s>; rel="last"`, link(last)))
	}
	if page > 1 {
		links = append(links, fmt.Sprintf(`<%s>; rel="prev"`, link(page-1)), fmt.Sprintf(`<%s>; rel="first"`, link(1)))
	}
	if len(links) > 0 {
		q.w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := items[from:to]
	if out == nil {
		out = []T{}
	}
	q.json(http.StatusOK, out)
}

// ---- repository and git data ----

func (s *Server) api(path string) string {
	return strings.TrimSuffix(s.URL, "/") + "/repos/" + s.Owner + "/" + s.Repo + path
}

func (s *Server) html(path string) string {
	return "https://github.example/" + s.Owner + "/" + s.Repo + path
}

func (s *Server) getRepo(q *request) {
	q.json(http.StatusOK, map[string]any{
		"id": 1, "name": s.Repo, "full_name": s.Owner + "/" + s.Repo,
		"owner":          map[string]any{"login": s.Owner},
		"default_branch": s.defaultBranch,
		"html_url":       s.html(""),
		"url":            s.api(""),
	})
}

func (s *Server) refJSON(name, sha string) map[string]any {
	return map[string]any{
		"ref": "refs/" + name, "url": s.api("/git/refs/" + name),
		"object": map[string]any{"type": "commit", "sha": sha, "url": s.api("/git/commits/" + sha)},
	}
}

func (s *Server) getRef(q *request, name string) {
	sha, ok := s.refs[name]
	if !ok {
		q.fail(http.StatusNotFound, "Not Found")
		return
	}
	q.json(http.StatusOK, s.refJSON(name, sha))
}

func (s *Server) createRef(q *request) {
	var in struct{ Ref, SHA string }
	if !q.decode(&in) {
		return
	}
	name, ok := strings.CutPrefix(in.Ref, "refs/")
	if !ok || strings.Count(in.Ref, "/") < 2 {
		q.fail(http.StatusUnprocessableEntity, "Reference name must start with 'refs/' and have at least two slashes.")
		return
	}
	if _, exists := s.refs[name]; exists {
		q.fail(http.StatusUnprocessableEntity, "Reference already exists")
		return
	}
	if s.commits[in.SHA] == nil {
		q.fail(http.StatusUnprocessableEntity, "Object does not exist")
		return
	}
	s.refs[name] = in.SHA
	q.json(http.StatusCreated, s.refJSON(name, in.SHA))
}

func (s *Server) updateRef(q *request, name string) {
	var in struct {
		SHA   string
		Force bool
	}
	if !q.decode(&in) {
		return
	}
	cur, ok := s.refs[name]
	if !ok {
		q.fail(http.StatusUnprocessableEntity, "Reference does not exist")
		return
	}
	if s.commits[in.SHA] == nil {
		q.fail(http.StatusUnprocessableEntity, "Object does not exist")
		return
	}
	if !in.Force && !s.ancestors(in.SHA)[cur] {
		q.fail(http.StatusUnprocessableEntity, "Update is not a fast forward")
		return
	}
	s.refs[name] = in.SHA
	q.json(http.StatusOK, s.refJSON(name, in.SHA))
}

func (s *Server) deleteRef(q *request, name string) {
	if _, ok := s.refs[name]; !ok {
		q.fail(http.StatusUnprocessableEntity, "Reference does not exist")
		return
	}
	// An open pull request whose head branch is deleted is closed, as on GitHub.
	for _, p := range s.pulls {
		if "heads/"+p.Head == name {
			p.HeadSHA = s.refs[name]
			if p.State == "open" {
				p.State = "closed"
			}
		}
	}
	delete(s.refs, name)
	q.status = http.StatusNoContent
	q.w.WriteHeader(http.StatusNoContent)
}

func (s *Server) commitJSON(sha string) map[string]any {
	c := s.commits[sha]
	parents := []any{}
	for _, p := range c.Parents {
		parents = append(parents, map[string]any{"sha": p, "url": s.api("/git/commits/" + p)})
	}
	date := time.Unix(c.Time, 0).UTC().Format(time.RFC3339)
	person := map[string]any{"name": c.Author, "email": c.Email, "date": date}
	verification := map[string]any{"verified": c.Verified, "reason": "unsigned"}
	if c.Verified {
		verification["reason"] = "valid"
	}
	return map[string]any{
		"sha": sha, "url": s.api("/git/commits/" + sha), "html_url": s.html("/commit/" + sha),
		"message": c.Message, "author": person, "committer": person,
		"tree":         map[string]any{"sha": c.Tree, "url": s.api("/git/trees/" + c.Tree)},
		"parents":      parents,
		"verification": verification,
	}
}

func (s *Server) getCommit(q *request, sha string) {
	if s.commits[sha] == nil {
		q.fail(http.StatusNotFound, "Not Found")
		return
	}
	q.json(http.StatusOK, s.commitJSON(sha))
}

func (s *Server) createCommit(q *request) {
	var in struct {
		Message string
		Tree    string
		Parents []string
		Author  *struct{ Name, Email string }
	}
	if !q.decode(&in) {
		return
	}
	if in.Message == "" {
		q.fail(http.StatusUnprocessableEntity, "Invalid request.\n\n\"message\" wasn't supplied.")
		return
	}
	if _, ok := s.trees[in.Tree]; !ok {
		q.fail(http.StatusUnprocessableEntity, "Tree SHA does not exist")
		return
	}
	for _, p := range in.Parents {
		if s.commits[p] == nil {
			q.fail(http.StatusUnprocessableEntity, "Parent SHA does not exist or is not a commit object")
			return
		}
	}
	c := &commitObj{Tree: in.Tree, Parents: in.Parents, Message: in.Message, Author: s.login, Email: "41898282+github-actions[bot]@users.noreply.github.com", Time: s.tick(), Verified: true}
	if in.Author != nil {
		c.Author, c.Email, c.Verified = in.Author.Name, in.Author.Email, false
	}
	sha := s.putCommit(c)
	q.json(http.StatusCreated, s.commitJSON(sha))
}

func (s *Server) getTree(q *request, sha string) {
	if _, ok := s.trees[sha]; !ok {
		q.fail(http.StatusNotFound, "Not Found")
		return
	}
	q.json(http.StatusOK, s.treeJSON(sha, q.r.URL.Query().Get("recursive") != ""))
}

func (s *Server) treeJSON(sha string, recursive bool) map[string]any {
	out := []any{}
	var walk func(entries []treeEntry, prefix string)
	walk = func(entries []treeEntry, prefix string) {
		for _, e := range entries {
			item := map[string]any{"path": prefix + e.Name, "mode": e.Mode, "type": e.typ(), "sha": e.SHA}
			if e.Mode == ModeTree {
				item["url"] = s.api("/git/trees/" + e.SHA)
			} else {
				item["size"] = len(s.blobs[e.SHA])
				item["url"] = s.api("/git/blobs/" + e.SHA)
			}
			out = append(out, item)
			if recursive && e.Mode == ModeTree {
				walk(s.trees[e.SHA], prefix+e.Name+"/")
			}
		}
	}
	walk(s.trees[sha], "")
	return map[string]any{"sha": sha, "url": s.api("/git/trees/" + sha), "tree": out, "truncated": false}
}

func (s *Server) createTree(q *request) {
	var in struct {
		BaseTree string `json:"base_tree"`
		Tree     []struct {
			Path    string
			Mode    string
			Type    string
			SHA     json.RawMessage
			Content *string
		}
	}
	if !q.decode(&in) {
		return
	}
	flat := map[string]fileEntry{}
	if in.BaseTree != "" {
		if _, ok := s.trees[in.BaseTree]; !ok {
			q.fail(http.StatusUnprocessableEntity, "base_tree is not a valid tree oid")
			return
		}
		flat = s.flatten(in.BaseTree)
	}
	for _, e := range in.Tree {
		if e.Path == "" || strings.HasPrefix(e.Path, "/") || strings.HasSuffix(e.Path, "/") || strings.Contains(e.Path, "//") {
			q.fail(http.StatusUnprocessableEntity, "tree.path contains a malformed path component")
			return
		}
		switch e.Mode {
		case ModeFile, ModeExec, ModeSymlink:
		default:
			q.fail(http.StatusUnprocessableEntity, fmt.Sprintf("Invalid tree info: mode %q for %s", e.Mode, e.Path))
			return
		}
		if e.Type != "" && e.Type != "blob" {
			q.fail(http.StatusUnprocessableEntity, "only blob entries are supported by the fake")
			return
		}
		var sha *string
		if len(e.SHA) > 0 && string(e.SHA) != "null" {
			var v string
			if json.Unmarshal(e.SHA, &v) != nil {
				q.fail(http.StatusBadRequest, "Problems parsing JSON")
				return
			}
			sha = &v
		}
		switch {
		case e.Content != nil && sha != nil:
			q.fail(http.StatusUnprocessableEntity, "Must supply either tree.sha or tree.content, not both")
			return
		case e.Content != nil:
			flat[e.Path] = fileEntry{Mode: e.Mode, SHA: s.putBlob([]byte(*e.Content))}
		case sha != nil:
			if _, ok := s.blobs[*sha]; !ok {
				q.fail(http.StatusUnprocessableEntity, "tree.sha "+*sha+" is not a valid blob")
				return
			}
			flat[e.Path] = fileEntry{Mode: e.Mode, SHA: *sha}
		default: // sha: null deletes
			delete(flat, e.Path)
		}
	}
	q.json(http.StatusCreated, s.treeJSON(s.build(flat), false))
}

// getContents serves GET contents/<path>?ref=<branch or commit SHA> for a
// file: its content base64-encoded, as GitHub does (404 for a missing
// path, ref or a folder).
func (s *Server) getContents(q *request, path string) {
	ref := q.r.URL.Query().Get("ref")
	commit, ok := s.refs["heads/"+ref]
	if !ok {
		if _, isCommit := s.commits[ref]; isCommit {
			commit, ok = ref, true
		}
	}
	if !ok {
		q.fail(http.StatusNotFound, "No commit found for the ref "+ref)
		return
	}
	e, found := s.flatten(s.commits[commit].Tree)[path]
	if !found {
		q.fail(http.StatusNotFound, "Not Found")
		return
	}
	data := s.blobs[e.SHA]
	q.json(http.StatusOK, map[string]any{
		"type": "file", "encoding": "base64", "size": len(data), "name": path[strings.LastIndex(path, "/")+1:], "path": path,
		"sha": e.SHA, "content": base64.StdEncoding.EncodeToString(data),
	})
}

func (s *Server) getBlob(q *request, sha string) {
	b, ok := s.blobs[sha]
	if !ok {
		q.fail(http.StatusNotFound, "Not Found")
		return
	}
	q.json(http.StatusOK, map[string]any{"sha": sha, "size": len(b), "encoding": "utf-8", "content": string(b), "url": s.api("/git/blobs/" + sha)})
}

func (s *Server) createBlob(q *request) {
	var in struct{ Content, Encoding string }
	if !q.decode(&in) {
		return
	}
	if in.Encoding != "" && in.Encoding != "utf-8" {
		q.fail(http.StatusUnprocessableEntity, "the fake supports utf-8 blobs only")
		return
	}
	sha := s.putBlob([]byte(in.Content))
	q.json(http.StatusCreated, map[string]any{"sha": sha, "url": s.api("/git/blobs/" + sha)})
}

// ---- pull requests ----

func (s *Server) withPull(q *request, f func(*PR)) {
	n, ok := q.num(1)
	if !ok {
		return
	}
	for _, p := range s.pulls {
		if p.Number == n {
			f(p)
			return
		}
	}
	q.fail(http.StatusNotFound, "Not Found")
}

func (s *Server) pullJSON(p *PR) map[string]any {
	labels := []any{}
	for _, l := range p.Labels {
		labels = append(labels, map[string]any{"name": l})
	}
	reviewers := []any{}
	for _, r := range p.Reviewers {
		reviewers = append(reviewers, map[string]any{"login": r})
	}
	teams := []any{}
	for _, t := range p.Teams {
		teams = append(teams, map[string]any{"slug": t})
	}
	repo := map[string]any{"name": s.Repo, "full_name": s.Owner + "/" + s.Repo, "owner": map[string]any{"login": s.Owner}}
	return map[string]any{
		"number": p.Number, "title": p.Title, "body": p.Body, "state": p.State,
		"url": s.api(fmt.Sprintf("/pulls/%d", p.Number)), "html_url": s.html(fmt.Sprintf("/pull/%d", p.Number)),
		"user":                map[string]any{"login": p.User},
		"head":                map[string]any{"ref": p.Head, "sha": s.headSHA(p), "label": s.Owner + ":" + p.Head, "repo": repo},
		"base":                map[string]any{"ref": p.Base, "sha": s.refs["heads/"+p.Base], "label": s.Owner + ":" + p.Base, "repo": repo},
		"labels":              labels,
		"requested_reviewers": reviewers,
		"requested_teams":     teams,
		"merged":              false,
	}
}

func (s *Server) listPulls(q *request) {
	v := q.r.URL.Query()
	state := v.Get("state")
	if state == "" {
		state = "open"
	}
	var out []map[string]any
	// Newest first, GitHub's default order.
	for i := len(s.pulls) - 1; i >= 0; i-- {
		p := s.pulls[i]
		if state != "all" && p.State != state {
			continue
		}
		if h := v.Get("head"); h != "" && h != s.Owner+":"+p.Head {
			continue
		}
		if b := v.Get("base"); b != "" && b != p.Base {
			continue
		}
		out = append(out, s.pullJSON(p))
	}
	paginate(q, out)
}

func (s *Server) createPull(q *request) {
	var in struct {
		Title, Head, Base, Body string
		Draft                   bool
	}
	if !q.decode(&in) {
		return
	}
	head := strings.TrimPrefix(in.Head, s.Owner+":")
	headSHA, ok := s.refs["heads/"+head]
	if !ok {
		q.fail(http.StatusUnprocessableEntity, "Validation Failed: head invalid")
		return
	}
	baseSHA, ok := s.refs["heads/"+in.Base]
	if !ok {
		q.fail(http.StatusUnprocessableEntity, "Validation Failed: base invalid")
		return
	}
	if in.Title == "" {
		q.fail(http.StatusUnprocessableEntity, "Validation Failed: title missing")
		return
	}
	for _, p := range s.pulls {
		if p.State == "open" && p.Head == head && p.Base == in.Base {
			q.fail(http.StatusUnprocessableEntity, fmt.Sprintf("A pull request already exists for %s:%s.", s.Owner, head))
			return
		}
	}
	if s.ancestors(baseSHA)[headSHA] {
		q.fail(http.StatusUnprocessableEntity, fmt.Sprintf("No commits between %s and %s", in.Base, head))
		return
	}
	p := &PR{Number: s.nextNumber, Title: in.Title, Body: in.Body, State: "open", Head: head, Base: in.Base, HeadSHA: headSHA, User: s.login}
	s.nextNumber++
	s.pulls = append(s.pulls, p)
	q.json(http.StatusCreated, s.pullJSON(p))
}

func (s *Server) editPull(q *request, p *PR) {
	var in struct {
		Title, Body, State, Base *string
	}
	if !q.decode(&in) {
		return
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		q.fail(http.StatusUnprocessableEntity, "Validation Failed: state")
		return
	}
	if in.Base != nil {
		if _, ok := s.refs["heads/"+*in.Base]; !ok {
			q.fail(http.StatusUnprocessableEntity, "Validation Failed: base invalid")
			return
		}
		p.Base = *in.Base
	}
	if in.Title != nil {
		p.Title = *in.Title
	}
	if in.Body != nil {
		p.Body = *in.Body
	}
	if in.State != nil {
		if *in.State == "open" {
			if _, ok := s.refs["heads/"+p.Head]; !ok {
				q.fail(http.StatusUnprocessableEntity, "Validation Failed: head branch was deleted")
				return
			}
		}
		p.State = *in.State
	}
	q.json(http.StatusOK, s.pullJSON(p))
}

// changedFiles is what the pull request changes: the diff between the merge
// base of base and head, and head.
type changedFile struct {
	Path, Status, OldText, NewText, SHA string
}

func (s *Server) changedFiles(p *PR) []changedFile {
	head := s.headSHA(p)
	base := s.refs["heads/"+p.Base]
	mb := s.mergeBase(base, head)
	var before map[string]fileEntry
	if mb != "" {
		before = s.flatten(s.commits[mb].Tree)
	} else {
		before = map[string]fileEntry{}
	}
	after := map[string]fileEntry{}
	if c := s.commits[head]; c != nil {
		after = s.flatten(c.Tree)
	}
	paths := map[string]bool{}
	for p := range before {
		paths[p] = true
	}
	for p := range after {
		paths[p] = true
	}
	var sorted []string
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	var out []changedFile
	for _, path := range sorted {
		b, inB := before[path]
		a, inA := after[path]
		switch {
		case inB && inA && a.SHA == b.SHA:
			continue
		case !inB:
			out = append(out, changedFile{Path: path, Status: "added", NewText: string(s.blobs[a.SHA]), SHA: a.SHA})
		case !inA:
			out = append(out, changedFile{Path: path, Status: "removed", OldText: string(s.blobs[b.SHA]), SHA: b.SHA})
		default:
			out = append(out, changedFile{Path: path, Status: "modified", OldText: string(s.blobs[b.SHA]), NewText: string(s.blobs[a.SHA]), SHA: a.SHA})
		}
	}
	return out
}

func (s *Server) listFiles(q *request, p *PR) {
	var out []map[string]any
	for _, f := range s.changedFiles(p) {
		item := map[string]any{"sha": f.SHA, "filename": f.Path, "status": f.Status}
		if text, add, del, ok := patch(f.OldText, f.NewText); ok {
			item["patch"] = text
			item["additions"], item["deletions"], item["changes"] = add, del, add+del
		}
		out = append(out, item)
	}
	paginate(q, out)
}

func (s *Server) requestReviewers(q *request, p *PR) {
	var in struct {
		Reviewers     []string `json:"reviewers"`
		TeamReviewers []string `json:"team_reviewers"`
	}
	if !q.decode(&in) {
		return
	}
	for _, r := range in.Reviewers {
		if r == p.User {
			q.fail(http.StatusUnprocessableEntity, "Review cannot be requested from pull request author.")
			return
		}
	}
	p.Reviewers = appendNew(p.Reviewers, in.Reviewers...)
	p.Teams = appendNew(p.Teams, in.TeamReviewers...)
	q.json(http.StatusCreated, s.pullJSON(p))
}

func (s *Server) addLabels(q *request, p *PR) {
	b, err := io.ReadAll(q.r.Body)
	if err != nil {
		q.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	var labels []string
	if json.Unmarshal(b, &labels) != nil {
		var obj struct{ Labels []string }
		if json.Unmarshal(b, &obj) != nil {
			q.fail(http.StatusBadRequest, "Problems parsing JSON")
			return
		}
		labels = obj.Labels
	}
	p.Labels = appendNew(p.Labels, labels...)
	out := []any{}
	for _, l := range p.Labels {
		out = append(out, map[string]any{"name": l})
	}
	q.json(http.StatusOK, out)
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			found = found || l == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}

// ---- issue comments ----

func (s *Server) commentJSON(number int, c *Comment) map[string]any {
	return map[string]any{
		"id": c.ID, "body": c.Body,
		"user":     map[string]any{"login": c.User, "type": userType(c.User)},
		"html_url": s.html(fmt.Sprintf("/pull/%d#issuecomment-%d", number, c.ID)),
		"url":      s.api(fmt.Sprintf("/issues/comments/%d", c.ID)),
	}
}

func userType(login string) string {
	if strings.HasSuffix(login, "[bot]") {
		return "Bot"
	}
	return "User"
}

func (s *Server) listComments(q *request, p *PR) {
	var out []map[string]any
	for _, c := range s.comments[p.Number] {
		out = append(out, s.commentJSON(p.Number, c))
	}
	paginate(q, out)
}

func (s *Server) createComment(q *request, p *PR) {
	var in struct{ Body string }
	if !q.decode(&in) {
		return
	}
	if in.Body == "" {
		q.fail(http.StatusUnprocessableEntity, "Validation Failed: body missing")
		return
	}
	c := &Comment{ID: s.id(), User: s.login, Body: in.Body}
	s.comments[p.Number] = append(s.comments[p.Number], c)
	q.json(http.StatusCreated, s.commentJSON(p.Number, c))
}

func (s *Server) editComment(q *request) {
	id, err := strconv.ParseInt(q.parts[2], 10, 64)
	if err != nil {
		q.fail(http.StatusNotFound, "Not Found")
		return
	}
	var in struct{ Body string }
	if !q.decode(&in) {
		return
	}
	for n, list := range s.comments {
		for _, c := range list {
			if c.ID == id {
				c.Body = in.Body
				q.json(http.StatusOK, s.commentJSON(n, c))
				return
			}
		}
	}
	q.fail(http.StatusNotFound, "Not Found")
}

// ---- reviews ----

func (s *Server) reviewJSON(r *Review) map[string]any {
	return map[string]any{"id": r.ID, "body": r.Body, "state": r.State, "commit_id": r.CommitID, "user": map[string]any{"login": r.User, "type": userType(r.User)}}
}

func (s *Server) reviewCommentJSON(number int, c *ReviewComment) map[string]any {
	return map[string]any{
		"id": c.ID, "pull_request_review_id": c.ReviewID, "path": c.Path,
		"line": c.Line, "original_line": c.Line, "side": c.Side, "body": c.Body, "commit_id": c.CommitID,
		"user":     map[string]any{"login": c.User, "type": userType(c.User)},
		"html_url": s.html(fmt.Sprintf("/pull/%d#discussion_r%d", number, c.ID)),
	}
}

func (s *Server) listReviews(q *request, p *PR) {
	var out []map[string]any
	for _, r := range s.reviews[p.Number] {
		out = append(out, s.reviewJSON(r))
	}
	paginate(q, out)
}

func (s *Server) createReview(q *request, p *PR) {
	var in struct {
		CommitID string `json:"commit_id"`
		Body     string
		Event    string
		Comments []struct {
			Path     string
			Line     int
			Side     string
			Position *int
			Body     string
		}
	}
	if !q.decode(&in) {
		return
	}
	state := map[string]string{"COMMENT": "COMMENTED", "APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "": "PENDING"}[in.Event]
	if state == "" {
		q.fail(http.StatusUnprocessableEntity, "Unprocessable Entity: event")
		return
	}
	if in.Event == "COMMENT" && in.Body == "" && len(in.Comments) == 0 {
		q.fail(http.StatusUnprocessableEntity, "Unprocessable Entity: body is needed to comment")
		return
	}
	if in.CommitID != "" && s.commits[in.CommitID] == nil {
		q.fail(http.StatusUnprocessableEntity, "Unprocessable Entity: commit_id is not part of the pull request")
		return
	}
	lines := map[string]map[int]bool{}
	for _, f := range s.changedFiles(p) {
		if text, _, _, ok := patch(f.OldText, f.NewText); ok {
			lines[f.Path] = rightLines(text)
		}
	}
	for _, c := range in.Comments {
		if c.Position != nil || c.Line <= 0 || (c.Side != "" && c.Side != "RIGHT") {
			q.fail(http.StatusUnprocessableEntity, "the fake supports line comments on the RIGHT side only")
			return
		}
		if !lines[c.Path][c.Line] {
			q.json(http.StatusUnprocessableEntity, map[string]any{
				"message": "Unprocessable Entity",
				"errors":  []string{"Pull request review thread line must be part of the diff"},
			})
			return
		}
	}
	commit := in.CommitID
	if commit == "" {
		commit = s.headSHA(p)
	}
	r := &Review{ID: s.id(), User: s.login, Body: in.Body, State: state, CommitID: commit}
	s.reviews[p.Number] = append(s.reviews[p.Number], r)
	for _, c := range in.Comments {
		s.reviewCmts[p.Number] = append(s.reviewCmts[p.Number], &ReviewComment{
			ID: s.id(), ReviewID: r.ID, User: s.login, Path: c.Path, Line: c.Line, Side: "RIGHT", Body: c.Body, CommitID: commit,
		})
	}
	q.json(http.StatusOK, s.reviewJSON(r))
}

func (s *Server) listReviewComments(q *request, p *PR) {
	var out []map[string]any
	for _, c := range s.reviewCmts[p.Number] {
		out = append(out, s.reviewCommentJSON(p.Number, c))
	}
	paginate(q, out)
}

func (s *Server) editReviewComment(q *request) {
	id, err := strconv.ParseInt(q.parts[2], 10, 64)
	if err != nil {
		q.fail(http.StatusNotFound, "Not Found")
		return
	}
	var in struct{ Body string }
	if !q.decode(&in) {
		return
	}
	for n, list := range s.reviewCmts {
		for _, c := range list {
			if c.ID == id {
				c.Body = in.Body
				q.json(http.StatusOK, s.reviewCommentJSON(n, c))
				return
			}
		}
	}
	q.fail(http.StatusNotFound, "Not Found")
}
