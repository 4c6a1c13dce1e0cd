// Package finding is digestbot's domain model: the verdict on one image
// reference (Status, with one table row per status), the Finding printed by
// scan and check, the Problem that is not about one reference, and the
// Change fix makes. It is a leaf: it imports nothing of digestbot, so every
// part (plan, report, pullreq, diagnose, commands) reads the same table.
//
// Adding a status is one row in statuses.
package finding

// Status is the verdict on one reference. The words are part of the JSON
// contract.
type Status string

// The statuses.
const (
	Unpinned   Status = "unpinned"
	Pinned     Status = "pinned"
	OK         Status = "ok"
	Stale      Status = "stale"
	Mismatch   Status = "mismatch"
	Platform   Status = "platform"
	ImageID    Status = "image-id"
	Missing    Status = "missing"
	Unsigned   Status = "unsigned"
	DigestOnly Status = "digest-only"
	Skipped    Status = "skipped"
	Error      Status = "error"
)

// Info describes a status: everything any part says about it.
type Info struct {
	Status Status
	// Short is a one-line description (SARIF short description, default
	// message).
	Short string
	// Help says why it matters and what to do (SARIF help text).
	Help string
	// Rule is the SARIF rule name; "" means SARIF reports no result for
	// the status (nothing to look at).
	Rule string
	// Level is the SARIF level: error, warning or note.
	Level string
	// Severity is GitHub's security-severity (0–10) for SARIF.
	Severity string
	// Doc is the anchor (no "#") of the README section that explains the
	// status (SARIF helpUri); TestDocAnchors in pkg/report checks that
	// each names a README heading.
	Doc string
	// NeedsAction makes check exit 1.
	NeedsAction bool
	// ChangesImage: fixing it changes which image runs, so it is called
	// out loudly wherever it is reported (stderr, PR body, comments).
	ChangesImage bool
	// Why names the change fix makes for it in a word (PR tables); "" when
	// fix never changes such a ref.
	Why string
	// WhyText explains Why in a sentence (the PR body's legend).
	WhyText string
	// Advice says, for pull request comments, what is wrong and what the
	// fix does, in Markdown. {msg} stands for " (message)" and {to} for
	// " `digest`" (each "" when absent). "" means the finding's message.
	Advice string
	// AdviceText is Advice as plain text (annotations): {msg} as above,
	// {digest} the short digest.
	AdviceText string
	// Loud explains a fix that changes the image, for the PR body: {old},
	// {new} (digests) and {tag}, Markdown; "" means a generic sentence.
	Loud string
}

