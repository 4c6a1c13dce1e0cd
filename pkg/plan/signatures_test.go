package plan

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/scan"
	"github.com/digestbot/digestbot/pkg/verify"
)

// fakeVerifier covers ghcr.io/acme/*: signed digests verify, failing ones
// cannot be looked up, the rest are unsigned. It records what was asked.
type fakeVerifier struct {
	mu      sync.Mutex
	signed  map[string]bool
	failing map[string]bool
	asked   []string
}

func (f *fakeVerifier) Applies(image string) bool { return config.Match("ghcr.io/acme/*", image) }

func (f *fakeVerifier) Verify(_ context.Context, registry, repository, digest string) verify.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, registry+"/"+repository+"@"+digest)
	switch {
	case f.failing[digest]:
		return verify.Result{Err: fmt.Errorf("%w: ghcr.io/acme: HTTP 502", verify.ErrLookup)}
	case f.signed[digest]:
		return verify.Result{Verified: true, Signer: "key cosign.pub"}
	}
	return verify.Result{Reason: "no signature: neither the cosign tag nor a referrer exists"}
}

// TestSignatureVerdicts: the digest that matters is verified once per
// repository and digest; verified refs keep their status and say who
// signed; unverified ones become unsigned and are not written, with one
// line saying why; lookups that fail are errors; images no rule covers are
// never asked about.
func TestSignatureVerdicts(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{tags: map[string]string{
		"ghcr.io/acme/signed:1":     dg("1"),
		"ghcr.io/acme/unsigned:1":   dg("2"),
		"ghcr.io/acme/moved:1":      dg("3"), // pinned at 4 (signed), now 3 (unsigned)
		"ghcr.io/acme/okpin:1":      dg("5"), // pinned at 5, unsigned
		"ghcr.io/acme/broken:1":     dg("6"),
		"docker.io/library/node:20": dg("7"),
	}}
	vf := &fakeVerifier{signed: map[string]bool{dg("1"): true, dg("4"): true, dg("8"): true}, failing: map[string]bool{dg("6"): true}}
	src := "FROM ghcr.io/acme/signed:1\nFROM ghcr.io/acme/unsigned:1\nFROM ghcr.io/acme/moved:1@" + dg("4") +
		"\nFROM ghcr.io/acme/okpin:1@" + dg("5") + "\nFROM ghcr.io/acme/broken:1\nFROM node:20\nFROM ghcr.io/acme/signed:1 AS again\nFROM ghcr.io/acme/only@" + dg("8") + "\n"
	f := file(t, "Dockerfile", src, "ghcr.io/acme/signed:1", "ghcr.io/acme/unsigned:1", "ghcr.io/acme/moved:1@"+dg("4"),
		"ghcr.io/acme/okpin:1@"+dg("5"), "ghcr.io/acme/broken:1", "node:20", "ghcr.io/acme/signed:1", "ghcr.io/acme/only@"+dg("8"))
	out, err := Decide(context.Background(), []*scan.File{f}, DecideOptions{Resolver: res, Verifier: vf})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		status   finding.Status
		msg      string
		verified *bool
	}
	yes, no := true, false
	wants := []want{
		{finding.Unpinned, "signed with key cosign.pub", &yes},
		{finding.Unsigned, "ghcr.io/acme/unsigned:1 points to " + dg("2")[:19] + ": no signature: neither the cosign tag nor a referrer exists; fix does not pin it", &no},
		{finding.Unsigned, "ghcr.io/acme/moved:1 now points to " + dg("3")[:19] + " (stale): no signature", &no},
		{finding.Unsigned, "pinned digest " + dg("5")[:19] + ": no signature", &no},
		{finding.Error, "signature lookup failed: ghcr.io/acme: HTTP 502", &no},
		{finding.Unpinned, "", nil},
		{finding.Unpinned, "signed with key cosign.pub", &yes},
		{finding.DigestOnly, "signed with key cosign.pub", &yes},
	}
	if len(out.Findings) != len(wants) {
		t.Fatalf("%d findings", len(out.Findings))
	}
	for i, w := range wants {
		fd := out.Findings[i]
		if fd.Status != w.status || !strings.Contains(fd.Message, w.msg) {
			t.Errorf("%s: %s %q; want %s containing %q", fd.Ref, fd.Status, fd.Message, w.status, w.msg)
		}
		switch {
		case w.verified == nil && fd.Signature != nil:
			t.Errorf("%s: signature %+v for an image no rule covers", fd.Ref, fd.Signature)
		case w.verified != nil && (fd.Signature == nil || fd.Signature.Verified != *w.verified):
			t.Errorf("%s: signature %+v, want verified=%v", fd.Ref, fd.Signature, *w.verified)
		}
	}
	// Only signed:1 (twice, one edit each) and node:20 are written.
	if len(out.Files) != 1 {
		t.Fatalf("files %d", len(out.Files))
	}
	got := string(out.Files[0].New)
	wantSrc := "FROM ghcr.io/acme/signed:1@" + dg("1") + "\nFROM ghcr.io/acme/unsigned:1\nFROM ghcr.io/acme/moved:1@" + dg("4") +
		"\nFROM ghcr.io/acme/okpin:1@" + dg("5") + "\nFROM ghcr.io/acme/broken:1\nFROM node:20@" + dg("7") + "\nFROM ghcr.io/acme/signed:1@" + dg("1") + " AS again\nFROM ghcr.io/acme/only@" + dg("8") + "\n"
	if got != wantSrc {
		t.Errorf("new content:\n%s\nwant:\n%s", got, wantSrc)
	}
	// One line for each ref fix would have written and did not.
	var lines []string
	for _, p := range out.Unpinnable {
		lines = append(lines, p.String())
	}
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Dockerfile:2: not pinned, no signature satisfies the verify policy: ") ||
		!strings.HasPrefix(lines[1], "Dockerfile:3: not pinned, no signature satisfies the verify policy: ") {
		t.Errorf("unpinnable lines:\n%s", strings.Join(lines, "\n"))
	}
	// Each (repository, digest) once; node never.
	seen := map[string]int{}
	for _, a := range vf.asked {
		seen[a]++
		if seen[a] > 1 || strings.Contains(a, "node") {
			t.Errorf("asked %s", a)
		}
	}
	if len(vf.asked) != 6 {
		t.Errorf("asked %d digests: %v", len(vf.asked), vf.asked)
	}
	if d := out.Findings[0].Signature.Digest; d != dg("1") {
		t.Errorf("signature digest %q", out.Findings[0].Signature.Digest)
	}
}
