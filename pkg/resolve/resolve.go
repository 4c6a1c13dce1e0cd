// Package resolve turns image tags into digests with regclient: one shared
// client, one HEAD per unique (registry, repository, tag), bounded
// concurrency, and a deadline on every lookup.
//
// How it uses regclient (v0.11.7), and why:
//
//   - Hosts. Every registry of the config becomes a regclient config.Host
//     {Name, Hostname: host, TLS, ReqConcurrent: concurrency}. A mapped
//     registry ("docker.io" → "127.0.0.1:5000") sends all its requests to
//     the mapped host and never to the original one (no fallback).
//   - Credentials come from the Docker config ($DOCKER_CONFIG or
//     ~/.docker/config.json: auths, credHelpers, credsStore, and
//     $DOCKER_AUTH_CONFIG), read by this package (creds.go) rather than by
//     regclient, so that credential helpers run with a deadline and capped
//     output, and only for hosts a run contacts (Prepare). Each regclient
//     host entry carries only the credential of the host it contacts: a
//     registry mapped to another host gets that host's credential, never
//     the name's (a repository's config must not be able to send the
//     Docker Hub password or the workflow token elsewhere). A credential
//     helper is asked about the contacted host. WithGitHubToken adds
//     x-access-token:<token> for ghcr.io itself when nothing else exists.
//   - Every request goes through one transport (transport.go) that gives
//     it a deadline and caps its body, bounds tag-list pagination, never
//     sends a credential over plain HTTP to a host that is not loopback,
//     and drops Authorization on redirects to another host or port.
//   - Retries are owned by this package, per lookup: regclient is set to one
//     attempt per request (plus its authentication round trip) with a 1 ms
//     backoff, because its backoff state is per host and queues requests
//     behind each other (50 lookups to a dead host would wait minutes). A
//     lookup retries 429/408/5xx and reset connections with exponential
//     backoff (honouring Retry-After), connection refused once, and never
//     DNS or TLS failures; all of it within the lookup timeout.
//   - Short-circuit: once a host is found unreachable, its in-flight
//     lookups are cancelled and its remaining keys fail at once with the
//     same error, so a dead host costs one lookup's time, not one per tag.
//     Failures that may be one repository's alone (a connection reset after
//     it was made, no answer in time, a 429 asking to wait longer than a
//     lookup may take) fail that repository's remaining keys at once, and
//     the host's only when the host does not answer a ping either (or, for
//     rate limits, a second repository is told to wait too): one stalled
//     or blocked repository never takes the others on its host down.
//   - HEAD only: ManifestHead with WithManifestRequireDigest; regclient falls
//     back to GET only when the registry omits Docker-Content-Digest (and
//     then verifies the body against any digest header). This package also
//     falls back to GET when HEAD is not allowed (405/501) or carries no
//     usable media type.
package resolve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/regclient/regclient"
	rcconfig "github.com/regclient/regclient/config"
	"github.com/regclient/regclient/scheme"
	"github.com/regclient/regclient/scheme/reg"
	"github.com/regclient/regclient/types/errs"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/ref"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/imgref"
)

// Key identifies one tag to resolve. Registry and Repository are normalised
// (docker.io, library/nginx), as imgref.Ref gives them.
type Key struct {
	Registry, Repository, Tag string
}

// String renders the key as registry/repository:tag for messages.
func (k Key) String() string { return k.Registry + "/" + k.Repository + ":" + k.Tag }

// Result is what a tag points to now.
type Result struct {
	// Digest of the manifest list / OCI index when the tag is multi-platform,
	// of the single manifest otherwise. Always a valid sha256/sha512 digest
	// when Err is nil.
	Digest    string
	MediaType string
	IsIndex   bool
	// Err says why the tag could not be resolved; it wraps one of the
	// sentinel errors in errors.go and reads as one line naming the registry
	// and what to do.
	Err error
}

// Defaults.
const (
	DefaultConcurrency   = 16
	DefaultLookupTimeout = 10 * time.Second
	DefaultRunTimeout    = 5 * time.Minute
	// DefaultAttempts bounds the attempts of one lookup on retryable
	// failures (429, 408, 5xx, reset connections).
	DefaultAttempts = 4
	// DefaultRetryDelay is the first delay between attempts; it doubles
	// (with jitter) up to maxRetryDelay.
	DefaultRetryDelay = 250 * time.Millisecond
	maxRetryDelay     = 4 * time.Second
	// refusedAttempts bounds attempts on "connection refused": a registry
	// restarting gets one more chance, a closed port fails fast.
	refusedAttempts = 2
)

// GitHubTokenUser is the user name sent with a GitHub token to ghcr.io.
const GitHubTokenUser = "x-access-token"

// GitHubRegistry is the only host the GitHub token is sent to by default.
const GitHubRegistry = "ghcr.io"

// Resolver resolves tags to digests. It is safe for concurrent use.
type Resolver struct {
	cfg *config.Config
	o   options

	// rc is rebuilt (prepare) once credential helpers have answered.
	rc      atomic.Pointer[regclient.RegClient]
	buildMu sync.Mutex
	tr      *transport
	red     *redactor
	infos   map[string]*hostInfo // configured registries
	docker  *dockerCreds
	helpers *helperCreds
	// credWarn says why the Docker config could not be read, "" when fine.
	credWarn string

	lookups, requests, retries, shorts, gets atomic.Int64
}

