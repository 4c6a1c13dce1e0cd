package rewriters

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/digestbot/digestbot/pkg/imgref"
)

// Format is one file format, a plug-in: it claims files and finds their
// image references, and each reference it returns carries its own edit.
// Nothing outside this package knows a format's layout.
//
// Adding a format is one file in this package that implements Format, its
// txtar cases under testdata/<kind>/, and one line in formats (below).
type Format interface {
	// Kind names the format; the value is part of the JSON contract.
	Kind() Kind
	// Candidate reports, from the root-relative '/'-separated path alone,
	// whether the file may be of this format. Only candidates are read,
	// which keeps scans of large trees cheap.
	Candidate(path string) bool
	// Claim reports whether the candidate f is of this format. It may read
	// f.Src and, through f.Tree, other files of the tree (Chart.yaml beside
	// a values file). Formats are asked in list order; the first claim wins.
	Claim(f *File) bool
	// Find returns the references in f ordered by Span.Start with
	// non-overlapping spans. A reference reached more than once (a YAML
	// alias, an ARG used by two FROMs) is returned once. An error (a
	// *ParseError) means the file could not be parsed and is left untouched.
	Find(f *File) ([]Ref, error)
}

// File is one file handed to a format.
type File struct {
	// Path is relative to the scanned root, '/'-separated.
	Path string
	// Src is the file's content.
	Src []byte
	// Tree reads other files of the scanned tree by root-relative path
	// (fs.FS rules: no leading slash, "." is the root). It never leaves the
	// root, follows no symlink and caps sizes. Nil when there is no tree
	// (a format must then behave as if the other files were absent).
	Tree fs.FS
	// Options are the format settings from the config.
	Options Options

	follow []string
}

// Follow asks the scanner to read more files with the same format (GitLab
// CI's `include: local:`). Paths are root-relative; ones outside the root,
// excluded, missing or already claimed by another format are not read.
func (f *File) Follow(paths ...string) { f.follow = append(f.follow, paths...) }

// Followed returns the paths Find asked to follow.
func (f *File) Followed() []string { return f.follow }

// Options are format settings that come from the config.
type Options struct {
	// HelmDigestKeys are the keys that hold a chart's image digest
	// (default: digest, sha).
	HelmDigestKeys []string
	// HelmInlineDigest lets fix append @sha256:… to a Helm tag when the
	// chart has no digest key.
	HelmInlineDigest bool
}

// Formats returns the formats in claim order.
func Formats() []Format { return formats }

// ForKind returns the format of a kind, or nil.
func ForKind(k Kind) Format {
	for _, f := range formats {
		if f.Kind() == k {
			return f
		}
	}
	return nil
}

// Candidate reports whether a file's path alone makes it worth reading.
func Candidate(path string) bool {
	if !CandidateName(path[strings.LastIndexByte(path, '/')+1:]) {
		return false
	}
	return anyCandidate(path)
}

// CandidateName reports whether a file with this base name could be a
// candidate at all: false means no format reads it, whatever its folder.
// It is a necessary condition for Candidate, cheap enough for every entry
// of a walk (it does not allocate; the walk of a 100,000-file tree calls
// it 100,000 times, where asking all formats cost about 0.5 µs a path).
// Every format's file names end in .yaml, .yml, .json or .hcl, or name a
// Dockerfile or Containerfile, or are Kustomization or .env; a name with a
// non-ASCII byte goes to the formats themselves (their case folding is
// Unicode's). FuzzCandidateName checks it against the formats.
func CandidateName(name string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return true
		}
	}
	return hasSuffixASCIIFold(name, ".yaml") || hasSuffixASCIIFold(name, ".yml") ||
		hasSuffixASCIIFold(name, ".json") || hasSuffixASCIIFold(name, ".hcl") ||
		containsASCIIFold(name, "dockerfile") || containsASCIIFold(name, "containerfile") ||
		name == "Kustomization" || name == ".env"
}

// anyCandidate asks every format.
func anyCandidate(path string) bool {
	for _, f := range formats {
		if f.Candidate(path) {
			return true
		}
	}
	return false
}

