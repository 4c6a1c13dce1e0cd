package pullreq

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds how long digestbot waits out GitHub rate limits.
//
// A primary rate limit (403/429 with X-RateLimit-Remaining: 0) is waited
// out until X-RateLimit-Reset; a secondary one (403/429 with Retry-After,
// or naming secondary rate limits) for Retry-After, or a minute when GitHub
// gives no time, as its documentation asks. When the next wait would take
// the total past MaxWait, or after MaxRetries, the rate-limited response is
// returned and go-github reports it as *github.RateLimitError or
// *github.AbuseRateLimitError.
type RetryPolicy struct {
	// MaxWait bounds the total time spent waiting per request. 0 means
	// DefaultMaxWait; negative means never wait.
	MaxWait time.Duration
	// MaxRetries bounds the retries per request. 0 means DefaultMaxRetries.
	MaxRetries int
	// Sleep waits d or until ctx ends (tests inject a fake).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (tests inject a fake).
	Now func() time.Time
	// Notify, when set, is told about each wait (for a log line).
	Notify func(msg string)
}

// Defaults of RetryPolicy.
const (
	DefaultMaxWait    = 60 * time.Second
	DefaultMaxRetries = 5
	// secondaryDefault is the wait when GitHub names no time.
	secondaryDefault = time.Minute
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxWait == 0 {
		p.MaxWait = DefaultMaxWait
	}
	if p.MaxRetries == 0 {
		p.MaxRetries = DefaultMaxRetries
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type retryTransport struct {
	base   http.RoundTripper
	policy RetryPolicy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := t.policy
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(req.Context())
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		wait, why, limited := rateLimitWait(resp, p.Now())
		if !limited {
			return resp, nil
		}
		replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		if p.MaxWait < 0 || attempt >= p.MaxRetries || waited+wait > p.MaxWait || !replayable {
			return resp, nil // go-github turns it into a typed rate limit error
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if p.Notify != nil {
			p.Notify(fmt.Sprintf("GitHub %s on %s %s; waiting %s as GitHub asks (retry %d of %d)",
				why, req.Method, req.URL.Path, wait.Round(time.Second), attempt+1, p.MaxRetries))
		}
		if err := p.Sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		waited += wait
	}
}

// rateLimitWait tells whether resp is a rate limit and how long GitHub asks
// to wait. It leaves resp.Body readable.
func rateLimitWait(resp *http.Response, now time.Time) (time.Duration, string, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, "", false
	}
	h := resp.Header
	if ra := h.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, "secondary rate limit", true
		}
		if at, err := http.ParseTime(ra); err == nil {
			return max(at.Sub(now), 0), "secondary rate limit", true
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			// One second more: the reset time is rounded down to the second.
			return max(time.Unix(reset, 0).Sub(now), 0) + time.Second, "rate limit", true
		}
	}
	// A secondary rate limit without a time: read the body to be sure.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return 0, "", false
	}
	var e struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
	}
	_ = json.Unmarshal(b, &e)
	if strings.Contains(e.DocumentationURL, "secondary-rate-limits") || strings.Contains(e.DocumentationURL, "abuse-rate-limits") ||
		strings.Contains(strings.ToLower(e.Message), "secondary rate limit") || resp.StatusCode == http.StatusTooManyRequests {
		return secondaryDefault, "secondary rate limit", true
	}
	return 0, "", false
}
