// Package diagnose tells apart the ways a pinned digest can differ from its
// tag's current digest — the pins that lie — and checks that tags provide
// the platforms a project requires.
//
// plan.Decide resolves every tag with one HEAD and compares digests; only when a
// pinned digest D differs from the tag's current digest C does it ask
// Diagnose, once per (tag, D) pair. Pins that match cost nothing here. The
// questions, in order, with what each costs (every answer is memoised for
// the run, so pins that share a repository, an index or a digest share the
// requests):
//
//	step                                        requests                    verdict
//	1. HEAD repo@D                              1 HEAD                      404 (or 5xx): go to 2
//	2. D is not a manifest:
//	   HEAD blob D                              1 HEAD                      404: missing
//	   GET blob D (≤ 4 MiB): an image config?   1 blob GET                  no: missing
//	   GET C, then the same platform's image    1–2 GET                     its config is D: image-id
//	                                                                        else: image-id (an older image)
//	3. D is an image and C an index: GET C      1 GET                       D is one of C's images: platform
//	                                                                        (pins.platform: keep → ok)
//	4. read D's version: GET D; for an index    1 GET, + 1 GET and 1 blob   version agrees with the tag
//	   without a version annotation (on         GET without annotations     (20 → 20.11.1): skip 5
//	   itself or its linux/amd64 entry), that
//	   entry's manifest and config labels
//	5. bounded tag search: the tag list once    1 GET per page, then at     a tag points to D: mismatch
//	   per repository, then HEAD the tags the   most pins.tag-search HEADs  (stale when that tag is a more
//	   labels name, then the others nearest     (default 100), 8 at once    precise version of the written
//	   the written one first (OrderTags)                                    one: node:20 → 20.11.0)
//	6. D's version contradicts the tag          0                           mismatch
//	7. D is an outdated image of the tag        0                           platform (keep: stale, refreshed
//	                                                                        to the platform's current image)
//	8. otherwise                                0                           stale
//
// So missing costs 2 requests; image-id 5; platform 2 (1 HEAD, 1 GET);
// stale with an agreeing version label 2; mismatch named by a label 4–6;
// otherwise mismatch and stale cost 2–4 plus the search. Manifest GETs are
// at most 2 per pin (Docker Hub counts up to two manifest GETs as one pull,
// and HEADs not at all). DescribeDigest (digest-only pins) runs steps 1, 2,
// 4 and 5 with no written tag. CheckPlatforms costs one GET per unique
// current digest (plus the config for a single-platform image), shared with
// the diagnoses.
//
// Every request has its own deadline (WithRequestTimeout) inside the run's;
// a request answered "try again" (429, 5xx) is retried once. Failures never
// stop the run: a diagnosis that cannot finish says stale and why.
package diagnose

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/regclient/regclient"
	"github.com/regclient/regclient/types/platform"
	"github.com/regclient/regclient/types/ref"

	"github.com/digestbot/digestbot/internal/memo"
	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/imgref"
	"github.com/digestbot/digestbot/pkg/resolve"
)

// Defaults.
const (
	DefaultRequestTimeout = resolve.DefaultLookupTimeout
	DefaultAttempts       = 2
	defaultRetryDelay     = 250 * time.Millisecond
)

// Diagnoser explains pins that differ from their tag. It implements
// plan.Diagnoser and is safe for concurrent use.
// Use one per run: it memoises every registry answer.
type Diagnoser struct {
	res *resolve.Resolver
	cfg *config.Config
	o   options

	heads     memo.Memo[headInfo]
	tagHeads  memo.Memo[string]
	manifests memo.Memo[*manifestInfo]
	blobHeads memo.Memo[blobInfo]
	configs   memo.Memo[*imageConfig]
	tagLists  memo.Memo[[]string]

	stats counters
}

type counters struct {
	manifestHeads, tagHeads, manifestGets, blobHeads, blobGets, tagLists, diagnoses atomic.Int64
}