type options struct {
	concurrency     int
	lookupTimeout   time.Duration
	githubToken     string
	githubTokenHost string
	userAgent       string
	attempts        int
	retryDelay      time.Duration
	dockerConfig    *string
	requestLog      func(RequestInfo)
}

// Opt configures a Resolver.
type Opt func(*options)

// WithRequestLog calls f after every registry request (--debug). f must
// be safe for concurrent use.
func WithRequestLog(f func(RequestInfo)) Opt { return func(o *options) { o.requestLog = f } }

// CredentialSource says where the credential sent to registry's host comes
// from ("the Docker config", "credential helper X", "the GitHub token"), or
// "none". It names the source, never the credential.
func (r *Resolver) CredentialSource(registry string) string {
	if _, src := r.credFor(r.loginFor(registry)); src != "" {
		return src
	}
	return "none"
}

// WithConcurrency bounds how many lookups run at once (all hosts together);
// per-host limits are raised to match.
func WithConcurrency(n int) Opt { return func(o *options) { o.concurrency = n } }

// WithLookupTimeout bounds each lookup, retries included. It also bounds
// every single request (token requests included) and every credential
// helper run.
func WithLookupTimeout(d time.Duration) Opt { return func(o *options) { o.lookupTimeout = d } }

// WithGitHubToken authenticates ghcr.io with a workflow token when the
// Docker config has no credential for it. The token goes only to ghcr.io
// itself: a config that maps ghcr.io to another host does not take it along.
func WithGitHubToken(tok string) Opt { return func(o *options) { o.githubToken = tok } }

// WithGitHubTokenHost names the host the GitHub token may be sent to
// instead of ghcr.io (a GitHub Enterprise container registry, or a test
// registry that ghcr.io is mapped to). It comes from the caller, never from
// a repository's config.
func WithGitHubTokenHost(host string) Opt { return func(o *options) { o.githubTokenHost = host } }

// DefaultUserAgent is sent to registries unless WithUserAgent says otherwise.
const DefaultUserAgent = "digestbot"

// WithUserAgent sets the User-Agent sent to registries.
func WithUserAgent(ua string) Opt { return func(o *options) { o.userAgent = ua } }

// WithRetry sets how many attempts one lookup makes on retryable failures
// (at least 1) and the first delay between them (doubling, with jitter).
// Retries never outlive the lookup timeout.
func WithRetry(attempts int, delay time.Duration) Opt {
	return func(o *options) { o.attempts, o.retryDelay = attempts, delay }
}

// WithDockerConfig reads credentials from dir/config.json instead of
// $DOCKER_CONFIG or ~/.docker/config.json ($DOCKER_AUTH_CONFIG is then
// ignored too). An empty dir means no Docker credentials at all.
func WithDockerConfig(dir string) Opt { return func(o *options) { o.dockerConfig = &dir } }

// hostInfo is what messages need to know about a registry.
type hostInfo struct {
	name     string // registry name as in keys
	hostname string // host actually contacted
	mapped   bool   // hostname comes from the config's registries.<name>.host
	// loginFor is the host whose credentials the registry is sent: always
	// the host contacted (normalised: docker.io for Docker Hub), never the
	// name of a registry mapped elsewhere.
	loginFor string
	cred     string // where credentials come from, "" when none
	helper   string // the credential helper asked, when it gave none
	tls      string
}

// New returns a Resolver for the registries configured in cfg. Credentials
// come from the Docker config ($DOCKER_CONFIG or ~/.docker/config.json) and
// its credential helpers, which run only when a host they serve is first
// contacted.
func New(cfg *config.Config, opts ...Opt) (*Resolver, error) {
	if cfg == nil {
		cfg = config.Default()
	}
	o := options{
		concurrency:   DefaultConcurrency,
		lookupTimeout: DefaultLookupTimeout,
		attempts:      DefaultAttempts,
		retryDelay:    DefaultRetryDelay,
		userAgent:     DefaultUserAgent,
	}
	for _, f := range opts {
		f(&o)
	}
	if o.concurrency < 1 {
		o.concurrency = DefaultConcurrency
	}
	if o.lookupTimeout <= 0 {
		o.lookupTimeout = DefaultLookupTimeout
	}
	if o.attempts < 1 {
		o.attempts = 1
	}
	if o.retryDelay <= 0 {
		o.retryDelay = DefaultRetryDelay
	}
	if o.githubTokenHost == "" {
		o.githubTokenHost = GitHubRegistry
	}
	r := &Resolver{cfg: cfg, o: o, red: &redactor{}, infos: map[string]*hostInfo{}, helpers: newHelperCreds()}
	r.red.add(o.githubToken)

	dc, err := loadDockerCreds(o.dockerConfig)
	if err != nil {
		r.credWarn = "the Docker config could not be read (" + r.red.clean(err.Error()) + ")"
	}
	r.docker = dc
	for _, c := range dc.static {
		r.red.add(c.pass)
		r.red.add(c.token)
	}

	insecure := map[string]bool{}
	configured := map[string]bool{} // hosts whose TLS the config decides
	for rawName, s := range cfg.Registries {
		name := normRegistry(rawName)
		info := &hostInfo{name: name, hostname: defaultHostname(name), loginFor: name, tls: s.TLS}
		if s.Host != "" && s.Host != name {
			info.hostname, info.mapped, info.loginFor = s.Host, true, normRegistry(s.Host)
		}
		if s.TLS == config.TLSInsecure {
			insecure[info.hostname] = true
		}
		configured[info.hostname] = true
		r.infos[name] = info
	}
	r.tr = newTransport(o, insecure, &r.requests, &r.gets)
	r.tr.configured = configured
	r.rc.Store(r.build())
	return r, nil
}

