// Package testregistry starts an OCI registry for tests, behind a proxy that
// counts requests and injects faults.
//
// Two backends, one API:
//
//   - New: go-containerregistry's in-process registry (pkg/registry).
//   - NewReal: the real registry named by $DIGESTBOT_E2E_REGISTRY (host:port,
//     plain HTTP; CI starts the CNCF distribution registry there). The test
//     is skipped when the variable is unset.
//
// Both sit behind the same httptest server (Host), so the same test code
// runs against either; Both runs a test once per backend.
//
// Isolation on the shared real registry is transparent: every Registry has
// a unique namespace (Namespace, e.g. "t3f9a0c21b7") and the proxy adds it
// to every repository path on the way in and removes it on the way out
// (Location and Link headers, tags/list names). Tests therefore write plain
// repositories ("library/ubuntu"), and an end-to-end test that maps
// docker.io to Host() in .digestbot.yaml (tls: disabled) can keep refs such
// as "ubuntu:20.04" in its files: docker.io/library/ubuntu reaches
// <namespace>/library/ubuntu on the real registry. Counts are keyed by the
// plain repository too. Only SkopeoDigest and BackendRepo see the namespace.
//
// Pushes (PushImage, PushIndex, Tag) go to a second, fault-free and
// uncounted server in front of the same backend, so they never disturb
// counts or trip injected faults.
package testregistry

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Env names the real registry (host:port, plain HTTP) NewReal fronts.
const Env = "DIGESTBOT_E2E_REGISTRY"

// Registry is a running test registry.
type Registry struct {
	front  *httptest.Server // counting + faults, what clients talk to
	direct *httptest.Server // same backend, no faults, not counted (pushes)
	real   string           // real registry host:port, "" when in-process
	ns     string           // namespace on the real registry, "" when in-process
	o      options

	mu       sync.Mutex
	counts   Counts
	inflight int
}

// Counts is a snapshot of the requests the proxy saw. Repositories are the
// plain ones the client used (without the real registry's namespace).
type Counts struct {
	ManifestHead map[string]int // "repo:reference" → HEADs of /v2/<repo>/manifests/<reference>
	ManifestGet  map[string]int // "repo:reference" → GETs
	ManifestPut  map[string]int // "repo:reference" → PUTs
	TagsList     map[string]int // repo → GETs of /v2/<repo>/tags/list
	Blobs        int            // any request under /v2/<repo>/blobs/
	Referrers    int            // GETs of /v2/<repo>/referrers/<digest> (also counted in Other)
	Other        int            // /v2/, _catalog, referrers, …
	Total        int
	// MaxInFlight is the most requests the proxy was serving at once.
	MaxInFlight int
}

func newCounts() Counts {
	return Counts{ManifestHead: map[string]int{}, ManifestGet: map[string]int{}, ManifestPut: map[string]int{}, TagsList: map[string]int{}}
}

// Manifests is the number of manifest HEADs plus GETs.
func (c Counts) Manifests() int {
	n := 0
	for _, v := range c.ManifestHead {
		n += v
	}
	for _, v := range c.ManifestGet {
		n += v
	}
	return n
}

// Gets is the number of manifest GETs (pulls, on Docker Hub).
func (c Counts) Gets() int {
	n := 0
	for _, v := range c.ManifestGet {
		n += v
	}
	return n
}

type options struct {
	user, pass string
	noDigest   bool
	latency    time.Duration
	wraps      []func(http.Handler) http.Handler
	referrers  bool
}

// Opt configures a Registry.
type Opt func(*options)

// WithBasicAuth requires HTTP basic auth on every /v2/ request; without it
// (or with wrong credentials) the proxy answers 401 with
// `WWW-Authenticate: Basic realm="testregistry"`.
func WithBasicAuth(user, pass string) Opt {
	return func(o *options) { o.user, o.pass = user, pass }
}

// WithoutDigestHeader strips Docker-Content-Digest from manifest HEAD and
// GET answers, as some registries and proxies do.
func WithoutDigestHeader() Opt { return func(o *options) { o.noDigest = true } }

// WithReferrersAPI turns on the OCI 1.1 referrers API of the in-process
// registry (New). Without it, clients fall back to the sha256-<hex>
// referrers tag, as with registries that predate the API (the real
// registry NewReal fronts ignores this option).
func WithReferrersAPI() Opt { return func(o *options) { o.referrers = true } }

// WithLatency delays every request by d.
func WithLatency(d time.Duration) Opt { return func(o *options) { o.latency = d } }

