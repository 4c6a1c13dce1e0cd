package pin

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/digestbot/digestbot/pkg/imgref"
	"github.com/digestbot/digestbot/pkg/report"
	"github.com/digestbot/digestbot/pkg/resolve"
	"github.com/digestbot/digestbot/pkg/scan"
	"github.com/digestbot/digestbot/rewriters"
)

// Resolver is what Run needs of resolve.Resolver.
type Resolver interface {
	Resolve(ctx context.Context, keys []resolve.Key, progress func(done, total int)) map[resolve.Key]resolve.Result
}

// Diagnosis explains a pinned digest that is not the tag's current digest.
type Diagnosis struct {
	Status  report.Status // stale, mismatch, platform, image-id or missing
	Message string
	// Fix is the digest fix writes; empty means the tag's current digest.
	Fix string
}

// Diagnoser tells apart the ways a pin can differ from its tag. Without
// one, every differing pin is stale.
type Diagnoser interface {
	Diagnose(ctx context.Context, key resolve.Key, current resolve.Result, pinned string) Diagnosis
}

// DigestOnlyDescriber optionally names the tag that points at a digest-only
// pin.
type DigestOnlyDescriber interface {
	DescribeDigest(ctx context.Context, registry, repository, digest string) string
}

// Options configure Run.
type Options struct {
	Resolver  Resolver
	Diagnoser Diagnoser
	// Progress is called as tags are resolved.
	Progress func(done, total int)
}

// KeyOf is the tag lookup a parsed reference needs.
func KeyOf(r imgref.Ref) resolve.Key {
	return resolve.Key{Registry: r.Registry, Repository: r.Repository, Tag: r.TagOrLatest()}
}

// Run resolves every unique tag once and decides a verdict per reference.
// It computes the new content of each file that fix would change but writes
// nothing.
func Run(ctx context.Context, files []*scan.File, opts Options) (*Outcome, error) {
	seen := map[resolve.Key]bool{}
	var keys []resolve.Key
	for _, f := range files {
		for _, r := range f.Refs {
			if r.Skip != "" || (r.Parsed.Digest != "" && r.Parsed.Tag == "") {
				continue
			}
			k := KeyOf(r.Parsed)
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	results := map[resolve.Key]resolve.Result{}
	if len(keys) > 0 {
		results = opts.Resolver.Resolve(ctx, keys, opts.Progress)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Diagnoses cost requests; ask once per (tag, digest) pair.
	type pair struct {
		k resolve.Key
		d string
	}
	diagnoses := map[pair]Diagnosis{}
	describeOnly := map[pair]string{}
	if opts.Diagnoser != nil {
		// Diagnoses wait on registries: run them concurrently before the
		// verdicts (which then read the maps), a few at a time.
		describer, _ := opts.Diagnoser.(DigestOnlyDescriber)
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
		for _, f := range files {
			for _, r := range f.Refs {
				p := r.Parsed
				if r.Skip != "" || p.Digest == "" {
					continue
				}
				if p.Tag == "" {
					key := pair{resolve.Key{Registry: p.Registry, Repository: p.Repository}, p.Digest}
					if describer == nil || queued[key] {
						continue
					}
					queued[key] = true
					start(func() {
						msg := describer.DescribeDigest(ctx, p.Registry, p.Repository, p.Digest)
						mu.Lock()
						describeOnly[key] = msg
						mu.Unlock()
					})
					continue
				}
				k := KeyOf(p)
				res := results[k]
				key := pair{k, p.Digest}
				if res.Err != nil || res.Digest == "" || p.Digest == res.Digest || !imgref.ValidDigest(p.Digest) || queued[key] {
					continue
				}
				queued[key] = true
				start(func() {
					dg := opts.Diagnoser.Diagnose(ctx, k, res, p.Digest)
					mu.Lock()
					diagnoses[key] = dg
					mu.Unlock()
				})
			}
		}
		wg.Wait()
	}

	out := &Outcome{}
	for _, f := range files {
		var edits []rewriters.Edit
		var changes []Change
		for _, r := range f.Refs {
			fd := r.Finding(f)
			p := r.Parsed
			switch {
			case r.Skip != "":
				// Finding already says skipped and why.
			case p.Digest != "" && p.Tag == "":
				fd.Status = report.DigestOnly
				fd.Message = "digest only: no tag to refresh"
				if d, ok := opts.Diagnoser.(DigestOnlyDescriber); ok {
					key := pair{resolve.Key{Registry: p.Registry, Repository: p.Repository}, p.Digest}
					msg, done := describeOnly[key]
					if !done {
						msg = d.DescribeDigest(ctx, p.Registry, p.Repository, p.Digest)
						describeOnly[key] = msg
					}
					if msg != "" {
						fd.Message = msg
					}
				}
			default:
				k := KeyOf(p)
				res := results[k]
				if res.Err == nil && res.Digest == "" {
					res.Err = fmt.Errorf("%s: no result from the resolver", k)
				}
				if res.Err != nil {
					fd.Status, fd.Message = report.Error, res.Err.Error()
					break
				}
				fd.Resolved = report.Str(res.Digest)
				fix := res.Digest
				switch {
				case p.Digest == "":
					fd.Status = report.Unpinned
					if p.Tag == "" {
						fd.Message = "no tag: pinned as " + p.Pinned(res.Digest)[len(p.Name)+1:]
					}
				case p.Digest == res.Digest:
					fd.Status = report.OK
					fd.Message = ""
				case !imgref.ValidDigest(p.Digest):
					fd.Status = report.Missing
					fd.Message = fmt.Sprintf("digest %s is malformed and cannot exist in any registry; pulls fail", p.Digest)
				case opts.Diagnoser != nil:
					key := pair{k, p.Digest}
					dg, done := diagnoses[key]
					if !done {
						dg = opts.Diagnoser.Diagnose(ctx, k, res, p.Digest)
						diagnoses[key] = dg
					}
					fd.Status, fd.Message = dg.Status, dg.Message
					if dg.Fix != "" {
						fix = dg.Fix
					}
				default:
					fd.Status = report.Stale
					fd.Message = fmt.Sprintf("%s has moved on to %s", p.Name+":"+p.TagOrLatest(), short(res.Digest))
				}
				if fd.Status.NeedsAction() && fix != p.Digest {
					newText := p.Pinned(fix)
					edits = append(edits, rewriters.Edit{Span: r.Span, New: newText})
					changes = append(changes, Change{
						File: f.Path, Line: r.Line, Column: r.Column, Old: r.Text, New: newText,
						Image: p.Image(), Tag: p.TagOrLatest(), OldDigest: p.Digest, NewDigest: fix,
						Status: fd.Status, Message: fd.Message,
					})
				}
			}
			out.Findings = append(out.Findings, fd)
		}
		if len(edits) > 0 {
			newSrc, err := rewriters.Splice(f.Src, edits)
			if err != nil {
				// Overlapping spans are a rewriter bug: leave the file alone.
				out.Problems = append(out.Problems, report.Problem{File: f.Path, Message: fmt.Sprintf("internal error: %v; file left untouched, please report this", err)})
				continue
			}
			out.Files = append(out.Files, FileChange{File: f, New: newSrc, Changes: changes})
		}
	}
	report.Sort(out.Findings)
	sort.Slice(out.Files, func(i, j int) bool { return out.Files[i].File.Path < out.Files[j].File.Path })
	return out, nil
}

// diagnoseConcurrency bounds the diagnoses in flight at once.
const diagnoseConcurrency = 8

// short abbreviates a digest for messages: sha256:1234567890ab.
func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