// credFor returns the credential sent to a contacted host (normalised) and
// where it comes from: the Docker config's entry or credential helper for
// that very host, else the GitHub token when host is the token's host.
func (r *Resolver) credFor(host string) (cred, string) {
	if prog := r.docker.helperFor(host); prog != "" {
		r.helpers.mu.Lock()
		c := r.helpers.creds[host]
		r.helpers.mu.Unlock()
		if !c.empty() {
			return c, "credential helper " + prog
		}
	} else if c, ok := r.docker.static[host]; ok {
		return c, "the Docker config"
	}
	if r.o.githubToken != "" && host == r.o.githubTokenHost {
		return cred{user: GitHubTokenUser, pass: r.o.githubToken}, "the GitHub token"
	}
	return cred{}, ""
}

// build returns a regclient client for the config's registries and the
// credentials known so far. Each host entry carries only the credential of
// the host it contacts (see credFor); nothing is merged across names.
func (r *Resolver) build() *regclient.RegClient {
	n := int64(r.o.concurrency)
	var hosts []rcconfig.Host
	withCred := func(h *rcconfig.Host, c cred) {
		h.User, h.Pass, h.Token = c.user, c.pass, c.token
		h.ReqConcurrent = n
	}
	seen := map[string]bool{}
	for name, info := range r.infos {
		h := rcconfig.HostNewName(name)
		h.TLS = tlsConf(info.tls)
		h.CredHost = ""
		if info.mapped {
			h.Hostname = info.hostname
		}
		c, _ := r.credFor(info.loginFor)
		withCred(h, c)
		hosts = append(hosts, *h)
		seen[name] = true
	}
	// Hosts the config does not name, contacted under their own name.
	unconfigured := map[string]bool{imgref.DefaultRegistry: true}
	for host := range r.docker.static {
		unconfigured[host] = true
	}
	for host := range r.docker.helpers {
		unconfigured[host] = true
	}
	r.helpers.mu.Lock()
	for host := range r.helpers.done {
		unconfigured[host] = true
	}
	r.helpers.mu.Unlock()
	if r.o.githubToken != "" {
		unconfigured[r.o.githubTokenHost] = true
		unconfigured[GitHubRegistry] = true
	}
	for host := range unconfigured {
		if seen[host] {
			continue
		}
		h := rcconfig.HostNewName(host)
		h.CredHost = ""
		c, _ := r.credFor(host)
		withCred(h, c)
		hosts = append(hosts, *h)
	}
	rcOpts := []regclient.Opt{
		regclient.WithSlog(slog.New(slog.NewTextHandler(io.Discard, nil))),
		regclient.WithConfigHostDefault(rcconfig.Host{ReqConcurrent: n}),
		regclient.WithRegOpts(
			reg.WithHTTPClient(r.tr.client()),
			reg.WithRetryLimit(1),
			reg.WithDelay(time.Millisecond, time.Millisecond),
		),
		regclient.WithConfigHost(hosts...),
	}
	if r.o.userAgent != "" {
		rcOpts = append(rcOpts, regclient.WithUserAgent(r.o.userAgent))
	}
	return regclient.New(rcOpts...)
}

// credLabel describes a credential source for messages about a registry.
func credLabel(src string, info *hostInfo) string {
	if src == "" {
		return ""
	}
	if info.mapped {
		return src + " for " + info.hostname
	}
	return src
}

// Prepare runs, once per host and Resolver, the credential helpers that
// serve the hosts registries are sent to, each within the lookup timeout
// and with its output capped; then the client uses what they answered.
// Resolve calls it; callers that contact other registries through Client
// call it first.
func (r *Resolver) Prepare(ctx context.Context, registries ...string) {
	hosts := make([]string, 0, len(registries))
	for _, reg := range registries {
		hosts = append(hosts, r.loginFor(reg))
	}
	todo := map[string]string{}
	r.helpers.mu.Lock()
	for _, host := range hosts {
		if prog := r.docker.helperFor(host); prog != "" && !r.helpers.done[host] {
			r.helpers.done[host] = true
			todo[host] = prog
		}
	}
	r.helpers.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	var wg sync.WaitGroup
	for host, prog := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := runHelper(ctx, prog, helperAddress(host), r.o.lookupTimeout)
			r.red.add(c.pass)
			r.red.add(c.token)
			r.helpers.mu.Lock()
			r.helpers.creds[host] = c
			if err != nil {
				r.helpers.warns[host] = err.Error()
			}
			r.helpers.mu.Unlock()
		}()
	}
	wg.Wait()
	r.buildMu.Lock()
	r.rc.Store(r.build())
	r.buildMu.Unlock()
}

