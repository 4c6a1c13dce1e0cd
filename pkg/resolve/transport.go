package resolve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ---- transport: per-lookup tracing and TLS modes ----

type traceKey struct{}

// trace records what the registry answered during one attempt.
type trace struct {
	host *hostState
	prev *trace

	mu         sync.Mutex
	manifest   int // last status of a manifest request
	lastStatus int // last status of any request
	retryAfter time.Duration
	netErr     error
	responded  bool
}

func (t *trace) status() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.manifest
}

func (t *trace) lastStatusVal() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastStatus
}

func (t *trace) retryAfterVal() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.retryAfter
}

type traceSnap struct {
	status    int
	netErr    error
	responded bool
}

// last is the most recent attempt that recorded anything.
func (t *trace) last() traceSnap {
	for c := t; c != nil; c = c.prev {
		c.mu.Lock()
		s := traceSnap{status: c.manifest, netErr: c.netErr, responded: c.responded}
		c.mu.Unlock()
		if s.status != 0 || s.netErr != nil || s.responded {
			return s
		}
	}
	return traceSnap{}
}

func (t *trace) record(req *http.Request, resp *http.Response, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if req.Context().Err() == nil || isDial(err) {
			t.netErr = err
		}
		return
	}
	t.responded = true
	if t.host != nil {
		t.host.answered.Store(true)
	}
	t.lastStatus = resp.StatusCode
	if strings.Contains(req.URL.Path, "/manifests/") {
		t.manifest = resp.StatusCode
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" && resp.StatusCode >= 400 {
		t.retryAfter = parseRetryAfter(ra)
	}
}

func parseRetryAfter(s string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// transport is the one http.RoundTripper every registry request goes
// through (lookups, diagnoses, token requests, pings, tag lists). Besides
// routing hosts to a verifying or an insecure TLS config and recording
// answers in a lookup's trace, it enforces what no registry may break:
//
//   - a deadline on every request, body included (reqTimeout), even when
//     the caller gave none: regclient fetches bearer tokens with
//     http.NewRequest, which carries no context;
//   - a size cap on every body (maxBodyFor): a token endpoint that sends
//     512 MiB, or drips it, ends with an error instead of memory or time;
//   - a budget of pages and bytes for tag lists (WithPageBudget): regclient
//     follows rel="next" links for as long as a registry sends them;
//   - no credential over plain HTTP to a host that is not loopback: the
//     Authorization header is dropped (the request then fails as
//     unauthorized, which says what to fix).
//
// Redirects drop Authorization when scheme, host or port change
// (checkRedirect); net/http alone keeps it across ports and subdomains.
//
// For traced requests (lookups, which own their retries) it removes
// Retry-After from error answers so regclient does not sleep on it; the
// lookup honours it instead.
type transport struct {
	base, insecure *http.Transport
	insecureHosts  map[string]bool
	// configured holds the hosts whose TLS mode the config sets; others on
	// loopback fall back to plain HTTP as Docker does (plainHTTP remembers
	// which did).
	configured     map[string]bool
	plainHTTP      sync.Map
	requests, gets *atomic.Int64
	// reqTimeout bounds one request, body included.
	reqTimeout time.Duration
	// stripped counts Authorization headers dropped on plain HTTP.
	stripped atomic.Int64
	// log, when set, hears of every request sent (WithRequestLog).
	log func(RequestInfo)
}

// RequestInfo describes one registry request for --debug: what was asked
// and how it ended. It holds no header, no query and no body, so it can
// carry no credential.
type RequestInfo struct {
	Method   string
	Scheme   string
	Host     string
	Path     string
	Status   int // 0 when there was no answer
	Duration time.Duration
	Err      error
}

// Body caps. Real manifests are a few KiB (registries refuse more than
// 4 MiB), token answers under 10 KiB, tag-list pages under 1 MiB.
const (
	maxTokenBody    = 1 << 20
	maxManifestBody = 8 << 20
	maxTagPageBody  = 8 << 20
	maxBlobBody     = 16 << 20
	// DefaultTagPages and DefaultTagBytes bound one tag listing.
	DefaultTagPages = 100
	DefaultTagBytes = 16 << 20
)

// Errors of the transport; they wrap ErrRegistry so callers can treat them
// as the registry's fault.
var (
	errBodyTooLarge = fmt.Errorf("%w: the registry's answer is larger than digestbot accepts", ErrRegistry)
	// ErrPageBudget: a tag listing used up its WithPageBudget. regclient
	// then returns the pages read so far along with the error.
	ErrPageBudget = fmt.Errorf("%w: the registry's tag list has more pages than digestbot reads", ErrRegistry)
)

func newTransport(o options, insecureHosts map[string]bool, requests, gets *atomic.Int64) *transport {
	base := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: o.lookupTimeout, KeepAlive: 30 * time.Second}
	base.DialContext = dialer.DialContext
	base.MaxIdleConnsPerHost = o.concurrency
	base.ResponseHeaderTimeout = o.lookupTimeout + time.Second
	base.MaxResponseHeaderBytes = 256 << 10
	insecure := base.Clone()
	insecure.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //#nosec G402 -- registries.<name>.tls: insecure asks for it
	return &transport{base: base, insecure: insecure, insecureHosts: insecureHosts, requests: requests, gets: gets, reqTimeout: o.lookupTimeout, log: o.requestLog}
}