// WithHandlerWrap adds a custom fault: wrap receives the handler that serves
// the registry (after auth, latency and digest stripping) and returns the
// handler the proxy calls. Requests are counted before wrap sees them.
// Several wraps nest, the first given outermost.
func WithHandlerWrap(wrap func(http.Handler) http.Handler) Opt {
	return func(o *options) { o.wraps = append(o.wraps, wrap) }
}

// New starts an in-process registry (go-containerregistry) behind the
// counting proxy. It stops when the test ends.
func New(t testing.TB, opts ...Opt) *Registry {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	backend := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(o.referrers))
	return start(t, backend, "", "", opts)
}

// NewReal fronts the real registry named by $DIGESTBOT_E2E_REGISTRY with
// the counting proxy, in a namespace of its own. The test is skipped when
// the variable is unset, and fails when the registry does not answer.
func NewReal(t testing.TB, opts ...Opt) *Registry {
	t.Helper()
	host := os.Getenv(Env)
	if host == "" {
		t.Skipf("%s is not set: no real registry to test against", Env)
	}
	resp, err := http.Get("http://" + host + "/v2/")
	if err != nil {
		t.Fatalf("real registry %s (%s): %v", host, Env, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("real registry %s (%s): GET /v2/ answered %s", host, Env, resp.Status)
	}
	ns := "t" + randomHex(6)
	return start(t, realProxy(host, ns), host, ns, opts)
}

// Both runs f once against an in-process registry ("memory") and once
// against the real one ("distribution", skipped when $DIGESTBOT_E2E_REGISTRY
// is unset). newRegistry starts the backend of the current subtest.
func Both(t *testing.T, f func(t *testing.T, newRegistry func(t testing.TB, opts ...Opt) *Registry)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) { f(t, New) })
	t.Run("distribution", func(t *testing.T) {
		if os.Getenv(Env) == "" {
			t.Skipf("%s is not set: no real registry to test against", Env)
		}
		f(t, NewReal)
	})
}

func start(t testing.TB, backend http.Handler, real, ns string, opts []Opt) *Registry {
	r := &Registry{real: real, ns: ns, counts: newCounts()}
	for _, f := range opts {
		f(&r.o)
	}
	var h http.Handler = backend
	if r.o.noDigest {
		h = stripDigest(h)
	}
	if r.o.user != "" || r.o.pass != "" {
		h = basicAuth(h, r.o.user, r.o.pass)
	}
	if d := r.o.latency; d > 0 {
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			select {
			case <-time.After(d):
			case <-req.Context().Done():
				return
			}
			next.ServeHTTP(w, req)
		})
	}
	for i := len(r.o.wraps) - 1; i >= 0; i-- {
		h = r.o.wraps[i](h)
	}
	r.front = httptest.NewServer(r.count(h))
	r.direct = httptest.NewServer(backend)
	t.Cleanup(func() {
		r.front.CloseClientConnections()
		r.front.Close()
		r.direct.Close()
	})
	return r
}

// Host is the proxy's host:port ("127.0.0.1:port"), plain HTTP.
func (r *Registry) Host() string { return r.front.Listener.Addr().String() }

// PushHost is the host:port of the fault-free, uncounted server in front of
// the same backend, for tests that push with their own client.
func (r *Registry) PushHost() string { return r.direct.Listener.Addr().String() }

// URL is the proxy's base URL ("http://127.0.0.1:port").
func (r *Registry) URL() string { return r.front.URL }

// Ref is Host()/repo:tag, a reference into this registry.
func (r *Registry) Ref(repo, tag string) string { return r.Host() + "/" + repo + ":" + tag }

// Real reports whether a real registry is behind the proxy.
func (r *Registry) Real() bool { return r.real != "" }

// Namespace is the prefix the proxy adds to repositories on the real
// registry ("" in-process). Tests rarely need it: see the package doc.
func (r *Registry) Namespace() string { return r.ns }

// BackendRepo is where repo is stored on the backend: "<namespace>/repo" on
// the real registry, repo in-process.
func (r *Registry) BackendRepo(repo string) string {
	if r.ns == "" {
		return repo
	}
	return r.ns + "/" + repo
}

// Counts returns a snapshot of the requests seen since start or ResetCounts.
func (r *Registry) Counts() Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counts
	c.ManifestHead = clone(c.ManifestHead)
	c.ManifestGet = clone(c.ManifestGet)
	c.ManifestPut = clone(c.ManifestPut)
	c.TagsList = clone(c.TagsList)
	return c
}

// ResetCounts zeroes the counts.
func (r *Registry) ResetCounts() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts = newCounts()
}

