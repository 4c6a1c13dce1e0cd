package plan

import (
	"context"
	"fmt"
	"sync"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/imgref"
	"github.com/digestbot/digestbot/pkg/verify"
)

// verdict is one reference's finding, the digest fix would write ("" for
// none) and, when a signature policy refused that digest, the one line fix
// and pr print about it.
type verdict struct {
	fd      finding.Finding
	fix     string
	refused string
}

// verifyConcurrency bounds the signature verifications in flight.
const verifyConcurrency = 8

// sigKey is one digest of one repository.
type sigKey struct{ registry, repository, digest string }

// target is the digest whose signature matters for a reference: the one
// fix would write, else the one already pinned; "" for none (skipped,
// error, unpinned with nothing resolved).
func target(it *item, v verdict) string {
	switch v.fd.Status {
	case finding.Skipped, finding.Error:
		return ""
	}
	if v.fd.Status.NeedsAction() && v.fix != "" && v.fix != it.p.Digest {
		return v.fix
	}
	if it.p.Digest != "" && imgref.ValidDigest(it.p.Digest) {
		return it.p.Digest
	}
	return ""
}

// signatures verifies, once per (repository, digest) and concurrently, the
// digest that matters of every reference a verify rule covers, and applies
// the verdicts: a verified digest keeps its status and says who signed; an
// unverified one becomes unsigned and is not written (the old bytes stay);
// one whose signatures could not be read becomes an error. References no
// rule covers are not touched and cost nothing.
func signatures(ctx context.Context, v Verifier, all [][]*item, verdicts [][]verdict) {
	results := map[sigKey]verifyResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, verifyConcurrency)
	for fi, its := range all {
		for i, it := range its {
			t := target(it, verdicts[fi][i])
			if t == "" || !v.Applies(it.p.Image()) {
				continue
			}
			k := sigKey{it.p.Registry, it.p.Repository, t}
			// The map is written by the verifying goroutines too: every
			// access holds mu (go test -race).
			mu.Lock()
			_, queued := results[k]
			if !queued {
				results[k] = verifyResult{}
			}
			mu.Unlock()
			if queued {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				r := v.Verify(ctx, k.registry, k.repository, k.digest)
				mu.Lock()
				results[k] = verifyResult{r, true}
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	for fi, its := range all {
		for i, it := range its {
			vd := &verdicts[fi][i]
			t := target(it, *vd)
			if t == "" {
				continue
			}
			r, ok := results[sigKey{it.p.Registry, it.p.Repository, t}]
			if !ok || !r.done {
				continue
			}
			applySignature(it, vd, t, r.Result)
		}
	}
}

type verifyResult struct {
	verify.Result
	done bool
}

func applySignature(it *item, vd *verdict, t string, r verify.Result) {
	p := it.p
	fd := &vd.fd
	writes := fd.Status.NeedsAction() && vd.fix != "" && vd.fix != p.Digest
	fd.Signature = &finding.Signature{Verified: r.Verified, Digest: t, Signer: r.Signer, Issuer: r.Issuer, Reason: r.Reason}
	switch {
	case r.Err != nil:
		fd.Status, fd.Message, vd.fix = finding.Error, r.Err.Error(), ""
		fd.Signature.Reason = r.Err.Error()
	case r.Verified:
		fd.Message = joinMsg(fd.Message, r.Message())
	default:
		tag := p.Name + ":" + p.TagOrLatest()
		var msg string
		switch {
		case !writes:
			msg = "pinned digest " + short(t) + ": " + r.Reason
		case p.Digest == "":
			msg = fmt.Sprintf("%s points to %s: %s; fix does not pin it", tag, short(t), r.Reason)
		default:
			msg = fmt.Sprintf("%s now points to %s (%s): %s; fix keeps the pin at %s", tag, short(t), fd.Status, r.Reason, short(p.Digest))
		}
		if writes {
			vd.refused = "not pinned, no signature satisfies the verify policy: " + msg
		}
		fd.Status, fd.Message, vd.fix = finding.Unsigned, msg, ""
	}
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
