package diagnose

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/regclient/regclient/types/ref"

	"github.com/digestbot/digestbot/pkg/config"
)

// searchBatch is how many tag HEADs the search sends at once. The search
// walks its ordered candidates in batches and stops after the first batch
// holding a match, so its request count is deterministic.
const searchBatch = 8

// evidence is what a pinned digest says about itself: its version label or
// annotation and its ref.name annotation, read from the manifest (and, for
// an image, its config).
type evidence struct {
	version, versionFrom string // e.g. "16.04", "org.opencontainers.image.version label"
	refName              string // a tag named by org.opencontainers.image.ref.name
	platform             string // image manifest: its platform from the config ("" when unknown)
	plat                 *imageConfig
}

// candidates are the tags the evidence names, to try before any other.
func (e evidence) candidates() []string {
	var out []string
	add := func(t string) {
		if t == "" || ignoredTag(t) {
			return
		}
		for _, o := range out {
			if o == t {
				return
			}
		}
		out = append(out, t)
	}
	add(e.refName)
	if v := e.version; v != "" && validTag(v) {
		add(v)
		if strings.HasPrefix(v, "v") {
			add(strings.TrimPrefix(v, "v"))
		} else {
			add("v" + v)
		}
	}
	return out
}

// validTag reports whether s can be a tag (OCI distribution grammar).
func validTag(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
		case (r == '.' || r == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// refNameTag extracts the tag from an org.opencontainers.image.ref.name
// value: "16.04", or "docker.io/library/ubuntu:16.04".
func refNameTag(v string) string {
	if i := strings.LastIndex(v, ":"); i >= 0 && !strings.Contains(v[i:], "/") {
		v = v[i+1:]
	} else if strings.Contains(v, "/") {
		return ""
	}
	if !validTag(v) {
		return ""
	}
	return v
}

// readEvidence reads the pinned manifest for labels (memoised):
//   - an index: GET it (1); when neither it nor its linux/amd64 entry has
//     a version or ref.name annotation, GET that child (1) and its config
//     (1);
//   - an image manifest: GET it (1) and its config (1).
//
// Failures leave the evidence empty: the search still runs.
func (d *Diagnoser) readEvidence(ctx context.Context, repo ref.Ref, dig string) evidence {
	var e evidence
	mi, err := d.getManifest(ctx, repo, dig)
	if err != nil {
		return e
	}
	e.takeAnnotations(mi.annotations, "annotation")
	target := mi
	if mi.isIndex {
		if e.version != "" || e.refName != "" {
			return e
		}
		c, ok := representative(mi.children)
		if !ok {
			return e
		}
		// Docker Official Images annotate each entry of the index.
		if e.takeAnnotations(c.annotations, "annotation"); e.version != "" || e.refName != "" {
			return e
		}
		if target, err = d.getManifest(ctx, repo, c.digest); err != nil {
			return e
		}
		e.takeAnnotations(target.annotations, "annotation")
		if e.version != "" || e.refName != "" {
			return e
		}
	}
	if target.config.Digest == "" {
		return e
	}
	cfg, err := d.getConfig(ctx, repo, target.config.Digest.String(), target.config.Size)
	if err != nil {
		return e
	}
	e.takeAnnotations(cfg.Config.Labels, "label")
	if !mi.isIndex {
		e.plat = cfg
		e.platform = cfg.platform().String()
	}
	return e
}

func (e *evidence) takeAnnotations(a map[string]string, kind string) {
	if v := strings.TrimSpace(a[versionKey]); v != "" && e.version == "" {
		e.version, e.versionFrom = v, versionKey+" "+kind
	}
	if v := refNameTag(strings.TrimSpace(a[refNameKey])); v != "" && e.refName == "" {
		e.refName = v
	}
}

// representative picks the child whose labels speak for the index:
// linux/amd64 when present, else the first with a known platform.
func representative(cs []child) (child, bool) {
	for _, c := range cs {
		if c.known && c.platform.OS == "linux" && c.platform.Architecture == "amd64" {
			return c, true
		}
	}
	for _, c := range cs {
		if c.known {
			return c, true
		}
	}
	if len(cs) > 0 {
		return cs[0], true
	}
	return child{}, false
}

// searchResult is the outcome of a bounded tag search.
type searchResult struct {
	found    string // the first tag (in search order) pointing to the digest
	searched int    // tags whose digest was compared (cached answers included)
	total    int    // tags the repository lists, other than the written one
	off      bool   // pins.tag-search is -1
	listErr  string // why the tag list could not be read, "" when it was
	headErrs int    // tag lookups that failed
	bound    int    // pins.tag-search in effect
	stopped  string // why the search stopped early, "" when it did not
}

// note says, in parentheses-ready words, how far the search went.
func (s searchResult) note(what string) string {
	switch {
	case s.off:
		return "tag search is off (pins.tag-search: -1)"
	case s.listErr != "" && s.searched == 0:
		return "its tags could not be listed: " + s.listErr
	case s.total == 0 && s.listErr == "":
		return "the repository has no other tag"
	}
	var b strings.Builder
	if s.searched == 1 && s.total == 1 {
		fmt.Fprintf(&b, "the repository's one %s does not point to it", what)
	} else {
		fmt.Fprintf(&b, "no %s among the %d searched points to it", what, s.searched)
	}
	if s.total > s.searched {
		if s.stopped != "" {
			fmt.Fprintf(&b, "; %d more were not searched: %s", s.total-s.searched, s.stopped)
		} else {
			fmt.Fprintf(&b, "; pins.tag-search is %d, so %d more were not searched", s.bound, s.total-s.searched)
		}
	}
	if s.listErr != "" {
		b.WriteString("; the tag list could not be read: " + s.listErr)
	}
	if s.headErrs > 0 {
		fmt.Fprintf(&b, "; %d tag lookups failed", s.headErrs)
	}
	return b.String()
}

// search looks for a tag of repo, other than written, that points to dig
// now: first the tags the evidence names, then the repository's tags in
// OrderTags order, comparing at most pins.tag-search of them. Tag digests
// are cached per run, so pins of one repository share the lookups.
func (d *Diagnoser) search(ctx context.Context, repo ref.Ref, written, dig string, first []string) searchResult {
	bound := d.bound()
	res := searchResult{bound: bound}
	if bound < 0 {
		res.off = true
		return res
	}
	tags, err := d.tagList(ctx, repo)
	listed := map[string]bool{}
	if err != nil {
		res.listErr = describeErr(ctx, err)
	} else {
		for _, t := range tags {
			listed[t] = true
		}
	}
	var order []string
	seen := map[string]bool{written: true}
	for _, t := range first {
		// Without a tag list, try the named tags anyway.
		if !seen[t] && (err != nil || listed[t]) {
			seen[t] = true
			order = append(order, t)
		}
	}
	named := len(order)
	for _, t := range OrderTags(written, tags) {
		if !seen[t] {
			seen[t] = true
			order = append(order, t)
		}
	}
	for _, t := range tags {
		if t != written && !ignoredTag(t) {
			res.total++
		}
	}
	if len(order) > bound {
		order = order[:bound]
	}
	// The named tags form their own first batch: when the evidence is
	// right, the search costs one HEAD.
	named = min(named, len(order))
	for start := 0; start < len(order) && ctx.Err() == nil; {
		end := min(start+searchBatch, len(order))
		if start < named {
			end = min(end, named)
		}
		batch := order[start:end]
		start = end
		digs := make([]string, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, t := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				digs[i], errs[i] = d.headTag(ctx, repo, t)
			}()
		}
		wg.Wait()
		for i, t := range batch {
			res.searched++
			if errs[i] != nil {
				if !notFound(errs[i]) {
					res.headErrs++
				}
				continue
			}
			if digs[i] == dig {
				res.found = t
				return res
			}
		}
	}
	if ctx.Err() != nil && res.searched < len(order) {
		res.stopped = describeErr(ctx, ctx.Err())
	}
	return res
}

// bound is the number of tags a search may compare; -1 means off.
func (d *Diagnoser) bound() int {
	switch n := d.cfg.Pins.TagSearch; {
	case n < 0:
		return -1
	case n == 0:
		return config.DefaultTagSearch
	default:
		return n
	}
}
