// Package verify answers one question about an image digest: does a
// signature satisfy the config's verify policy — and if so, who signed it;
// if not, why not. It uses sigstore-go (v1.3: v1.4 needs a newer Go) for
// the cryptography and regclient, through the caller's client, for the
// registry, so its requests share the run's hosts, credentials and request
// accounting.
//
// # Where signatures are looked for
//
// cosign stores signatures in two layouts, and both are read:
//
//   - The signature tag `sha256-<hex>.sig` in the image's repository: an
//     image manifest whose layers are simple-signing payloads
//     (application/vnd.dev.cosign.simplesigning.v1+json) — a JSON document
//     naming the signed manifest digest — each with its signature in the
//     dev.cosignproject.cosign/signature annotation and, for keyless
//     signatures, the Fulcio certificate (dev.sigstore.cosign/certificate)
//     and the Rekor bundle (dev.sigstore.cosign/bundle: the entry and its
//     signed entry timestamp). cosign 2 writes this layout.
//   - OCI 1.1 referrers of the digest whose artifactType is a Sigstore
//     bundle (application/vnd.dev.sigstore.bundle.v0.3+json): the
//     referrer manifest's layer is the bundle, a DSSE envelope holding an
//     in-toto statement whose subject is the digest (or a message signature
//     over the digest). cosign 3 writes this layout. Registries without the
//     referrers API are read through the fallback tag `sha256-<hex>`, as
//     regclient does.
//
// # What satisfies a rule
//
// A rule (config.VerifyRule) lists public keys, a keyless identity, or
// both. A signature satisfies it when
//
//   - keys: it verifies with one of the keys (ECDSA, RSA or Ed25519 PEM,
//     as `cosign generate-key-pair` writes cosign.pub). The key is the trust
//     anchor: no transparency-log entry is required.
//   - keyless: its certificate chains to a Fulcio CA of the trusted root, its
//     OIDC issuer and subject alternative name match the rule, a Rekor entry
//     the trusted root's log key signed records it (inclusion promise or
//     proof), and the certificate was valid at the entry's integrated time;
//     when the trusted root lists CT logs, the certificate's SCT is required
//     too. The trusted root is the rule's trusted-root file, else the
//     Sigstore public-good root fetched once per run through TUF (no local
//     cache is written) within the run's deadlines.
//
// and, for a simple-signing payload, the payload names this digest (a
// signature copied to another digest's tag proves nothing about it); for a
// bundle, the statement subject (or signed digest) is this digest. The
// docker-reference in a payload is not compared: images are copied between
// registries with their signatures, as cosign itself allows by default.
//
// # Requests, per digest a rule matches
//
// Verification runs once per (repository, digest) per Verifier (one run);
// the answer, errors included, is memoised. Images no rule matches cost
// nothing. For one digest, in this order, stopping at the first signature
// that satisfies the rule:
//
//  1. GET manifest sha256-<hex>.sig                        1 (404: no such tag)
//  2. GET each simple-signing payload blob the rule could  ≤ MaxSignatures
//     accept (a key rule skips layers carrying a
//     certificate; a keyless-only rule those without)
//  3. list referrers: the referrers API, else the fallback 1, or 2 the first time
//     tag (regclient remembers per repository which works) per repository without the API
//  4. for each bundle referrer: GET its manifest, GET the  ≤ 2·MaxBundles
//     bundle blob
//
// So a digest signed in the tag layout costs 2 requests, in the referrer
// layout 4 (5 on a registry without the referrers API), an unsigned digest
// 2–3, and the worst case 1+MaxSignatures+2+2·MaxBundles = 19 (plus pages, if
// a registry pages its referrers list; the request deadline bounds those).
// Payloads are read up to 64 KiB, bundles up to 1 MiB, and verified against
// their descriptor digests. Every request has its own deadline
// (WithRequestTimeout) within the caller's; "try again" answers (429, 5xx,
// reset) are retried once. A lookup that fails leaves the digest neither
// verified nor refuted (Result.Err): callers must not write it.
package verify

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/regclient/regclient"
	"github.com/regclient/regclient/scheme"
	"github.com/regclient/regclient/types/blob"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/ref"
	"github.com/regclient/regclient/types/referrer"

	"github.com/digestbot/digestbot/internal/memo"
	"github.com/digestbot/digestbot/internal/safetext"
	"github.com/digestbot/digestbot/pkg/config"
)