// Client returns the shared regclient client, configured with the hosts and
// credentials of this Resolver (one attempt per request: callers own
// retries and deadlines). Call Prepare for the registries it will contact
// first, so credential helpers have answered.
func (r *Resolver) Client() *regclient.RegClient { return r.rc.Load() }

// HostFor returns the host requests for registry are sent to: the mapped
// host from the config, registry-1.docker.io for docker.io, else the
// registry itself.
func (r *Resolver) HostFor(registry string) string { return r.infoFor(registry).hostname }

// Mapped reports whether registry is sent to another host by the config.
func (r *Resolver) Mapped(registry string) bool { return r.infoFor(registry).mapped }

// Stats counts the work done so far.
type Stats struct {
	Lookups        int64 // unique keys looked up (failures included)
	Requests       int64 // HTTP requests sent by lookups and Client() users
	ManifestGets   int64 // manifest GETs (fallbacks when HEAD gives no digest)
	Retries        int64 // lookup attempts beyond the first
	ShortCircuited int64 // keys failed without a request because their host was down
}

// Stats returns the counters.
func (r *Resolver) Stats() Stats {
	return Stats{
		Lookups:        r.lookups.Load(),
		Requests:       r.requests.Load(),
		ManifestGets:   r.gets.Load(),
		Retries:        r.retries.Load(),
		ShortCircuited: r.shorts.Load(),
	}
}

// Close releases the client's resources.
func (r *Resolver) Close() error {
	if r.tr != nil {
		r.tr.base.CloseIdleConnections()
		r.tr.insecure.CloseIdleConnections()
	}
	return nil
}

// hostState is the state of one contacted host during one Resolve call.
type hostState struct {
	ctx      context.Context
	cancel   context.CancelFunc
	answered atomic.Bool // any HTTP response seen
	// strikes counts the repositories marked down by rate limits (see
	// maybeShort).
	strikes atomic.Int32
	probe   sync.Once
	mu      sync.Mutex
	dead    *Error
}

func (hs *hostState) fail(e *Error) {
	hs.mu.Lock()
	if hs.dead == nil {
		hs.dead = e
	}
	hs.mu.Unlock()
	hs.cancel()
}

func (hs *hostState) deadErr() *Error {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.dead
}

// repoProbe remembers, per repository, whether it exists (for 404 messages)
// and whether it is down.
type repoProbe struct {
	once   sync.Once
	exists int // 1 yes, 0 no, -1 unknown

	mu   sync.Mutex
	dead *Error
}

// fail marks the repository down; it reports whether it was up.
func (p *repoProbe) fail(e *Error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead != nil {
		return false
	}
	p.dead = e
	return true
}

func (p *repoProbe) deadErr() *Error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dead
}

type run struct {
	r      *Resolver
	parent context.Context
	mu     sync.Mutex
	hosts  map[string]*hostState
	repos  map[string]*repoProbe
}

func (rn *run) host(hostname string) *hostState {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	hs := rn.hosts[hostname]
	if hs == nil {
		ctx, cancel := context.WithCancel(rn.parent)
		hs = &hostState{ctx: ctx, cancel: cancel}
		rn.hosts[hostname] = hs
	}
	return hs
}

func (rn *run) repo(k Key) *repoProbe {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	id := k.Registry + "/" + k.Repository
	p := rn.repos[id]
	if p == nil {
		p = &repoProbe{exists: -1}
		rn.repos[id] = p
	}
	return p
}

// Resolve looks up every key once, concurrently, and returns a result for
// each. progress, when not nil, is called after each lookup (never
// concurrently), with the number of unique keys done and in total.
//
// Each lookup has its own deadline (WithLookupTimeout) and also ends with
// ctx: the whole-run deadline is the caller's. Keys left when ctx ends fail
// with ErrTimeout. When a host is unreachable, its remaining keys fail at
// once with the same error (see the package documentation).
//
// Resolve is a Batch given every key at once.
func (r *Resolver) Resolve(ctx context.Context, keys []Key, progress func(done, total int)) map[Key]Result {
	b := r.Start(ctx, progress)
	b.Add(keys...)
	return b.Wait()
}

// Batch resolves keys as they are added, so a caller can look tags up
// while it is still finding them (the plan adds each tag as the scan
// yields it): the run then takes about as long as the longer of the two,
// not their sum. Each unique key is looked up once, by at most the
// Resolver's concurrency of workers, which start as keys arrive and
// share the Resolver's client and connections.
//
// Add and Wait may be called from any goroutine; Add never blocks on a
// lookup. Every Add must happen before Wait.
type Batch struct {
	r        *Resolver
	ctx      context.Context
	rn       *run
	progress func(done, total int)
	wg       sync.WaitGroup

	mu sync.Mutex
	// asked holds every key added, as given; results are kept by norm.
	asked   map[Key]struct{}
	uniq    map[Key]struct{}
	queue   []Key
	running int // workers started and not yet gone
	busy    int // workers in a lookup
	done    int
	waited  bool
	results map[Key]Result
	// prep runs the credential helpers of each registry once, before its
	// first lookup (Prepare), and makes that registry's other lookups
	// wait for them.
	prep map[string]*sync.Once
}

