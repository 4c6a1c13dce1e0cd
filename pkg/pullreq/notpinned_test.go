package pullreq

import (
	"fmt"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/finding"
)

// TestNotPinnedNote: references fix left alone are listed under the PR
// table, one line each, bounded.
func TestNotPinnedNote(t *testing.T) {
	t.Parallel()
	if got := NotPinnedNote(nil); got != "" {
		t.Errorf("no notes: %q", got)
	}
	msg := "not pinned, no signature satisfies the verify policy: ghcr.io/acme/app:1 points to sha256:0123456789ab: no signature"
	one := NotPinnedNote([]finding.Problem{{File: "Dockerfile", Line: 3, Message: msg}})
	// Registry text is escaped as everywhere in Markdown.
	for _, want := range []string{"**Not pinned** (1): digestbot left this reference as it is:", "- `Dockerfile:3`: " + escapeMD(msg) + "\n"} {
		if !strings.Contains(one, want) {
			t.Errorf("note lacks %q:\n%s", want, one)
		}
	}
	var many []finding.Problem
	for i := range maxNotPinned + 5 {
		many = append(many, finding.Problem{File: "k8s/app.yaml", Line: i + 1, Message: "not pinned"})
	}
	got := NotPinnedNote(many)
	if strings.Count(got, "\n- `k8s/app.yaml:") != maxNotPinned || !strings.Contains(got, "- … and 5 more") {
		t.Errorf("bounded note:\n%s", got)
	}
}

// TestSummaryNeverSuggestsUnsigned: the comment's table says why an
// unsigned digest is not pinned instead of offering to pin it.
func TestSummaryNeverSuggestsUnsigned(t *testing.T) {
	t.Parallel()
	dig := "sha256:" + strings.Repeat("ab", 32)
	f := finding.Finding{File: "Dockerfile", Line: 1, Ref: "ghcr.io/acme/app:1", Status: finding.Unsigned, Resolved: finding.Str(dig),
		Message: "ghcr.io/acme/app:1 points to sha256:abababababab: no signature"}
	md := summaryMarkdown(CommentResult{Checked: 1, NeedsAction: 1}, []finding.Finding{f}, nil)
	if strings.Contains(md, "pin to") || !strings.Contains(md, "| unsigned | not pinned: ") {
		t.Errorf("summary:\n%s", md)
	}
	if !strings.Contains(fmt.Sprint(findingText(f)), "digestbot does not pin an unverified digest") {
		t.Errorf("advice: %s", findingText(f))
	}
}