// Registry is the part of *regclient.RegClient verification uses. Pass the
// resolver's client (resolve.Resolver.Client) so requests go through the
// same hosts, credentials and accounting as every other lookup. Registry
// references are built from resolve.Key's parts, never re-parsed.
type Registry interface {
	ManifestGet(ctx context.Context, r ref.Ref, opts ...regclient.ManifestOpts) (manifest.Manifest, error)
	BlobGet(ctx context.Context, r ref.Ref, d descriptor.Descriptor) (blob.Reader, error)
	ReferrerList(ctx context.Context, r ref.Ref, opts ...scheme.ReferrerOpts) (referrer.ReferrerList, error)
}

var _ Registry = (*regclient.RegClient)(nil)

// Bounds on what one digest may cost (see the package comment).
const (
	// MaxSignatures bounds the simple-signing layers of a .sig manifest
	// that are fetched and checked (cosign appends one per `cosign sign`).
	MaxSignatures = 8
	// MaxBundles bounds the Sigstore bundle referrers fetched and checked.
	MaxBundles = 4

	maxPayloadSize = 64 << 10
	maxBundleSize  = 1 << 20
)

// Defaults.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultAttempts       = 2
	DefaultTUFTimeout     = 30 * time.Second
	defaultRetryDelay     = 250 * time.Millisecond
)

// Result is the verdict on one digest.
type Result struct {
	// Verified: a signature satisfies the rule.
	Verified bool
	// Signer says who signed, when Verified: "key cosign.pub" (the key file
	// as the config names it) or the certificate's subject alternative name.
	Signer string
	// Issuer is the OIDC issuer of a keyless signer's certificate.
	Issuer string
	// Source says where the satisfying signature was found: the .sig tag
	// or a referrer's digest.
	Source string
	// Reason says, when not Verified, why no signature satisfies the rule:
	// none found, wrong key, wrong identity, or invalid — one line.
	Reason string
	// Err is set when the signatures could not be read or checked at all
	// (wraps ErrLookup or ErrTrustedRoot): neither verified nor refuted.
	Err error
	// Rule is the index of the verify rule that decided.
	Rule int
}

// Message is the one-line summary for reports: who signed, or why not.
func (r Result) Message() string {
	switch {
	case r.Err != nil:
		return r.Err.Error()
	case r.Verified && r.Issuer != "":
		return "signed by " + r.Signer + " (issuer " + r.Issuer + ")"
	case r.Verified:
		return "signed with " + r.Signer
	default:
		return r.Reason
	}
}

// Verifier checks digests against the config's verify rules. It is safe
// for concurrent use; use one per run (it memoises every answer).
type Verifier struct {
	reg   Registry
	cfg   *config.Config
	rules []*rule
	o     options

	results memo.Memo[Result]
	tufRoot memo.Memo[trustedRoot]
	stats   counters
}

type counters struct {
	digests, sigManifests, payloads, referrerLists, bundleManifests, bundles atomic.Int64
}

// Stats counts the work a Verifier did. Memoised answers are not counted
// again; a referrers list counts once however regclient obtained it.
type Stats struct {
	Digests         int64 // digests verified (each once)
	SigManifests    int64 // GETs of sha256-<hex>.sig manifests
	Payloads        int64 // simple-signing payload blob GETs
	ReferrerLists   int64 // referrers list calls
	BundleManifests int64 // referrer manifest GETs
	Bundles         int64 // bundle blob GETs
}

// Stats returns the counters.
func (v *Verifier) Stats() Stats {
	s := &v.stats
	return Stats{
		Digests: s.digests.Load(), SigManifests: s.sigManifests.Load(), Payloads: s.payloads.Load(),
		ReferrerLists: s.referrerLists.Load(), BundleManifests: s.bundleManifests.Load(), Bundles: s.bundles.Load(),
	}
}

type options struct {
	requestTimeout time.Duration
	attempts       int
	retryDelay     time.Duration
	tufTimeout     time.Duration
	tufURL         string
	userAgent      string
}

// Opt configures a Verifier.
type Opt func(*options)