// Claim returns the first format that claims f, or nil.
func Claim(f *File) Format {
	for _, ft := range formats {
		if ft.Candidate(f.Path) && ft.Claim(f) {
			return ft
		}
	}
	return nil
}

// Classify tells which format a candidate file is, from its path and
// content; "" when no format claims it.
func Classify(path string, src []byte) Kind {
	if ft := Claim(&File{Path: path, Src: src}); ft != nil {
		return ft.Kind()
	}
	return ""
}

// Errors of Pin.
var (
	// ErrBadDigest: the digest handed to Pin is not sha256:<64 hex> or
	// sha512:<128 hex>. Registry answers are never trusted to be digests.
	ErrBadDigest = errors.New("not a valid digest")
	// ErrCannotPin: the reference is real but fix cannot write its digest
	// (a composed tag with no home for a digest, a digest split across
	// lines, a Helm chart with no digest key). The wrapping error says why
	// and how to make it pinnable; fix leaves the bytes.
	ErrCannotPin = errors.New("cannot pin")
)

// Pin returns the byte edits that pin r at digest, the digest of its tag's
// manifest list / index. This is the one place where a digest becomes file
// content: digest is validated here, whatever its source. The edits lie in
// the file r was found in and never overlap one another.
func (r Ref) Pin(digest string) ([]Edit, error) {
	if !imgref.ValidDigest(digest) {
		return nil, fmt.Errorf("%w: %q", ErrBadDigest, clip(digest, 80))
	}
	if r.Skip != "" {
		return nil, fmt.Errorf("%w: %s", ErrCannotPin, r.Skip)
	}
	if r.pin == nil {
		return nil, fmt.Errorf("%w: the format gives no edit for %s", ErrCannotPin, r.Text)
	}
	return r.pin(digest)
}

// Resolvable is the reference text to parse and resolve: Expanded when the
// format set it (a composed ref with its variables expanded, a split ref's
// parts composed), else Text.
func (r Ref) Resolvable() string {
	if r.Expanded != "" {
		return r.Expanded
	}
	return r.Text
}

// spanPin pins a reference written whole and contiguously at span: it
// replaces the old digest's bytes, or inserts "@digest" after the tag
// (":latest@digest" after a name with no tag). The name is never rewritten.
func spanPin(span Span, text string) func(string) ([]Edit, error) {
	return mappedPin(text, func(i int) int { return span.Start + i })
}

// mappedPin pins a reference whose logical text (continuations joined) maps
// to file offsets through off (off(i) is the offset of text[i]). The edit
// must touch bytes that lie contiguous in the file; otherwise the result
// wraps ErrCannotPin.
func mappedPin(text string, off func(i int) int) func(string) ([]Edit, error) {
	return func(digest string) ([]Edit, error) {
		p, err := imgref.Parse(text)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCannotPin, err)
		}
		if at := strings.LastIndexByte(text, '@'); p.Digest != "" && at >= 0 {
			// Replace the old digest in place; keep the tag as written.
			i, j := at+1, len(text)
			if p.Tag == "" {
				// Digest-only refs are reported, never rewritten.
				return nil, fmt.Errorf("%w: %s has a digest and no tag to refresh", ErrCannotPin, text)
			}
			if off(j-1)+1-off(i) != j-i {
				return nil, fmt.Errorf("%w: the digest of %s is split across lines; join it onto one line", ErrCannotPin, oneLine(text))
			}
			return []Edit{{Span: Span{off(i), off(j-1) + 1}, New: digest}}, nil
		}
		ins := "@" + digest
		if p.Tag == "" {
			ins = ":latest" + ins
		}
		end := off(len(text)-1) + 1
		return []Edit{{Span: Span{end, end}, New: ins}}, nil
	}
}

// oneLine shows text with line breaks escaped, for messages.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// hasSuffixASCIIFold is strings.HasSuffix with ASCII case folding; lower
// must be lower case.
func hasSuffixASCIIFold(s, lower string) bool {
	return len(s) >= len(lower) && equalASCIIFold(s[len(s)-len(lower):], lower)
}

// containsASCIIFold is strings.Contains with ASCII case folding; lower
// must be lower case.
func containsASCIIFold(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		if equalASCIIFold(s[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}

func equalASCIIFold(s, lower string) bool {
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