// Start begins a Batch. Its lookups end with ctx, each within the lookup
// timeout. progress, when not nil, is called after each lookup (never
// concurrently) with the unique keys done and added so far.
func (r *Resolver) Start(ctx context.Context, progress func(done, total int)) *Batch {
	return &Batch{
		r: r, ctx: ctx, progress: progress,
		rn:      &run{r: r, parent: ctx, hosts: map[string]*hostState{}, repos: map[string]*repoProbe{}},
		asked:   map[Key]struct{}{},
		uniq:    map[Key]struct{}{},
		results: map[Key]Result{},
		prep:    map[string]*sync.Once{},
	}
}

// Add queues the keys not seen before for lookup and returns at once. A
// key without a tag is the same lookup as :latest.
func (b *Batch) Add(keys ...Key) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waited {
		panic("resolve: Batch.Add after Wait")
	}
	for _, k := range keys {
		b.asked[k] = struct{}{}
		n := norm(k)
		if _, ok := b.uniq[n]; ok {
			continue
		}
		b.uniq[n] = struct{}{}
		b.queue = append(b.queue, n)
		if _, ok := b.prep[n.Registry]; !ok {
			b.prep[n.Registry] = new(sync.Once)
		}
	}
	// Workers are started lazily, one per queued key up to the
	// concurrency, and leave when the queue is empty, so an idle Batch
	// holds no goroutine.
	for b.running < b.r.o.concurrency && b.running-b.busy < len(b.queue) {
		b.running++
		b.wg.Add(1)
		go b.work()
	}
}

// work looks keys up until the queue is empty.
func (b *Batch) work() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		k := b.queue[0]
		b.queue = b.queue[1:]
		b.busy++
		once := b.prep[k.Registry]
		b.mu.Unlock()

		once.Do(func() { b.r.Prepare(b.ctx, k.Registry) })
		res := b.rn.lookup(k)
		b.r.lookups.Add(1)

		b.mu.Lock()
		b.results[k] = res
		b.busy--
		b.done++
		if b.progress != nil {
			b.progress(b.done, len(b.uniq))
		}
		b.mu.Unlock()
	}
}

// Wait waits for every lookup and returns a result for each key added (as
// it was added). The Batch is done: Add must not be called again.
func (b *Batch) Wait() map[Key]Result {
	b.mu.Lock()
	b.waited = true
	b.mu.Unlock()
	b.wg.Wait()
	for _, hs := range b.rn.hosts {
		hs.cancel()
	}
	out := make(map[Key]Result, len(b.asked))
	for k := range b.asked {
		out[k] = b.results[norm(k)]
	}
	return out
}

func norm(k Key) Key {
	if k.Tag == "" {
		k.Tag = imgref.DefaultTag
	}
	return k
}

// lookup resolves one unique key, with retries.
func (rn *run) lookup(k Key) Result {
	r := rn.r
	info := r.infoFor(k.Registry)
	via := ""
	if info.mapped {
		via = info.hostname
	}
	hs := rn.host(info.hostname)
	if e := hs.deadErr(); e != nil {
		r.shorts.Add(1)
		return Result{Err: e.forKey(k, via)}
	}
	rp := rn.repo(k)
	if e := rp.deadErr(); e != nil {
		r.shorts.Add(1)
		return Result{Err: e.forKey(k, via)}
	}
	if err := rn.parent.Err(); err != nil {
		return Result{Err: &Error{Key: k, Via: via, Kind: ErrTimeout, What: "not looked up: " + ctxWhat(rn.parent), Hint: "allow the run more time", Cause: err}}
	}
	mk := func(kind error, what, hint string, status int, cause error) *Error {
		return &Error{Key: k, Via: via, Kind: kind, What: what, Hint: hint, Status: status, Cause: cause}
	}
	rf, err := k.Ref()
	if err != nil {
		return Result{Err: mk(ErrInvalidRef, "not a valid image reference", "this is a bug in digestbot; please report it", 0, err)}
	}

	ctx, cancel := context.WithTimeout(hs.ctx, r.o.lookupTimeout)
	defer cancel()
	var prev *trace
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			r.retries.Add(1)
		}
		tr := &trace{host: hs, prev: prev}
		actx := context.WithValue(ctx, traceKey{}, tr)
		m, err := r.Client().ManifestHead(actx, rf, regclient.WithManifestRequireDigest())
		if err != nil && (errors.Is(err, errs.ErrUnsupportedMediaType) || tr.status() == http.StatusMethodNotAllowed || tr.status() == http.StatusNotImplemented) {
			// HEAD answered without a usable media type, or is not allowed: read the manifest.
			m, err = r.Client().ManifestGet(actx, rf)
		}
		if err == nil {
			return rn.result(k, m, mk)
		}
		e, retry, wait := rn.classify(ctx, hs, k, info, err, tr, attempt, mk)
		if e.Kind == ErrNotFound {
			rn.explainNotFound(ctx, k, rf, e)
		}
		limit := r.o.attempts
		if isRefused(tr.netErr) {
			limit = min(limit, refusedAttempts)
		}
		if !retry || attempt >= limit {
			// A host's failure copied from another lookup (short-circuit)
			// already says how many attempts it took: say it once.
			if attempt > 1 && e.Kind != ErrTimeout && !strings.Contains(e.What, " attempts)") {
				e.What += fmt.Sprintf(" (after %d attempts)", attempt)
			}
			rn.maybeShort(hs, rp, rf, e, tr)
			return Result{Err: e}
		}
		if wait <= 0 {
			wait = backoff(r.o.retryDelay, attempt)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			if ra := tr.retryAfterVal(); ra > 0 {
				e.What = fmt.Sprintf("%s; the registry asks to wait %s, longer than the lookup may take (%s)", e.What, roundDur(ra), r.o.lookupTimeout)
				rn.maybeShort(hs, rp, rf, e, tr)
			} else if attempt > 1 {
				e.What += fmt.Sprintf(" (after %d attempts)", attempt)
			}
			return Result{Err: e}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			e2, _, _ := rn.classify(ctx, hs, k, info, ctx.Err(), &trace{host: hs, prev: tr}, attempt, mk)
			rn.maybeShort(hs, rp, rf, e2, tr)
			return Result{Err: e2}
		case <-t.C:
		}
		prev = tr
	}
}