// WithRequestTimeout bounds each registry request (the caller's context
// bounds the whole verification).
func WithRequestTimeout(d time.Duration) Opt { return func(o *options) { o.requestTimeout = d } }

// WithRetry sets how many attempts a request makes on "try again" answers
// (at least 1) and the first delay between them (doubling).
func WithRetry(attempts int, delay time.Duration) Opt {
	return func(o *options) { o.attempts, o.retryDelay = attempts, delay }
}

// WithTUF sets the TUF repository the public-good trusted root is fetched
// from (default: sigstore-go's, https://tuf-repo-cdn.sigstore.dev) and how
// long fetching it may take.
func WithTUF(baseURL string, timeout time.Duration) Opt {
	return func(o *options) { o.tufURL, o.tufTimeout = baseURL, timeout }
}

// WithUserAgent sets the User-Agent of TUF requests.
func WithUserAgent(ua string) Opt { return func(o *options) { o.userAgent = ua } }

// New compiles cfg's verify rules: it reads their key files and trusted-root
// files (relative to the config file's folder) now, so a bad file is a
// configuration error naming the file, not a surprise mid-run. It sends no
// request. reg may be nil when cfg has no verify rule.
func New(reg Registry, cfg *config.Config, opts ...Opt) (*Verifier, error) {
	if cfg == nil {
		cfg = config.Default()
	}
	o := options{
		requestTimeout: DefaultRequestTimeout,
		attempts:       DefaultAttempts,
		retryDelay:     defaultRetryDelay,
		tufTimeout:     DefaultTUFTimeout,
		userAgent:      "digestbot",
	}
	for _, f := range opts {
		f(&o)
	}
	if o.requestTimeout <= 0 {
		o.requestTimeout = DefaultRequestTimeout
	}
	if o.attempts < 1 {
		o.attempts = 1
	}
	if o.tufTimeout <= 0 {
		o.tufTimeout = DefaultTUFTimeout
	}
	v := &Verifier{reg: reg, cfg: cfg, o: o}
	where := "config"
	if cfg.Path != "" {
		where = cfg.Path
	}
	for i, rc := range cfg.Verify {
		r, err := compileRule(i, rc, cfg.Dir())
		if err != nil {
			return nil, fmt.Errorf("%w: %s: verify[%d] (images %s): %v", ErrPolicy, where, i, strings.Join(rc.Images, ", "), err)
		}
		v.rules = append(v.rules, r)
	}
	if len(v.rules) > 0 && reg == nil {
		return nil, fmt.Errorf("%w: verify rules need a registry client", ErrPolicy)
	}
	return v, nil
}

// Applies reports whether a verify rule matches the normalised image name
// (docker.io/library/nginx). Digests of other images are never verified
// and cost no request.
func (v *Verifier) Applies(image string) bool {
	return v != nil && len(v.rules) > 0 && v.cfg.VerifyRuleFor(image) >= 0
}

// Verify checks registry/repository@digest (registry and repository
// normalised, as imgref gives them) against the first rule matching the
// image. It must only be called when Applies is true; otherwise it returns
// a Result with Err set. Answers are memoised per (repository, digest).
func (v *Verifier) Verify(ctx context.Context, registry, repository, digest string) Result {
	image := registry + "/" + repository
	i := -1
	if v != nil && len(v.rules) > 0 {
		i = v.cfg.VerifyRuleFor(image)
	}
	if i < 0 {
		return Result{Rule: -1, Err: fmt.Errorf("%w: no verify rule matches %s", ErrLookup, image)}
	}
	res, _ := v.results.Get(image+"@"+digest, func() (Result, error) {
		v.stats.digests.Add(1)
		r := v.verify(ctx, v.rules[i], registry, repository, digest)
		r.Rule = i
		// Certificate names and payload fields come from the registry:
		// printable, one line, bounded.
		r.Signer, r.Issuer = safetext.Clip(r.Signer, 300), safetext.Clip(r.Issuer, 300)
		r.Source, r.Reason = safetext.Line(r.Source), safetext.Clip(r.Reason, 800)
		return r, nil
	})
	return res
}

// keyName is how messages name a key file: as the config writes it.
func keyName(p string) string { return filepath.ToSlash(p) }
