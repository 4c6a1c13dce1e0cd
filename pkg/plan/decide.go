package plan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/diagnose"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/imgref"
	"github.com/digestbot/digestbot/pkg/resolve"
	"github.com/digestbot/digestbot/pkg/scan"
	"github.com/digestbot/digestbot/pkg/verify"
	"github.com/digestbot/digestbot/rewriters"
)

// Resolver is what Decide needs of resolve.Resolver.
type Resolver interface {
	Resolve(ctx context.Context, keys []resolve.Key, progress func(done, total int)) map[resolve.Key]resolve.Result
}

// Diagnoser tells apart the ways a pin can differ from its tag, and names
// the tag of a digest-only pin. Without one, every differing pin is stale.
// *diagnose.Diagnoser is the real one.
type Diagnoser interface {
	Diagnose(ctx context.Context, key resolve.Key, current resolve.Result, pinned string) diagnose.Diagnosis
	// DescribeDigest explains a digest-only pin: digest-only, or missing /
	// image-id when pulls fail; an empty message keeps the default.
	DescribeDigest(ctx context.Context, repo resolve.Key, digest string) diagnose.Diagnosis
}

var _ Diagnoser = (*diagnose.Diagnoser)(nil)

// Verifier checks signatures against the config's verify rules.
// *verify.Verifier is the real one.
type Verifier interface {
	Applies(image string) bool
	Verify(ctx context.Context, registry, repository, digest string) verify.Result
}

var _ Verifier = (*verify.Verifier)(nil)

// DecideOptions configure Decide.
type DecideOptions struct {
	Resolver  Resolver
	Diagnoser Diagnoser
	// Verifier, when set, checks the signature of the digest that matters
	// for every reference a verify rule covers (see signatures).
	Verifier Verifier
	// Config supplies ignore and pins.composed; nil means defaults.
	Config *config.Config
	// Progress is called as tags are resolved.
	Progress func(done, total int)
}

// Offline decides the statuses scan reports, with no registry: unpinned,
// pinned or skipped.
func Offline(files []*scan.File, cfg *config.Config) []finding.Finding {
	all := items(files, cfg)
	byItem := map[*item]*finding.Finding{}
	var out []*finding.Finding
	for _, its := range all {
		for _, it := range its {
			fd := it.offline()
			fd.Message = withNote(fd.Message, it.ref.Note)
			byItem[it] = &fd
			out = append(out, &fd)
		}
	}
	overrides(all, byItem)
	findings := make([]finding.Finding, len(out))
	for i, fd := range out {
		findings[i] = *fd
	}
	finding.Sort(findings)
	return findings
}

