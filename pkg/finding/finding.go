package finding

import (
	"fmt"
	"github.com/digestbot/digestbot/internal/safetext"
	"sort"
)

// Finding is one reference and its verdict, as printed by scan and check.
// The JSON shape is the contract.
type Finding struct {
	File     string  `json:"file"`
	Line     int     `json:"line"`
	Column   int     `json:"column"`
	Kind     string  `json:"kind"`
	Ref      string  `json:"ref"`
	Image    *string `json:"image"`
	Tag      *string `json:"tag"`
	Digest   *string `json:"digest"`
	Status   Status  `json:"status"`
	Resolved *string `json:"resolved"`
	Message  string  `json:"message"`
	// NeedsAction says that this reference needs action: its status does
	// (unpinned, stale, …), or something the status cannot say does (a
	// tag whose index lacks a required platform keeps status ok). check
	// exits 1 exactly when a finding says so.
	NeedsAction bool `json:"needs_action,omitempty"`
	// Signature is the verify policy's verdict on the digest that matters
	// (the one fix writes, else the one pinned); absent for images no
	// verify rule matches.
	Signature *Signature `json:"signature,omitempty"`
}

// Actionable reports whether the finding needs action, by its status or
// by its NeedsAction mark.
func (f Finding) Actionable() bool { return f.NeedsAction || f.Status.NeedsAction() }

// MarkActions sets NeedsAction on every finding whose status needs action,
// so the JSON says it without a reader knowing the status table.
func MarkActions(fs []Finding) {
	for i := range fs {
		if fs[i].Status.NeedsAction() {
			fs[i].NeedsAction = true
		}
	}
}

// Signature is the verdict of a verify rule on one digest.
type Signature struct {
	Verified bool `json:"verified"`
	// Digest is the digest verified.
	Digest string `json:"digest"`
	// Signer is who signed, when verified: "key cosign.pub" or the
	// certificate identity (SAN).
	Signer string `json:"signer,omitempty"`
	// Issuer is the OIDC issuer of a keyless signer.
	Issuer string `json:"issuer,omitempty"`
	// Reason says why not, when not verified.
	Reason string `json:"reason,omitempty"`
}

// Str returns a pointer to s, or nil when s is empty: JSON null for absent.
func Str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Deref returns *p or "".
func Deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Sort orders findings by file, then position.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// Problem is an error that is not about one resolvable reference: a file
// that cannot be read or parsed. It is printed on stderr, one line each.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// String is the problem's line for stderr: control characters escaped, no
// workflow command, no credential, the message bounded (safetext), as
// file names and messages may come from the scanned tree or a registry.
func (p Problem) String() string {
	file, msg := safetext.Line(p.File), safetext.Message(safetext.Redact(p.Message))
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", file, p.Line, msg)
	}
	return fmt.Sprintf("%s: %s", file, msg)
}

// Change is one reference that fix rewrites.
type Change struct {
	File   string // relative path, '/'-separated
	Line   int    // where the reference is reported (its finding's line)
	Column int
	// Lines are the 1-based lines the edits touch. For a reference written
	// whole it is Line; for one split over keys (kustomize, Helm) it is the
	// digest key's line. Suggestions and comments use these lines.
	Lines     []int
	Old       string // the reference as reported (its finding's ref)
	Image     string // normalised repository
	Tag       string // the tag resolved (made explicit when none was written)
	OldDigest string // "" when the ref was unpinned
	NewDigest string
	// Status is why the ref changes: unpinned (pin), stale (refresh),
	// platform, image-id, mismatch, missing.
	Status  Status
	Message string
}

// Why names the change in a word for tables: pin, refresh, platform, …
func (c Change) Why() string { return c.Status.Why() }
