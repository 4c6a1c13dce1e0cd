package pullreq

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/plan"
)

// TestEndlessPagination: an API that always says there is a next page is
// read for at most MaxListPages pages.
func TestEndlessPagination(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?page=%d>; rel="next"`, "http://"+r.Host, r.URL.Path, n+1))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[{"id":1,"body":"x","user":{"login":"someone"}}]`)
	}))
	t.Cleanup(srv.Close)
	gh, err := NewClient(context.Background(), "tok", srv.URL+"/api/v3")
	if err != nil {
		t.Fatal(err)
	}
	_, err = listAll(context.Background(), func(lo github.ListOptions) ([]*github.IssueComment, *github.Response, error) {
		return gh.Issues.ListComments(context.Background(), "o", "r", 1, &github.IssueListCommentsOptions{ListOptions: lo})
	})
	if !errors.Is(err, ErrTooManyPages) {
		t.Fatalf("err = %v, want ErrTooManyPages", err)
	}
	if n := calls.Load(); n > MaxListPages {
		t.Errorf("%d pages requested, at most %d", n, MaxListPages)
	}
}

// TestPhaseDeadline: a GitHub API that never answers ends Comment at its
// Timeout.
func TestPhaseDeadline(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	gh, err := NewClient(context.Background(), "tok", srv.URL+"/api/v3")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Comment(context.Background(), gh, Repo{"o", "r"}, 1, CommentOptions{Timeout: 500 * time.Millisecond}, nil, nil)
	if err == nil {
		t.Fatal("no error from a hanging API")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %s, deadline 500ms", el)
	}
}

// TestAPIErrorsRedacted: GitHub error bodies that echo credentials are
// redacted in digestbot's error text.
func TestAPIErrorsRedacted(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"message":"bad credentials: %s and https://x:pw-secret-9@host/","documentation_url":"https://docs"}`, r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	gh, err := NewClient(context.Background(), "ghs_tokenSecret123", srv.URL+"/api/v3")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = gh.PullRequests.Get(context.Background(), "o", "r", 1)
	msg := apiError("read pull request #1", err, hintRead).Error()
	for _, s := range []string{"ghs_tokenSecret123", "pw-secret-9"} {
		if strings.Contains(msg, s) {
			t.Errorf("secret %q in %q", s, msg)
		}
	}
	var er *github.ErrorResponse
	if !errors.As(apiError("x", err, ""), &er) {
		t.Errorf("the redacted error no longer unwraps to *github.ErrorResponse")
	}
}

// TestBackslashIsOrdinary: a path holding a backslash is a file name like
// any other for pr.
func TestBackslashIsOrdinary(t *testing.T) {
	t.Parallel()
	fc := fileChange(`odd\name/Dockerfile`, "FROM x\n", 0o644, finding.Change{Line: 1, Column: 6, Old: "x", NewDigest: digest("1"), Status: finding.Unpinned})
	w, err := wanted([]plan.FileChange{fc})
	if err != nil || len(w) != 1 || w[0].path != `odd\name/Dockerfile` {
		t.Fatalf("wanted = %+v, %v", w, err)
	}
	for _, bad := range []string{"/etc/passwd", "../x", "a/../../x", "a/.."} {
		if _, err := wanted([]plan.FileChange{fileChange(bad, "FROM x\n", 0o644)}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