// Decide resolves every unique tag once and decides a verdict per
// reference. It computes the new content of each file that fix would
// change (from each reference's own edits) but writes nothing.
func Decide(ctx context.Context, files []*scan.File, opts DecideOptions) (*Outcome, error) {
	all := items(files, opts.Config)
	seen := map[resolve.Key]bool{}
	var keys []resolve.Key
	for _, its := range all {
		for _, it := range its {
			if !it.resolvable() {
				continue
			}
			if k := resolve.KeyOf(it.p); !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	results := map[resolve.Key]resolve.Result{}
	if len(keys) > 0 {
		results = opts.Resolver.Resolve(ctx, keys, opts.Progress)
	}
	return decide(ctx, files, all, results, opts)
}

// decide is Decide once every tag is resolved: all holds the items of
// files (parsed once), results the lookups of their tags.
func decide(ctx context.Context, files []*scan.File, all [][]*item, results map[resolve.Key]resolve.Result, opts DecideOptions) (*Outcome, error) {
	// The run's deadline (--timeout) keeps what was resolved: the rest are
	// errors that say so. An interrupt ends the run.
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	d := diagnoses{diagnoser: opts.Diagnoser, results: results,
		differ: map[pair]diagnose.Diagnosis{}, only: map[pair]diagnose.Diagnosis{}}
	d.run(ctx, all)

	out := &Outcome{Config: opts.Config, sources: map[string][]byte{}}
	for _, f := range files {
		out.sources[f.Path] = f.Src
	}
	// Verdicts first, then the signatures of the digests that matter, then
	// the edits.
	verdicts := make([][]verdict, len(all))
	for fi, its := range all {
		verdicts[fi] = make([]verdict, len(its))
		for i, it := range its {
			verdicts[fi][i].fd, verdicts[fi][i].fix = d.verdict(ctx, it)
		}
	}
	if opts.Verifier != nil {
		signatures(ctx, opts.Verifier, all, verdicts)
	}
	byItem := map[*item]*finding.Finding{}
	var ordered []*finding.Finding
	for fi, its := range all {
		f := files[fi]
		var edits []rewriters.Edit
		var changes []finding.Change
		for i, it := range its {
			fd, fix := verdicts[fi][i].fd, verdicts[fi][i].fix
			if note := verdicts[fi][i].refused; note != "" {
				out.Unpinnable = append(out.Unpinnable, finding.Problem{File: f.Path, Line: it.ref.Line, Message: note})
			}
			if fd.Status.NeedsAction() && fix != "" && fix != it.p.Digest {
				es, err := it.ref.Pin(fix)
				switch {
				case errors.Is(err, rewriters.ErrCannotPin):
					out.Unpinnable = append(out.Unpinnable, finding.Problem{File: f.Path, Line: it.ref.Line, Message: oneLine(err.Error())})
				case err != nil:
					fd.Status, fd.Message = finding.Error, fmt.Sprintf("the registry's digest for %s cannot be written: %v", resolve.KeyOf(it.p), err)
				default:
					edits = append(edits, es...)
					changes = append(changes, finding.Change{
						File: f.Path, Line: it.ref.Line, Column: it.ref.Column, Lines: linesOf(f.Src, es),
						Old: it.ref.Text, Image: it.p.Image(), Tag: it.p.TagOrLatest(), OldDigest: it.p.Digest, NewDigest: fix,
						Status: fd.Status, Message: fd.Message,
					})
				}
			}
			fd.Message = withNote(fd.Message, it.ref.Note)
			byItem[it] = &fd
			ordered = append(ordered, &fd)
		}
		if len(edits) > 0 {
			newSrc, err := rewriters.Splice(f.Src, edits)
			if err != nil {
				// Overlapping edits are a format bug: leave the file alone.
				out.Problems = append(out.Problems, finding.Problem{File: f.Path, Message: fmt.Sprintf("internal error: %v; file left untouched, please report this", err)})
				continue
			}
			out.Files = append(out.Files, FileChange{File: f, New: newSrc, Changes: changes})
		}
	}
	overrides(all, byItem)
	for _, fd := range ordered {
		out.Findings = append(out.Findings, *fd)
	}
	finding.Sort(out.Findings)
	sort.Slice(out.Files, func(i, j int) bool { return out.Files[i].File.Path < out.Files[j].File.Path })
	return out, nil
}

// linesOf returns the 1-based lines the edits touch, in order, once each.
func linesOf(src []byte, edits []rewriters.Edit) []int {
	var lines []int
	seen := map[int]bool{}
	for _, e := range edits {
		l, _ := rewriters.LineCol(src, e.Span.Start)
		if !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	sort.Ints(lines)
	return lines
}

// pair is one pinned digest of one tag (or of a repository, Tag "").
type pair struct {
	k resolve.Key
	d string
}

// diagnoses asks the diagnoser once per pair, concurrently, before the
// verdicts are decided (which then read the maps).
type diagnoses struct {
	diagnoser Diagnoser
	results   map[resolve.Key]resolve.Result
	differ    map[pair]diagnose.Diagnosis
	only      map[pair]diagnose.Diagnosis
}

// diagnoseConcurrency bounds the diagnoses in flight at once.
const diagnoseConcurrency = 8

func (d *diagnoses) run(ctx context.Context, all [][]*item) {
	if d.diagnoser == nil {
		return
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, diagnoseConcurrency)
	start := func(f func()) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f()
		}()
	}
	queued := map[pair]bool{}
	for _, its := range all {
		for _, it := range its {
			p := it.p
			if it.skip != "" || p.Digest == "" {
				continue
			}
			if it.digestOnly() {
				key := pair{resolve.RepoKey(p), p.Digest}
				if queued[key] {
					continue
				}
				queued[key] = true
				start(func() {
					dg := d.diagnoser.DescribeDigest(ctx, key.k, p.Digest)
					mu.Lock()
					d.only[key] = dg
					mu.Unlock()
				})
				continue
			}
			k := resolve.KeyOf(p)
			res := d.results[k]
			key := pair{k, p.Digest}
			if res.Err != nil || res.Digest == "" || p.Digest == res.Digest || !imgref.ValidDigest(p.Digest) || queued[key] {
				continue
			}
			queued[key] = true
			start(func() {
				dg := d.diagnoser.Diagnose(ctx, k, res, p.Digest)
				mu.Lock()
				d.differ[key] = dg
				mu.Unlock()
			})
		}
	}
	wg.Wait()
}

// verdict decides one reference's finding and the digest fix writes ("" for
// none).
func (d *diagnoses) verdict(ctx context.Context, it *item) (finding.Finding, string) {
	fd := it.finding()
	p := it.p
	switch {
	case it.invalid != "":
		fd.Status, fd.Message = finding.Error, it.invalid
		return fd, ""
	case it.skip != "":
		fd.Status, fd.Message = finding.Skipped, it.skip
		return fd, ""
	case it.digestOnly():
		// Anything that fails a pull needs action, tag or no tag: a
		// digest-only pin that does not exist is missing (fix cannot
		// choose a digest for it: there is no tag to follow).
		fd.Status = finding.DigestOnly
		fd.Message = "digest only: no tag to refresh"
		if !imgref.ValidDigest(p.Digest) {
			fd.Status = finding.Missing
			fd.Message = fmt.Sprintf("digest only: %s is malformed and cannot exist in any registry; pulls fail", p.Digest)
		} else if d.diagnoser != nil {
			dg := d.only[pair{resolve.RepoKey(p), p.Digest}]
			if dg.Status != "" {
				fd.Status = dg.Status
			}
			if dg.Message != "" {
				fd.Message = dg.Message
			}
		}
		return fd, ""
	}
	k := resolve.KeyOf(p)
	res := d.results[k]
	if res.Err == nil && res.Digest == "" {
		res.Err = fmt.Errorf("%s: no result from the resolver", k)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			res.Err = fmt.Errorf("%s: timed out: not checked before the run's --timeout", k)
		}
	}
	if res.Err != nil {
		fd.Status, fd.Message = finding.Error, res.Err.Error()
		return fd, ""
	}
	fd.Resolved = finding.Str(res.Digest)
	fix := res.Digest
	switch {
	case p.Digest == "":
		fd.Status = finding.Unpinned
		if p.Tag == "" {
			fd.Message = "no tag: pinned as " + p.TagOrLatest() + "@" + res.Digest
		}
	case p.Digest == res.Digest:
		fd.Status = finding.OK
	case !imgref.ValidDigest(p.Digest):
		fd.Status = finding.Missing
		fd.Message = fmt.Sprintf("digest %s is malformed and cannot exist in any registry; pulls fail", p.Digest)
	case d.diagnoser != nil:
		key := pair{k, p.Digest}
		dg, done := d.differ[key]
		if !done {
			dg = d.diagnoser.Diagnose(ctx, k, res, p.Digest)
			d.differ[key] = dg
		}
		fd.Status, fd.Message = dg.Status, dg.Message
		if dg.Fix != "" {
			fix = dg.Fix
		}
	default:
		fd.Status = finding.Stale
		fd.Message = fmt.Sprintf("%s has moved on to %s", p.Name+":"+p.TagOrLatest(), short(res.Digest))
	}
	return fd, fix
}

// short abbreviates a digest for messages: sha256:1234567890ab.
func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