func (rn *run) result(k Key, m manifest.Manifest, mk func(error, string, string, int, error) *Error) Result {
	d := m.GetDescriptor()
	dig := d.Digest.String()
	if !imgref.ValidDigest(dig) {
		return Result{Err: mk(ErrBadDigest, fmt.Sprintf("the registry returned an invalid digest %q", truncate(rn.r.red.clean(dig), 80)),
			"digestbot only writes sha256 or sha512 digests; check the registry or any proxy in front of it", 0, nil)}
	}
	return Result{Digest: dig, MediaType: d.MediaType, IsIndex: m.IsList()}
}

// maybeShort marks the host down when e means every other lookup to it
// would fail the same way, so its remaining keys fail at once.
//
// A failure to connect at all (refused, DNS, TLS, no route) is the host's.
// Other failures may be one repository's alone (a proxy rule that resets
// or stalls one path, a per-repository rate limit), so they mark the
// repository down (its other keys fail at once) and the host only when it
// is down too:
//   - a connection closed after it was made, or no answer in time, from a
//     host that has answered nothing yet: the host is down unless it
//     answers a ping (GET /v2/, once per run, within half a lookup's time);
//   - a 429 asking to wait longer than a lookup may take: the host once a
//     second repository is told the same.
func (rn *run) maybeShort(hs *hostState, rp *repoProbe, rf ref.Ref, e *Error, tr *trace) {
	switch {
	case e.Kind == ErrUnreachable && !closedAfterConnect(tr):
		hs.fail(e)
	case e.Kind == ErrUnreachable,
		e.Kind == ErrTimeout && !hs.answered.Load() && rn.parent.Err() == nil && hs.deadErr() == nil:
		if rp.fail(e) && !rn.hostAnswers(hs, rf) {
			hs.fail(e)
		}
	case e.Kind == ErrRateLimited && strings.Contains(e.What, "asks to wait"):
		if rp.fail(e) && hs.strikes.Add(1) >= 2 {
			hs.fail(e)
		}
	}
}

// hostAnswers reports whether the host has answered any request in this
// run, pinging it (once) when it has not. Any HTTP answer counts.
func (rn *run) hostAnswers(hs *hostState, rf ref.Ref) bool {
	if hs.answered.Load() {
		return true
	}
	hs.probe.Do(func() {
		ctx, cancel := context.WithTimeout(context.WithValue(hs.ctx, traceKey{}, &trace{host: hs}), min(rn.r.o.lookupTimeout/2, 2*time.Second))
		defer cancel()
		_, _ = rn.r.Client().Ping(ctx, rf)
	})
	return hs.answered.Load()
}

// closedAfterConnect reports whether the last attempt failed because a
// connection that was made got closed or reset (not a failure to connect).
func closedAfterConnect(tr *trace) bool {
	if tr == nil {
		return false
	}
	err := tr.last().netErr
	if err == nil || isDial(err) {
		return false
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE)
}