// Stats counts the requests a Diagnoser sent (memoised answers are not
// counted again; a tag list spread over pages counts once).
type Stats struct {
	Diagnoses     int64 // Diagnose and DescribeDigest calls
	ManifestHeads int64 // HEADs of manifests, by digest or tag
	TagHeads      int64 // of which HEADs of tags by the search
	ManifestGets  int64
	BlobHeads     int64
	BlobGets      int64
	TagLists      int64
}

// Stats returns the counters.
func (d *Diagnoser) Stats() Stats {
	s := &d.stats
	return Stats{
		Diagnoses: s.diagnoses.Load(), ManifestHeads: s.manifestHeads.Load(), TagHeads: s.tagHeads.Load(),
		ManifestGets: s.manifestGets.Load(), BlobHeads: s.blobHeads.Load(), BlobGets: s.blobGets.Load(), TagLists: s.tagLists.Load(),
	}
}

type options struct {
	requestTimeout time.Duration
	attempts       int
	retryDelay     time.Duration
	client         *regclient.RegClient
}

// Opt configures a Diagnoser.
type Opt func(*options)

// WithRequestTimeout bounds each registry request (default 10s).
func WithRequestTimeout(d time.Duration) Opt { return func(o *options) { o.requestTimeout = d } }

// WithRetry sets the attempts per request on 429/5xx answers (default 2)
// and the first delay between them.
func WithRetry(attempts int, delay time.Duration) Opt {
	return func(o *options) { o.attempts, o.retryDelay = attempts, delay }
}

// WithClient uses rc instead of the Resolver's client (tests).
func WithClient(rc *regclient.RegClient) Opt { return func(o *options) { o.client = rc } }

// New returns a Diagnoser that sends its requests through res's client, so
// the config's hosts, mirrors, TLS modes and credentials apply.
func New(res *resolve.Resolver, cfg *config.Config, opts ...Opt) *Diagnoser {
	if cfg == nil {
		cfg = config.Default()
	}
	o := options{requestTimeout: DefaultRequestTimeout, attempts: DefaultAttempts, retryDelay: defaultRetryDelay}
	for _, f := range opts {
		f(&o)
	}
	if o.requestTimeout <= 0 {
		o.requestTimeout = DefaultRequestTimeout
	}
	if o.attempts < 1 {
		o.attempts = 1
	}
	if o.retryDelay <= 0 {
		o.retryDelay = defaultRetryDelay
	}
	return &Diagnoser{res: res, cfg: cfg, o: o}
}

// client is the regclient client requests go through: the Resolver's,
// asked at each use because the Resolver rebuilds it once credential
// helpers have answered (resolve.Resolver.Prepare).
func (d *Diagnoser) client() *regclient.RegClient {
	if d.o.client != nil {
		return d.o.client
	}
	if d.res != nil {
		return d.res.Client()
	}
	return nil
}

// prepare lets the Resolver run the credential helpers of registry.
func (d *Diagnoser) prepare(ctx context.Context, registry string) {
	if d.res != nil && d.o.client == nil {
		d.res.Prepare(ctx, registry)
	}
}

// Diagnosis explains a pinned digest that is not the tag's current digest.
type Diagnosis struct {
	Status  finding.Status // stale, mismatch, platform, image-id or missing
	Message string
	// Fix is the digest fix writes; empty means the tag's current digest.
	Fix string
}

// keep reports pins.platform: keep.
func (d *Diagnoser) keep() bool { return d.cfg.Pins.Platform == "keep" }

