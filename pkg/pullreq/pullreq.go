// Package pullreq publishes digestbot's results on GitHub through go-github:
// one branch with one commit and one pull request that pins every image
// (Publish), and a summary comment plus review suggestions on a pull request
// that adds unpinned images (Comment). It receives computed results; it
// never scans or resolves anything itself.
package pullreq

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/digestbot/digestbot/internal/safetext"
)

// Hidden markers digestbot puts in what it writes, to find it again.
const (
	PRMarker         = "<!-- digestbot:pin-digests -->"
	CommentMarker    = "<!-- digestbot:comment -->"
	SuggestionMarker = "<!-- digestbot:suggestion -->"
	// UnsignedMarker marks the review comment on an unsigned line (no
	// suggestion: nothing vouches for a digest to suggest).
	UnsignedMarker = "<!-- digestbot:unsigned -->"
)

// Repo names a GitHub repository.
type Repo struct {
	Owner, Name string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// ParseRepo reads "owner/name", as in GITHUB_REPOSITORY.
func ParseRepo(s string) (Repo, error) {
	owner, name, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return Repo{}, fmt.Errorf("repository %q is not owner/name", s)
	}
	return Repo{Owner: owner, Name: name}, nil
}

// ClientOption tunes NewClient.
type ClientOption func(*clientConfig)

type clientConfig struct {
	httpClient *http.Client
	retry      RetryPolicy
}

// WithHTTPClient sends requests through hc's transport (and timeout).
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *clientConfig) { c.httpClient = hc }
}

// WithRetry sets how rate limits are waited out.
func WithRetry(p RetryPolicy) ClientOption {
	return func(c *clientConfig) { c.retry = p }
}

// DefaultAPIURL is GitHub.com's REST API root.
const DefaultAPIURL = "https://api.github.com"