// client is the http.Client regclient is given.
func (t *transport) client() *http.Client {
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// checkRedirect follows at most 10 redirects and drops Authorization when a
// redirect leaves the scheme, host and port the credential was sent to.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	prev := via[len(via)-1]
	if req.URL.Scheme != prev.URL.Scheme || hostPort(req.URL) != hostPort(prev.URL) {
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
	}
	return nil
}

// hostPort is host:port with the scheme's default port made explicit.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := t.base
	if t.insecureHosts[req.URL.Host] {
		rt = t.insecure
	}
	t.requests.Add(1)
	if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/") {
		t.gets.Add(1)
	}
	budget, _ := req.Context().Value(pageBudgetKey{}).(*pageBudget)
	if budget != nil && isTagList(req) && budget.pages.Add(-1) < 0 {
		return nil, ErrPageBudget
	}
	// A deadline for this request, body included, within the caller's.
	ctx, cancel := context.WithTimeout(req.Context(), t.reqTimeout)
	req = req.WithContext(ctx)
	if _, ok := t.plainHTTP.Load(req.URL.Host); ok && req.URL.Scheme == "https" {
		req = withScheme(req, "http")
	}
	resp, err := t.send(rt, req)
	if err != nil && req.URL.Scheme == "https" && !t.configured[req.URL.Host] && loopbackHost(req.URL.Host) && notTLS(err) && (req.Body == nil || req.GetBody != nil) {
		// Docker treats registries on loopback as insecure: HTTPS first,
		// then plain HTTP. Users expect `localhost:5000/app` to just work.
		t.plainHTTP.Store(req.URL.Host, true)
		req = withScheme(req, "http")
		resp, err = t.send(rt, req)
	}
	if tr, ok := req.Context().Value(traceKey{}).(*trace); ok {
		tr.record(req, resp, err)
		if resp != nil && resp.StatusCode >= 400 {
			resp.Header.Del("Retry-After")
		}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	limit := maxBodyFor(req)
	if resp.ContentLength > limit {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("%w (%d bytes from %s, at most %d)", errBodyTooLarge, resp.ContentLength, req.URL.Host, limit)
	}
	b := &cappedBody{rc: resp.Body, left: limit, cancel: cancel}
	if budget != nil && isTagList(req) {
		b.budget = budget
	}
	resp.Body = b
	return resp, nil
}

// send sends req, without its Authorization header when it would travel in
// plain text to a host that is not loopback.
func (t *transport) send(rt http.RoundTripper, req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !loopbackHost(req.URL.Host) && req.Header.Get("Authorization") != "" {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
		t.stripped.Add(1)
	}
	if t.log == nil {
		return rt.RoundTrip(req)
	}
	start := time.Now()
	resp, err := rt.RoundTrip(req)
	info := RequestInfo{Method: req.Method, Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path, Duration: time.Since(start), Err: err}
	if resp != nil {
		info.Status = resp.StatusCode
	}
	t.log(info)
	return resp, err
}

// maxBodyFor is the body cap of a request, by what it asks for.
func maxBodyFor(req *http.Request) int64 {
	p := req.URL.Path
	switch {
	case !strings.HasPrefix(p, "/v2/"):
		return maxTokenBody // token endpoints and anything else
	case strings.Contains(p, "/manifests/"):
		return maxManifestBody
	case isTagList(req):
		return maxTagPageBody
	case strings.Contains(p, "/blobs/"):
		return maxBlobBody
	}
	return maxTokenBody
}

func isTagList(req *http.Request) bool { return strings.HasSuffix(req.URL.Path, "/tags/list") }

// cappedBody fails reads past its limit and ends the request's deadline
// when closed.
type cappedBody struct {
	rc     io.ReadCloser
	left   int64
	budget *pageBudget
	cancel context.CancelFunc
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a larger one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.budget != nil && b.budget.bytes.Add(-int64(n)) < 0 {
		return n, ErrPageBudget
	}
	return n, err
}

func (b *cappedBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

type pageBudgetKey struct{}

// pageBudget is what is left of one tag listing's pages and bytes.
type pageBudget struct{ pages, bytes atomic.Int64 }

// WithPageBudget bounds the tag-list requests made with ctx to pages
// requests and bytes of bodies in all; past either, requests fail with an
// error wrapping ErrRegistry. Use one per listing: regclient's TagList
// follows rel="next" links for as long as the registry sends them.
func WithPageBudget(ctx context.Context, pages int, bytes int64) context.Context {
	b := &pageBudget{}
	b.pages.Store(int64(pages))
	b.bytes.Store(bytes)
	return context.WithValue(ctx, pageBudgetKey{}, b)
}

// withScheme returns a copy of req sent with another scheme.
func withScheme(req *http.Request, scheme string) *http.Request {
	r := req.Clone(req.Context())
	r.URL.Scheme = scheme
	if req.GetBody != nil {
		r.Body, _ = req.GetBody()
	}
	return r
}

// loopbackHost reports whether host[:port] is localhost or a loopback IP.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// notTLS reports whether err says the server did not speak TLS at all.
func notTLS(err error) bool {
	var rh tls.RecordHeaderError
	return errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}
