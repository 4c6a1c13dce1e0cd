package diagnose

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/regclient/regclient/types/platform"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/imgref"
)

// platformParallel bounds the GETs CheckPlatforms sends at once.
const platformParallel = 8

// tagPlatforms is what a tag's current digest provides.
type tagPlatforms struct {
	isIndex bool
	have    []platform.Platform
	err     error
}

// CheckPlatforms checks that the current digest of every resolved tag in
// findings provides each platform of the config's platforms list. It costs
// one GET per unique current digest (two for a single-platform image: its
// manifest and config), shared with earlier diagnoses; nothing when the
// list is empty.
//
// The statuses are a contract, so a gap does not get one: the message of
// every finding of that tag says which platforms are missing (its status is
// kept), and gaps holds one line per tag, at its first reference, for
// stderr; check exits 1 when there are any. errs holds the tags whose
// platforms could not be read. findings is changed in place.
func (d *Diagnoser) CheckPlatforms(ctx context.Context, findings []finding.Finding) (gaps, errs []finding.Problem) {
	if len(d.cfg.Platforms) == 0 || d.client() == nil {
		return nil, nil
	}
	type target struct{ image, digest string }
	var order []target
	seen := map[target]bool{}
	for _, f := range findings {
		if f.Resolved == nil || f.Image == nil || f.Status == finding.Error || f.Status == finding.Skipped {
			continue
		}
		t := target{*f.Image, *f.Resolved}
		if !seen[t] {
			seen[t] = true
			order = append(order, t)
		}
	}
	results := make(map[target]tagPlatforms, len(order))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, platformParallel)
	for _, t := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tp := d.platformsOf(ctx, t.image, t.digest)
			mu.Lock()
			results[t] = tp
			mu.Unlock()
		}()
	}
	wg.Wait()

	type tagKey struct{ image, tag, digest string }
	reported := map[tagKey]bool{}
	for i := range findings {
		f := &findings[i]
		if f.Resolved == nil || f.Image == nil || f.Status == finding.Error || f.Status == finding.Skipped {
			continue
		}
		tp := results[target{*f.Image, *f.Resolved}]
		tk := tagKey{*f.Image, finding.Deref(f.Tag), *f.Resolved}
		name := displayImage(*f.Image) + ":" + tagOrLatest(f.Tag)
		if tp.err != nil {
			if !reported[tk] {
				reported[tk] = true
				errs = append(errs, finding.Problem{File: f.File, Line: f.Line,
					Message: fmt.Sprintf("%s: could not read the platforms of %s (%s) to check the platforms required in %s; retry later", name, short(*f.Resolved), describeErr(ctx, tp.err), configName(d.cfg))})
			}
			continue
		}
		lacking := missingPlatforms(d.cfg.Platforms, tp.have)
		if len(lacking) == 0 {
			continue
		}
		what := "index"
		if !tp.isIndex {
			what = "single-platform image"
		}
		s := "platform"
		if len(lacking) > 1 {
			s = "platforms"
		}
		note := fmt.Sprintf("%s lacks required %s %s (it has %s)", what, s, strings.Join(lacking, ", "), platformList(tp.have))
		if f.Message == "" {
			f.Message = note
		} else {
			f.Message += "; " + note
		}
		// The status stays (it is about the pin); the finding itself says
		// it needs action, so JSON and the exit code agree.
		f.NeedsAction = true
		if !reported[tk] {
			reported[tk] = true
			gaps = append(gaps, finding.Problem{File: f.File, Line: f.Line,
				Message: fmt.Sprintf("%s: the tag's %s lacks required %s %s (it has %s); required by platforms in %s",
					name, what, s, strings.Join(lacking, ", "), platformList(tp.have), configName(d.cfg))})
		}
	}
	return gaps, errs
}

// platformsOf reads the platforms a digest provides: an index's children,
// or a single image's config.
func (d *Diagnoser) platformsOf(ctx context.Context, image, dig string) tagPlatforms {
	registry, repository, ok := strings.Cut(image, "/")
	if !ok {
		return tagPlatforms{err: fmt.Errorf("bad image name %q", image)}
	}
	repo, err := repoRef(registry, repository)
	if err != nil {
		return tagPlatforms{err: err}
	}
	mi, err := d.getManifest(ctx, repo, dig)
	if err != nil {
		return tagPlatforms{err: err}
	}
	if mi.isIndex {
		tp := tagPlatforms{isIndex: true}
		for _, c := range mi.children {
			if c.known {
				tp.have = append(tp.have, c.platform)
			}
		}
		return tp
	}
	if mi.config.Digest == "" {
		return tagPlatforms{}
	}
	cfg, err := d.getConfig(ctx, repo, mi.config.Digest.String(), mi.config.Size)
	if err != nil {
		return tagPlatforms{err: err}
	}
	return tagPlatforms{have: []platform.Platform{cfg.platform()}}
}

// missingPlatforms returns the required platforms (as written in the
// config) that none of have matches: linux/arm64 and linux/arm64/v8 are
// the same platform.
func missingPlatforms(required []string, have []platform.Platform) []string {
	var out []string
	for _, r := range required {
		want, err := platform.Parse(r)
		if err != nil {
			out = append(out, r)
			continue
		}
		found := false
		for _, h := range have {
			if platform.Match(want, h) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, r)
		}
	}
	return out
}

func platformList(ps []platform.Platform) string {
	if len(ps) == 0 {
		return "no platform"
	}
	seen := map[string]bool{}
	var s []string
	for _, p := range ps {
		if n := p.String(); !seen[n] {
			seen[n] = true
			s = append(s, n)
		}
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

func displayImage(image string) string {
	registry, repository, _ := strings.Cut(image, "/")
	return names{registry: registry, repository: repository}.short()
}

func tagOrLatest(t *string) string {
	if t == nil || *t == "" {
		return imgref.DefaultTag
	}
	return *t
}

func configName(c *config.Config) string {
	if c.Path != "" {
		return config.FileName
	}
	return "the config"
}