// Diagnose explains why pinned differs from current.Digest (plan.Decide asks
// only then). See the package documentation for the steps and costs.
func (d *Diagnoser) Diagnose(ctx context.Context, k resolve.Key, current resolve.Result, pinned string) Diagnosis {
	d.stats.diagnoses.Add(1)
	n := names{registry: k.Registry, repository: k.Repository, tag: k.Tag, current: current.Digest}
	repo, err := repoRef(k.Registry, k.Repository)
	if err != nil || d.client() == nil {
		return n.stale("", "not diagnosed: the repository name cannot be used")
	}
	d.prepare(ctx, k.Registry)
	d.primeTag(repo, k.Tag, current.Digest)

	// 1. Is D a manifest of the repository at all?
	h, err := d.headManifest(ctx, repo, pinned)
	switch {
	case notFound(err):
		return d.notAManifest(ctx, repo, n, current, pinned, "")
	case err != nil:
		// Some registries (the CNCF distribution registry) answer 500, not
		// 404, when the digest is a blob rather than a manifest.
		return d.notAManifest(ctx, repo, n, current, pinned, "could not look the pinned digest up: "+describeErr(ctx, err))
	}

	// 3. One platform's image inside the current index?
	var idx *manifestInfo
	if !h.isIndex && current.IsIndex {
		idx, err = d.getManifest(ctx, repo, current.Digest)
		if err == nil {
			for _, c := range idx.children {
				if c.digest != pinned {
					continue
				}
				if d.keep() {
					return Diagnosis{Status: finding.OK,
						Message: fmt.Sprintf("pinned to the %s image of %s's current index, kept as pins.platform is keep", c, n.ref())}
				}
				return Diagnosis{Status: finding.Platform,
					Message: fmt.Sprintf("pinned to the %s image inside %s's index, not to the index: other platforms cannot pull it; the fix is the index digest %s", c, n.ref(), short(current.Digest))}
			}
		}
	}

	// 4, 5. What does D say it is, and which tag points to it now? A
	// version label that agrees with the written tag (20.04 → 20.04.1,
	// 20 → 20.11.1) says D is an older image of this tag: no search.
	ev := d.readEvidence(ctx, repo, pinned)
	agrees := consistent(k.Tag, ev.version)
	var sr searchResult
	if !agrees {
		sr = d.search(ctx, repo, k.Tag, pinned, ev.candidates())
	}
	if sr.found != "" {
		if shapeOf(k.Tag).covers(shapeOf(sr.found)) {
			return n.stale(fmt.Sprintf("the pinned digest is what %s points to now, an older %s", n.refTag(sr.found), n.ref()), "")
		}
		return Diagnosis{Status: finding.Mismatch,
			Message: fmt.Sprintf("%s is pinned to the digest of %s; Docker ignores the tag and runs %s", n.ref(), n.refTag(sr.found), n.refTag(sr.found))}
	}
	// 6. A version label that contradicts the tag.
	if contradicts(k.Tag, ev.version) {
		return Diagnosis{Status: finding.Mismatch,
			Message: fmt.Sprintf("%s is pinned to an image whose %s says %s, not %s; Docker ignores the tag and runs that image (%s)",
				n.ref(), ev.versionFrom, ev.version, k.Tag, sr.note("other tag"))}
	}
	// 7. An outdated platform image of the tag.
	if !h.isIndex && current.IsIndex && idx != nil && ev.plat != nil {
		p := ev.plat.platform()
		if d.keep() {
			if c, ok := childFor(idx.children, p); ok {
				if !imgref.ValidDigest(c.digest) {
					// Registry data never becomes file content unchecked.
					return Diagnosis{Status: finding.Error, Message: fmt.Sprintf(
						"the registry's index of %s gives the %s image an invalid digest %s; nothing written: check the registry or any proxy in front of it", n.ref(), c, quoteDigest(c.digest))}
				}
				return Diagnosis{Status: finding.Stale, Fix: c.digest,
					Message: fmt.Sprintf("%s has moved on: the pinned %s image is outdated; the fix is the current %s image %s (pins.platform: keep)", n.ref(), c, c, short(c.digest))}
			}
			return Diagnosis{Status: finding.Platform,
				Message: fmt.Sprintf("pinned to an outdated %s image of %s, and its current index has no %s image: the fix is the index digest %s", p, n.ref(), p, short(current.Digest))}
		}
		return Diagnosis{Status: finding.Platform,
			Message: fmt.Sprintf("pinned to an outdated %s image of %s, not to its index: other platforms cannot pull it; the fix is the current index digest %s", p, n.ref(), short(current.Digest))}
	}
	// 8. The tag moved on.
	if agrees {
		return n.stale(fmt.Sprintf("the pinned digest is an older %s: its %s says %s", n.ref(), ev.versionFrom, ev.version), "")
	}
	detail := "the pinned digest is an older manifest of " + n.image()
	if ev.version != "" {
		detail += fmt.Sprintf(" (version %s)", ev.version)
	}
	return n.stale(detail, sr.note("other tag"))
}