// classify turns a failed attempt into an Error, and says whether to retry
// and after how long (0: the default backoff).
func (rn *run) classify(ctx context.Context, hs *hostState, k Key, info *hostInfo, err error, tr *trace, attempt int, mk func(error, string, string, int, error) *Error) (e *Error, retry bool, wait time.Duration) {
	r := rn.r
	status := tr.status()
	netErr := tr.netErr
	if ctx.Err() != nil {
		// The lookup ended: host declared down, caller's deadline, or ours.
		if d := hs.deadErr(); d != nil && rn.parent.Err() == nil {
			r.shorts.Add(1)
			return d.forKey(k, viaOf(info)), false, 0
		}
		if rn.parent.Err() != nil {
			return mk(ErrTimeout, ctxWhat(rn.parent), "allow the run more time", status, err), false, 0
		}
		last := tr.last()
		switch {
		case last.status == http.StatusTooManyRequests:
			return mk(ErrRateLimited, "rate limited (HTTP 429), then no answer within "+r.o.lookupTimeout.String(), rateHint(info), 429, err), false, 0
		case last.status >= 500:
			return mk(ErrRegistry, fmt.Sprintf("registry error (HTTP %d %s), then no answer within %s", last.status, http.StatusText(last.status), r.o.lookupTimeout), "retry later; if it persists, contact the registry's operators", last.status, err), false, 0
		case last.netErr != nil && !last.responded && isDial(last.netErr):
			return mk(ErrUnreachable, fmt.Sprintf("could not connect to %s within %s", info.hostname, r.o.lookupTimeout), unreachHint(info), 0, err), false, 0
		}
		return mk(ErrTimeout, "no answer within "+r.o.lookupTimeout.String(), "the registry is slow or hanging; retry later", status, err), false, 0
	}
	if errors.Is(err, errs.ErrDigestMismatch) {
		return mk(ErrBadDigest, "the manifest the registry sent does not match its Docker-Content-Digest header", "the registry or a proxy in front of it is misbehaving; retry later or contact its operators", status, err), false, 0
	}
	switch {
	case status == http.StatusNotFound:
		return mk(ErrNotFound, "tag not found", "check the tag exists", status, err), false, 0
	case status == http.StatusUnauthorized:
		return mk(ErrUnauthorized, r.unauthWhat(info), r.unauthHint(info), status, err), false, 0
	case status == http.StatusForbidden:
		return mk(ErrUnauthorized, "access denied (HTTP 403)", "check the account "+credPart(info)+"may pull this repository", status, err), false, 0
	case status == http.StatusTooManyRequests:
		return mk(ErrRateLimited, "rate limited (HTTP 429)", rateHint(info), status, err), true, tr.retryAfterVal()
	case status == http.StatusRequestTimeout || status == http.StatusInternalServerError || status == http.StatusBadGateway ||
		status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return mk(ErrRegistry, fmt.Sprintf("registry error (HTTP %d %s)", status, http.StatusText(status)), "retry later; if it persists, contact the registry's operators", status, err), true, tr.retryAfterVal()
	case status >= 400:
		return mk(ErrRegistry, fmt.Sprintf("unexpected answer (HTTP %d %s)", status, http.StatusText(status)), "check the registry speaks the OCI distribution API at "+info.hostname, status, err), false, 0
	}
	if netErr != nil || isNetErr(err) {
		ne := netErr
		if ne == nil {
			ne = err
		}
		if !isDial(ne) && isTimeout(ne) {
			// Connected, but no answer in time (transport header timeout).
			return mk(ErrTimeout, "no answer from "+info.hostname+" in time", "the registry is slow or hanging; retry later", 0, err), false, 0
		}
		what, hint, retryable := r.describeNet(info, ne)
		return mk(ErrUnreachable, what, hint, 0, err), retryable, 0
	}
	switch {
	case errors.Is(err, errs.ErrHTTPUnauthorized):
		return mk(ErrUnauthorized, r.unauthWhat(info), r.unauthHint(info), status, err), false, 0
	case errors.Is(err, errs.ErrNotFound):
		return mk(ErrNotFound, "tag not found", "check the tag exists", status, err), false, 0
	case errors.Is(err, errs.ErrHTTPRateLimit):
		return mk(ErrRateLimited, "rate limited (HTTP 429)", rateHint(info), status, err), true, 0
	case errors.Is(err, errs.ErrUnsupportedMediaType):
		return mk(ErrRegistry, "the registry sent an unsupported manifest media type", "check the tag names a container image", status, err), false, 0
	}
	return mk(ErrRegistry, "unexpected failure: "+r.red.clean(err.Error()), "retry later; if it persists, report it with the registry's name", status, err), false, 0
}

// explainNotFound tells a missing tag from a missing repository by listing
// at most one tag of the repository (once per repository and run).
func (rn *run) explainNotFound(ctx context.Context, k Key, rf ref.Ref, e *Error) {
	p := rn.repo(k)
	p.once.Do(func() {
		tr := &trace{}
		pctx, cancel := context.WithTimeout(context.WithValue(ctx, traceKey{}, tr), min(rn.r.o.lookupTimeout, 5*time.Second))
		defer cancel()
		pctx = WithPageBudget(pctx, 1, maxTagPageBody)
		_, err := rn.r.Client().TagList(pctx, rf.SetTag(""), scheme.WithTagLimit(1))
		switch {
		case err == nil:
			p.exists = 1
		case tr.lastStatusVal() == http.StatusNotFound:
			p.exists = 0
		}
	})
	switch p.exists {
	case 0:
		e.What, e.Hint = "repository not found", "check the image name (and the registry it is pulled from)"
	case -1:
		e.What, e.Hint = "tag or repository not found", "check the image name and tag"
	}
}

func viaOf(info *hostInfo) string {
	if info.mapped {
		return info.hostname
	}
	return ""
}

func ctxWhat(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "the run's deadline passed"
	}
	return "the run was cancelled"
}

func (r *Resolver) unauthWhat(info *hostInfo) string {
	if info.cred != "" {
		return "unauthorized (HTTP 401): the credentials from " + info.cred + " were rejected"
	}
	if info.name == imgref.DefaultRegistry && !info.mapped {
		return "unauthorized (HTTP 401): the repository does not exist or is private"
	}
	return "unauthorized (HTTP 401)"
}