// NewClient returns a go-github client for apiURL (GITHUB_API_URL; empty
// means GitHub.com; a GitHub Enterprise Server root such as
// https://ghe.example.com/api/v3 works as is) that authenticates with token
// (none when empty) and waits out rate limits as GitHub asks, bounded by
// the retry policy. The token is only ever sent in the Authorization header.
func NewClient(ctx context.Context, token, apiURL string, opts ...ClientOption) (*github.Client, error) {
	_ = ctx // reserved: clients are not bound to a context
	cfg := clientConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	if cfg.httpClient != nil {
		c := *cfg.httpClient
		hc = &c
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &retryTransport{base: cappedTransport{base: base}, policy: cfg.retry.withDefaults()}
	client := github.NewClient(hc)
	if token != "" {
		client = client.WithAuthToken(token)
	}
	apiURL = strings.TrimSpace(apiURL)
	if apiURL == "" || strings.TrimSuffix(apiURL, "/") == DefaultAPIURL {
		return client, nil
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("GITHUB_API_URL %q is not an http(s) URL such as https://ghe.example.com/api/v3", apiURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	up := *u
	if strings.HasSuffix(up.Path, "/api/v3/") {
		up.Path = strings.TrimSuffix(up.Path, "v3/") + "uploads/"
	}
	client.BaseURL, client.UploadURL = u, &up
	return client, nil
}

// BlobSHA is git's object name for a file holding content, so digestbot can
// tell whether a branch already holds a file without uploading it.
func BlobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// MaxListPages bounds the pages of one list read from the GitHub API
// (100 items each): an API that always says there is a next page must not
// keep digestbot asking (4,606 pages in 30 s, before this bound).
const MaxListPages = 50

// ErrTooManyPages is returned when a list has more than MaxListPages pages.
var ErrTooManyPages = errors.New("the GitHub API kept sending pages")

// listAll fetches every page of a list, at most MaxListPages, and only
// pages after the current one (a next page that goes back is an end).
func listAll[T any](ctx context.Context, fetch func(github.ListOptions) ([]T, *github.Response, error)) ([]T, error) {
	var all []T
	opts := github.ListOptions{PerPage: 100}
	for page := 1; ; page++ {
		items, resp, err := fetch(opts)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if resp == nil || resp.NextPage == 0 || resp.NextPage <= opts.Page {
			return all, nil
		}
		if page >= MaxListPages {
			return nil, fmt.Errorf("%w: more than %d pages of %d items; digestbot stops there", ErrTooManyPages, MaxListPages, opts.PerPage)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		opts.Page = resp.NextPage
	}
}

// DefaultPhaseTimeout bounds all the GitHub API work of one pr or comment
// run, retries and rate-limit waits included.
const DefaultPhaseTimeout = 10 * time.Minute

func phaseTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultPhaseTimeout
	}
	return d
}

// maxResponseBody caps one GitHub API answer (a list page of 100 items is
// well under 1 MiB; a file's patch can be a few MiB).
const maxResponseBody = 32 << 20

// cappedTransport fails a response body read past maxResponseBody.
type cappedTransport struct{ base http.RoundTripper }

func (t cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > maxResponseBody {
		resp.Body.Close()
		return nil, fmt.Errorf("the GitHub API answered %d bytes to %s %s; digestbot reads at most %d MiB", resp.ContentLength, req.Method, req.URL.Path, maxResponseBody>>20)
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxResponseBody}
	return resp, nil
}

type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("the GitHub API answer is larger than %d MiB", maxResponseBody>>20)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// redactedError shows a GitHub API error with anything that looks like a
// credential removed (GitHub's error bodies echo what they are sent), and
// unwraps to the original for errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redacted(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: safetext.Clip(safetext.Redact(err.Error()), safetext.MaxMessage), err: err}
}

// statusOf returns the HTTP status of a go-github error (0 when none).
func statusOf(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// isRateLimit reports whether err is a primary or secondary rate limit.
func isRateLimit(err error) bool {
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	return errors.As(err, &rl) || errors.As(err, &ab)
}

// forbidden reports a permission refusal (not a rate limit): 403, or the
// 404 GitHub answers when a token may not see or write something.
func forbidden(err error) bool {
	if isRateLimit(err) {
		return false
	}
	s := statusOf(err)
	return s == http.StatusForbidden || s == http.StatusNotFound
}

// apiError turns a go-github error into one clear line: what failed, what
// GitHub said, and what to do. hint names the permission the step needs.
func apiError(what string, err error, hint string) error {
	return redacted(apiErrorText(what, err, hint))
}

func apiErrorText(what string, err error, hint string) error {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return fmt.Errorf("%s: GitHub API rate limit exhausted until %s; digestbot waited as long as it may; run again after that: %w",
			what, rl.Rate.Reset.UTC().Format(time.RFC3339), err)
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		return fmt.Errorf("%s: GitHub secondary rate limit (retry after %s); digestbot waited as long as it may; run again later: %w",
			what, ab.GetRetryAfter().Round(time.Second), err)
	}
	if s := statusOf(err); (s == http.StatusForbidden || s == http.StatusNotFound || s == http.StatusUnauthorized) && hint != "" {
		return fmt.Errorf("%s: %w; %s", what, err, hint)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Permission hints.
const (
	hintContents = "the token needs `contents: write` (workflow permissions) to push the branch"
	hintPulls    = "the token needs `pull-requests: write`; in an organisation also allow GitHub Actions to create pull requests (Settings → Actions → General)"
	hintRead     = "check GITHUB_REPOSITORY and that the token can read the repository"
)

// maxConfigBytes bounds a config file read through the API.
const maxConfigBytes = 1 << 20

// ReadFileAt returns the content of the first of names that exists at ref
// (a branch or a commit SHA) of repo, and its name; nil and "" when none
// exists. comment reads the base branch's config with it: the trusted one,
// not the pull request's.
func ReadFileAt(ctx context.Context, client *github.Client, repo Repo, ref string, names ...string) ([]byte, string, error) {
	for _, name := range names {
		fc, _, resp, err := client.Repositories.GetContents(ctx, repo.Owner, repo.Name, name, &github.RepositoryContentGetOptions{Ref: ref})
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			continue
		}
		if err != nil {
			return nil, "", apiError(fmt.Sprintf("read %s at %s", name, ref), err, hintRead)
		}
		if fc == nil || fc.GetType() != "file" {
			continue
		}
		if fc.GetSize() > maxConfigBytes {
			return nil, "", fmt.Errorf("%s at %s is larger than %d KiB", name, ref, maxConfigBytes>>10)
		}
		s, err := fc.GetContent()
		if err != nil {
			return nil, "", fmt.Errorf("read %s at %s: %w", name, ref, err)
		}
		return []byte(s), name, nil
	}
	return nil, "", nil
}