// notAManifest handles a pinned digest the registry does not know as a
// manifest (step 2): an image ID, or missing. headErr, when not "", says
// the manifest lookup failed rather than answered 404: then a digest that
// is not an image config is stale with that note, not missing.
func (d *Diagnoser) notAManifest(ctx context.Context, repo ref.Ref, n names, current resolve.Result, pinned, headErr string) Diagnosis {
	missing := func(extra string) Diagnosis {
		if headErr != "" {
			return n.stale("", headErr)
		}
		msg := fmt.Sprintf("%s does not exist in %s: pulls fail", short(pinned), n.image())
		if extra != "" {
			msg += " (" + extra + ")"
		}
		return Diagnosis{Status: finding.Missing, Message: msg}
	}
	cfg, what := d.configBlob(ctx, repo, pinned)
	if cfg == nil {
		return missing(what)
	}
	p := cfg.platform()
	// The config of one of the current images?
	if current.IsIndex {
		if idx, err := d.getManifest(ctx, repo, current.Digest); err == nil {
			for _, c := range idx.children {
				if !c.known || !platform.Match(c.platform, p) {
					continue
				}
				if m, err := d.getManifest(ctx, repo, c.digest); err == nil && m.config.Digest.String() == pinned {
					return Diagnosis{Status: finding.ImageID, Message: fmt.Sprintf(
						"%s is the image ID of %s's %s image (its config digest, what `docker images` shows as IMAGE ID), not a manifest digest: pulls fail; the right digest is the index %s, or %s for %s alone",
						short(pinned), n.ref(), c, short(current.Digest), short(c.digest), c)}
				}
			}
		}
	} else if m, err := d.getManifest(ctx, repo, current.Digest); err == nil && m.config.Digest.String() == pinned {
		return Diagnosis{Status: finding.ImageID, Message: fmt.Sprintf(
			"%s is the image ID of %s, a %s image (its config digest, what `docker images` shows as IMAGE ID), not its manifest digest: pulls fail; the right digest is %s",
			short(pinned), n.ref(), p, short(current.Digest))}
	}
	version := ""
	if v := cfg.Config.Labels[versionKey]; v != "" {
		version = ", version " + v
	}
	return Diagnosis{Status: finding.ImageID, Message: fmt.Sprintf(
		"%s is the image ID of an older %s image of %s%s (its config digest, what `docker images` shows as IMAGE ID), not a manifest digest: pulls fail; the right digest is %s's current digest %s",
		short(pinned), p, n.image(), version, n.ref(), short(current.Digest))}
}

// configBlob reads dig as an image config blob of repo: the config, or nil
// and why not (for a message; "" when the blob does not exist).
func (d *Diagnoser) configBlob(ctx context.Context, repo ref.Ref, dig string) (*imageConfig, string) {
	bi, err := d.headBlob(ctx, repo, dig)
	switch {
	case notFound(err):
		return nil, ""
	case err != nil:
		return nil, "could not check whether it is an image ID: " + describeErr(ctx, err)
	}
	cfg, err := d.getConfig(ctx, repo, dig, bi.size)
	switch {
	case err == errNotConfig:
		return nil, "it is a blob of the repository, not an image manifest"
	case err != nil:
		return nil, "could not check whether it is an image ID: " + describeErr(ctx, err)
	}
	return cfg, ""
}