func (r *Resolver) unauthHint(info *hostInfo) string {
	login := "docker login " + info.loginFor
	if info.loginFor == imgref.DefaultRegistry {
		login = "docker login"
	}
	h := "log in with '" + login + "' or set a credential helper"
	if info.cred != "" {
		h = "log in again with '" + login + "'"
	}
	if info.name == imgref.DefaultRegistry && !info.mapped && info.cred == "" {
		h = "check the image name, or " + h
	}
	if info.cred != "" && info.tls == config.TLSDisabled && !loopbackHost(info.hostname) {
		h = fmt.Sprintf("credentials are never sent over plain HTTP to a host that is not loopback: set registries.%s.tls to enabled or insecure", info.name)
	}
	if info.helper != "" {
		r.helpers.mu.Lock()
		w := r.helpers.warns[info.loginFor]
		r.helpers.mu.Unlock()
		if w != "" {
			h += "; note: " + r.red.clean(w)
		}
	}
	if r.credWarn != "" {
		h += "; note: " + r.credWarn
	}
	return h
}

func credPart(info *hostInfo) string {
	if info.cred != "" {
		return "from " + info.cred + " "
	}
	return ""
}

func rateHint(info *hostInfo) string {
	if info.name == imgref.DefaultRegistry && !info.mapped && info.cred == "" {
		return "retry later, or log in with 'docker login' for a higher limit"
	}
	return "retry later"
}

func unreachHint(info *hostInfo) string {
	if info.mapped {
		return fmt.Sprintf("check the registry at %s is running, and registries.%s.host in %s", info.hostname, info.name, config.FileName)
	}
	return "check the registry name and your network connection"
}

// describeNet explains a transport error: what, hint, retryable.
func (r *Resolver) describeNet(info *hostInfo, err error) (string, string, bool) {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var uaErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	h := info.hostname
	tlsHint := fmt.Sprintf("if %s uses a self-signed certificate set registries.%s.tls: insecure in %s, or disabled for plain HTTP", h, info.name, config.FileName)
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsTemporary || dnsErr.IsTimeout {
			return fmt.Sprintf("cannot resolve %s (DNS temporarily failing)", h), "check your network connection and DNS", true
		}
		return fmt.Sprintf("host %s not found (DNS)", h), unreachHint(info), false
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connection to %s refused", h), unreachHint(info), true
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Sprintf("%s speaks plain HTTP, not HTTPS", h), fmt.Sprintf("set registries.%s.tls: disabled in %s", info.name, config.FileName), false
	case errors.As(err, &recErr):
		return fmt.Sprintf("TLS handshake with %s failed (not a TLS server?)", h), fmt.Sprintf("set registries.%s.tls: disabled in %s if it serves plain HTTP", info.name, config.FileName), false
	case errors.As(err, &certErr), errors.As(err, &uaErr), errors.As(err, &hostErr), errors.As(err, &invErr):
		return fmt.Sprintf("TLS certificate of %s not trusted: %s", h, r.red.clean(certText(err))), tlsHint, false
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return fmt.Sprintf("connection to %s closed unexpectedly", h), "retry later; check any proxy between you and the registry", true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("no route to %s", h), unreachHint(info), false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("connection to %s timed out", h), unreachHint(info), false
	}
	if strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:") {
		return fmt.Sprintf("TLS with %s failed: %s", h, r.red.clean(certText(err))), tlsHint, false
	}
	return fmt.Sprintf("cannot reach %s: %s", h, r.red.clean(netText(err))), unreachHint(info), true
}

// certText keeps the x509/tls part of an error.
func certText(err error) string {
	s := err.Error()
	for _, p := range []string{"tls: ", "x509: "} {
		if i := strings.Index(s, p); i >= 0 {
			return s[i:]
		}
	}
	return netText(err)
}

// netText keeps the innermost part of a net error ("connection reset by peer").
func netText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isRefused(err error) bool { return err != nil && errors.Is(err, syscall.ECONNREFUSED) }

func isDial(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	return strings.Contains(err.Error(), "dial tcp")
}

func backoff(base time.Duration, attempt int) time.Duration {
	d := base << (attempt - 1)
	if d > maxRetryDelay || d <= 0 {
		d = maxRetryDelay
	}
	// ±20 % jitter so many lookups do not retry in lockstep.
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}

func roundDur(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// loginFor is the host whose credential registry is sent.
func (r *Resolver) loginFor(registry string) string {
	name := normRegistry(registry)
	if i, ok := r.infos[name]; ok {
		return i.loginFor
	}
	return name
}

// infoFor returns what is known about a registry (configured or not),
// with where its credential comes from as of now.
func (r *Resolver) infoFor(registry string) *hostInfo {
	name := normRegistry(registry)
	i := &hostInfo{name: name, hostname: defaultHostname(name), loginFor: name, tls: config.TLSEnabled}
	if c, ok := r.infos[name]; ok {
		cp := *c
		i = &cp
	}
	if _, src := r.credFor(i.loginFor); src != "" {
		i.cred = credLabel(src, i)
	} else if prog := r.docker.helperFor(i.loginFor); prog != "" {
		i.helper = prog
	}
	return i
}

func normRegistry(name string) string { return imgref.NormRegistry(name) }

func defaultHostname(name string) string {
	if name == imgref.DefaultRegistry {
		return rcconfig.DockerRegistryDNS
	}
	return name
}

func tlsConf(s string) rcconfig.TLSConf {
	switch s {
	case config.TLSInsecure:
		return rcconfig.TLSInsecure
	case config.TLSDisabled:
		return rcconfig.TLSDisabled
	}
	return rcconfig.TLSEnabled
}