// statuses is the one table, in summary order.
var statuses = []Info{
	{Status: Unpinned, Short: "Image reference is not pinned to a digest",
		Help: "A tag is mutable: whoever can push to the registry can change what it means. Pin the reference to the digest of the tag's current index with `digestbot fix`, which rewrites `name:tag` to `name:tag@sha256:…` and keeps the tag readable.",
		Rule: "UnpinnedImage", Doc: "check", Level: "warning", Severity: "5.0", NeedsAction: true,
		Why: "pin", WhyText: "the reference had a tag and no digest.",
		Advice:     "the tag is not pinned; pin it to the digest it points to today{to}.",
		AdviceText: "not pinned to a digest; pin it to {digest} (digestbot fix)"},
	{Status: Pinned, Short: "Image reference has a digest (not checked offline)"},
	{Status: OK, Short: "Pinned digest is the tag's current digest"},
	{Status: Stale, Short: "Pinned digest is no longer the tag's current digest",
		Help: "The tag has moved on since the reference was pinned. Run `digestbot fix` to refresh the pin to the tag's current index digest, or keep the old digest on purpose and drop the tag.",
		Rule: "StalePin", Doc: "stale", Level: "warning", Severity: "3.0", NeedsAction: true,
		Why: "refresh", WhyText: "the tag has moved to a new image since it was pinned.",
		Advice:     "the tag has moved since it was pinned; refresh the pin to{to}.",
		AdviceText: "the tag has moved since it was pinned; refresh the pin to {digest}"},
	{Status: Mismatch, Short: "Pinned digest belongs to another tag",
		Help: "Docker ignores the tag when a digest is present, so the image that runs is the other tag's, while every reader trusts the tag written here. `digestbot fix` rewrites the digest to this tag's current digest: that changes which image runs, so review it.",
		Rule: "MismatchedPin", Doc: "mismatch-the-classic", Level: "error", Severity: "8.0", NeedsAction: true, ChangesImage: true,
		Why: "mismatch", WhyText: "⚠️ the pinned digest belongs to another tag; the image that runs changes to what the tag names.",
		Advice:     "the pinned digest belongs to another tag{msg}; **the image that runs changes** when it is pinned to what the tag names{to}.",
		AdviceText: "the pinned digest belongs to another tag{msg}; pinning to {digest} CHANGES THE IMAGE THAT RUNS",
		Loud:       "the old pin {old} ran another tag's image, the new pin {new} runs what {tag} names today."},
	{Status: Platform, Short: "Pinned digest is one platform's manifest, not the index",
		Help: "The digest names a single platform's image inside the tag's multi-platform index, so other platforms cannot pull it. `digestbot fix` replaces it with the index digest (set `pins.platform: keep` to keep platform pins).",
		Rule: "PlatformPin", Doc: "platform", Level: "warning", Severity: "4.0", NeedsAction: true,
		Why: "platform", WhyText: "the pin named one platform's image inside the tag's index; it now names the multi-platform index.",
		Advice:     "the pin names one platform's image{msg}; pin the multi-platform index{to}.",
		AdviceText: "the pin names one platform's image{msg}; pin the index {digest}"},
	{Status: ImageID, Short: "Pinned digest is an image ID (config digest), not a manifest digest",
		Help: "What `docker images` shows as IMAGE ID is the digest of the image's config, not of its manifest, and cannot be pulled. `digestbot fix` writes the tag's index digest.",
		Rule: "ImageIDPin", Doc: "image-id", Level: "error", Severity: "7.0", NeedsAction: true,
		Why: "image-id", WhyText: "the pin was an image ID (config digest), which registries do not serve; it now names the manifest.",
		Advice:     "the pin is an image ID, not a manifest digest; pin{to}.",
		AdviceText: "the pin is an image ID, not a manifest digest; pin {digest}"},
	{Status: Missing, Short: "Pinned digest does not exist in the repository",
		Help: "Pulls of this reference fail. `digestbot fix` writes the tag's current digest: that changes which image runs, so review it.",
		Rule: "MissingDigest", Doc: "missing", Level: "error", Severity: "7.0", NeedsAction: true, ChangesImage: true,
		Why: "missing", WhyText: "⚠️ the pinned digest does not exist in the registry; the image that runs changes to what the tag names.",
		Advice:     "the pinned digest does not exist in the registry{msg}; **the image that runs changes** when it is pinned to what the tag names{to}.",
		AdviceText: "the pinned digest does not exist{msg}; pinning to {digest} CHANGES THE IMAGE THAT RUNS",
		Loud:       "the old pin {old} does not exist in the registry, the new pin {new} runs what {tag} names today."},
	{Status: Unsigned, Short: "No signature satisfies the verify policy for the digest",
		Help: "A `verify` rule in `.digestbot.yaml` covers this image, and no cosign or Sigstore signature of the digest satisfies it: none was found, it was made with another key or by another identity, or it does not verify. A digest proves which image runs, a signature who built it; an unsigned digest may be an attacker's push. `fix` and `pr` leave the reference as it is. Sign the image (`cosign sign`), or correct the rule's keys or identity; the message says which.",
		Rule: "UnsignedImage", Doc: "signatures", Level: "error", Severity: "8.0", NeedsAction: true,
		Why: "unsigned", WhyText: "no signature satisfies the verify policy, so the digest is not written and the reference keeps its old bytes.",
		Advice:     "no signature satisfies the verify policy{msg}; digestbot does not pin an unverified digest.",
		AdviceText: "no signature satisfies the verify policy{msg}; not pinned"},
	{Status: DigestOnly, Short: "Reference has a digest but no tag",
		Help: "A digest without a tag cannot be refreshed and tells readers nothing. Add the tag it came from (`name:tag@sha256:…`) so digestbot can keep it fresh.",
		Rule: "DigestOnly", Doc: "digest-only", Level: "note", Severity: "1.0"},
	{Status: Skipped, Short: "Not a resolvable image reference"},
	{Status: Error, Short: "Image reference could not be resolved",
		Help: "The registry could not be asked about this reference (unknown tag or repository, credentials, network). The message says what happened and what to do.",
		Rule: "ResolveError", Doc: "check", Level: "error", Severity: "2.0",
		Advice:     "could not be checked{msg}.",
		AdviceText: "could not be checked{msg}"},
}

var byStatus = func() map[Status]Info {
	m := make(map[Status]Info, len(statuses))
	for _, i := range statuses {
		m[i.Status] = i
	}
	return m
}()

// Statuses lists every status in summary order.
func Statuses() []Status {
	out := make([]Status, len(statuses))
	for i, s := range statuses {
		out[i] = s.Status
	}
	return out
}

// Infos returns the table, in summary order.
func Infos() []Info { return append([]Info(nil), statuses...) }

// Info returns the status's row; the zero Info (with Status set) for a
// status not in the table.
func (s Status) Info() Info {
	if i, ok := byStatus[s]; ok {
		return i
	}
	return Info{Status: s}
}

// Known reports whether s is in the table.
func (s Status) Known() bool { _, ok := byStatus[s]; return ok }

// NeedsAction reports whether `check` should exit 1 for this status.
func (s Status) NeedsAction() bool { return s.Info().NeedsAction }

// ChangesImage reports whether fixing this status changes which image runs.
func (s Status) ChangesImage() bool { return s.Info().ChangesImage }

// Why names the change fix makes for this status in a word: pin, refresh,
// platform, …; the status itself when the table gives no word.
func (s Status) Why() string {
	if w := s.Info().Why; w != "" {
		return w
	}
	return string(s)
}