func clone(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// pathRe splits /v2/<repo>/<kind>/<rest>; the repository is matched
// greedily so the last /manifests/, /blobs/ or /tags/ wins.
var pathRe = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags|referrers)/(.*)$`)

func (r *Registry) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		c := &r.counts
		c.Total++
		m := pathRe.FindStringSubmatch(req.URL.Path)
		switch {
		case m != nil && m[2] == "manifests":
			key := m[1] + ":" + m[3]
			switch req.Method {
			case http.MethodHead:
				c.ManifestHead[key]++
			case http.MethodGet:
				c.ManifestGet[key]++
			case http.MethodPut:
				c.ManifestPut[key]++
			default:
				c.Other++
			}
		case m != nil && m[2] == "tags":
			c.TagsList[m[1]]++
		case m != nil && m[2] == "blobs":
			c.Blobs++
		case m != nil && m[2] == "referrers":
			c.Referrers++
			c.Other++
		default:
			c.Other++
		}
		r.inflight++
		c.MaxInFlight = max(c.MaxInFlight, r.inflight)
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			r.inflight--
			r.mu.Unlock()
		}()
		next.ServeHTTP(w, req)
	})
}

func basicAuth(next http.Handler, user, pass string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="testregistry"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			if req.Method != http.MethodHead {
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			}
			return
		}
		next.ServeHTTP(w, req)
	})
}

func stripDigest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if m := pathRe.FindStringSubmatch(req.URL.Path); m != nil && m[2] == "manifests" && (req.Method == http.MethodHead || req.Method == http.MethodGet) {
			w = &headerFilter{ResponseWriter: w, drop: "Docker-Content-Digest"}
		}
		next.ServeHTTP(w, req)
	})
}

// headerFilter removes one header just before the status is written.
type headerFilter struct {
	http.ResponseWriter
	drop  string
	wrote bool
}

func (h *headerFilter) WriteHeader(code int) {
	if !h.wrote {
		h.wrote = true
		h.Header().Del(h.drop)
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerFilter) Write(b []byte) (int, error) {
	if !h.wrote {
		h.WriteHeader(http.StatusOK)
	}
	return h.ResponseWriter.Write(b)
}

// realProxy forwards to the real registry, adding ns to every repository.
func realProxy(host, ns string) http.Handler {
	target := &url.URL{Scheme: "http", Host: host}
	strip := func(s string) string { return strings.ReplaceAll(s, "/v2/"+ns+"/", "/v2/") }
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// Keep the proxy's Host so the registry's absolute Location
			// URLs (uploads) point back at the proxy.
			pr.Out.Host = pr.In.Host
			if m := pathRe.FindStringSubmatch(pr.In.URL.Path); m != nil {
				pr.Out.URL.Path = "/v2/" + ns + "/" + m[1] + "/" + m[2] + "/" + m[3]
				pr.Out.URL.RawPath = ""
			}
			if q := pr.Out.URL.Query(); q.Get("from") != "" {
				q.Set("from", ns+"/"+q.Get("from"))
				pr.Out.URL.RawQuery = q.Encode()
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if loc := resp.Header.Get("Location"); loc != "" {
				resp.Header.Set("Location", strip(loc))
			}
			if links := resp.Header.Values("Link"); len(links) > 0 {
				resp.Header.Del("Link")
				for _, l := range links {
					resp.Header.Add("Link", strip(l))
				}
			}
			if resp.StatusCode == http.StatusOK && strings.HasSuffix(resp.Request.URL.Path, "/tags/list") {
				b, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					return err
				}
				var tl map[string]any
				if json.Unmarshal(b, &tl) == nil {
					if name, ok := tl["name"].(string); ok {
						tl["name"] = strings.TrimPrefix(name, ns+"/")
						b, _ = json.Marshal(tl)
					}
				}
				resp.Body = io.NopCloser(bytes.NewReader(b))
				resp.ContentLength = int64(len(b))
				resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			}
			return nil
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// SkopeoDigest asks skopeo for the raw manifest of ref and returns
// "sha256:"+hex(sha256(bytes)), an independent check of a digest. ref is
// relative to this registry: "repo:tag" or "repo@digest". On the real
// registry skopeo talks to it directly (namespace added); in-process it
// talks to the fault-free server. The test is skipped when skopeo is not
// installed.
func (r *Registry) SkopeoDigest(t testing.TB, ref string) string {
	t.Helper()
	bin, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed")
	}
	target := r.direct.Listener.Addr().String() + "/" + ref
	if r.real != "" {
		target = r.real + "/" + r.ns + "/" + ref
	}
	cmd := exec.Command(bin, "inspect", "--raw", "--tls-verify=false", "docker://"+target)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skopeo inspect --raw docker://%s: %v: %s", target, err, strings.TrimSpace(stderr.String()))
	}
	sum := sha256.Sum256(out)
	return fmt.Sprintf("sha256:%x", sum)
}