// DescribeDigest explains a digest-only pin (no tag to refresh): the tag
// that points to it now when the bounded search finds one, or why pulls
// fail. The status is digest-only, or missing / image-id when pulls fail
// (anything that fails a pull needs action, tag or no tag). An empty
// Message keeps the plan's default. Only the key's registry and
// repository are read.
func (d *Diagnoser) DescribeDigest(ctx context.Context, k resolve.Key, dig string) Diagnosis {
	d.stats.diagnoses.Add(1)
	registry, repository := k.Registry, k.Repository
	n := names{registry: registry, repository: repository}
	repo, err := repoRef(registry, repository)
	if err != nil || d.client() == nil || !imgref.ValidDigest(dig) {
		return Diagnosis{Status: finding.DigestOnly}
	}
	d.prepare(ctx, registry)
	_, err = d.headManifest(ctx, repo, dig)
	if err != nil {
		cfg, what := d.configBlob(ctx, repo, dig)
		if cfg != nil {
			return Diagnosis{Status: finding.ImageID, Message: fmt.Sprintf("digest only: %s is the image ID of a %s image (its config digest, what `docker images` shows as IMAGE ID), not a manifest digest: pulls fail", short(dig), cfg.platform())}
		}
		if !notFound(err) {
			return Diagnosis{Status: finding.DigestOnly}
		}
		msg := fmt.Sprintf("digest only: %s does not exist in %s: pulls fail", short(dig), n.image())
		if what != "" {
			msg += " (" + what + ")"
		}
		return Diagnosis{Status: finding.Missing, Message: msg}
	}
	ev := d.readEvidence(ctx, repo, dig)
	sr := d.search(ctx, repo, "", dig, ev.candidates())
	if sr.found != "" {
		algo, _, _ := strings.Cut(dig, ":")
		return Diagnosis{Status: finding.DigestOnly, Message: fmt.Sprintf("digest only: %s points to this digest now; add the tag (%s@%s:…) so digestbot can keep it fresh", n.refTag(sr.found), n.refTag(sr.found), algo)}
	}
	msg := "digest only: no tag to refresh"
	if ev.version != "" {
		msg += fmt.Sprintf(" (the image says version %s)", ev.version)
	}
	return Diagnosis{Status: finding.DigestOnly, Message: msg + "; " + sr.note("tag")}
}

// childFor finds the current child for a platform.
func childFor(cs []child, p platform.Platform) (child, bool) {
	for _, c := range cs {
		if c.known && platform.Match(c.platform, p) {
			return c, true
		}
	}
	return child{}, false
}

// names renders references the way people write them: ubuntu:20.04 for
// Docker Hub's official images, ghcr.io/org/app:v1 elsewhere.
type names struct {
	registry, repository, tag, current string
}

func (n names) short() string {
	if n.registry == imgref.DefaultRegistry {
		return strings.TrimPrefix(n.repository, "library/")
	}
	return n.registry + "/" + n.repository
}

func (n names) ref() string              { return n.refTag(n.tag) }
func (n names) refTag(tag string) string { return n.short() + ":" + tag }
func (n names) image() string            { return n.registry + "/" + n.repository }

func (n names) stale(detail, note string) Diagnosis {
	msg := fmt.Sprintf("%s has moved on to %s", n.ref(), short(n.current))
	if detail != "" {
		msg += "; " + detail
	}
	if note != "" {
		msg += " (" + note + ")"
	}
	return Diagnosis{Status: finding.Stale, Message: msg}
}

// quoteDigest shows a digest a registry sent, which may be anything, as
// one short quoted line.
func quoteDigest(d string) string {
	if len(d) > 80 {
		d = d[:80]
	}
	return strconv.Quote(d)
}

// short abbreviates a digest for messages: sha256:0123456789ab.
func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
