// Package imgref parses container image references for meaning while keeping
// the text the user wrote. Like go-containerregistry's pkg/name it never
// re-renders a reference: the name stays as written, and only a tag or digest
// is added or replaced when a reference is pinned.
package imgref

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Errors returned by Parse, wrapped with the offending text.
var (
	ErrEmpty       = errors.New("empty image reference")
	ErrInvalidName = errors.New("invalid image name")
	ErrInvalidTag  = errors.New("invalid tag")
	ErrBadDigest   = errors.New("malformed digest")
)

// DefaultRegistry is the registry a name without a registry part refers to.
const DefaultRegistry = "docker.io"

// DefaultTag is the tag a reference without one resolves (and is pinned
// with, made explicit).
const DefaultTag = "latest"

// NormRegistry maps the other names of Docker Hub (index.docker.io, its
// API host, its credential key in Docker's config) to DefaultRegistry.
// This is the one list of Docker Hub's aliases.
func NormRegistry(name string) string {
	switch name {
	case "", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "https://index.docker.io/v1/":
		return DefaultRegistry
	}
	return name
}

// CheckRepository reports whether registry and repository, already
// normalised, form a valid repository name: the check resolve and diagnose
// make on the parts they are given, without parsing text again.
func CheckRepository(registry, repository string) error {
	if !hostRe.MatchString(registry) {
		return fmt.Errorf("%w: bad registry host %q", ErrInvalidName, registry)
	}
	if repository == "" {
		return fmt.Errorf("%w: empty repository", ErrInvalidName)
	}
	for _, p := range strings.Split(repository, "/") {
		if !componentRe.MatchString(p) {
			return fmt.Errorf("%w: path component %q in %q", ErrInvalidName, p, repository)
		}
	}
	return nil
}

// ValidTag reports whether t is a valid tag.
func ValidTag(t string) bool { return tagRe.MatchString(t) }

var (
	// A path component, as in the distribution reference grammar.
	componentRe = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	// A registry host: a domain or IPv4 with optional port, or a bracketed IPv6.
	hostRe   = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$`)
	tagRe    = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digestRe = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
)

// Ref is a parsed image reference. Name, Tag and Digest are substrings of the
// text as written; Registry and Repository are normalised.
type Ref struct {
	Text       string // the reference exactly as written
	Name       string // the name part as written, e.g. "node" or "ghcr.io/a/b"
	Tag        string // "" when absent
	Digest     string // "" when absent, e.g. "sha256:…"
	Registry   string // normalised registry, e.g. "docker.io"
	Repository string // normalised repository path, e.g. "library/node"
}

// Parse parses s as an image reference of the form
// [registry/]path[:tag][@algorithm:hex].
func Parse(s string) (Ref, error) {
	r := Ref{Text: s}
	if s == "" {
		return r, ErrEmpty
	}
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		r.Digest = rest[i+1:]
		rest = rest[:i]
		if !digestRe.MatchString(r.Digest) {
			return r, fmt.Errorf("%w %q in %q", ErrBadDigest, r.Digest, s)
		}
	}
	// A colon after the last slash starts the tag; one before it is a port.
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && i > strings.LastIndexByte(rest, '/') {
		r.Tag = rest[i+1:]
		rest = rest[:i]
		if j := strings.IndexByte(rest[strings.LastIndexByte(rest, '/')+1:], ':'); j >= 0 {
			j += strings.LastIndexByte(rest, '/') + 1
			// docker refuses these: name the extra colon, not a "path
			// component" the user never thought of as one.
			if j == len(rest)-1 {
				return r, fmt.Errorf("%w: %q has an empty tag between \"::\"; write %s:%s", ErrInvalidTag, s, rest[:j], r.Tag)
			}
			return r, fmt.Errorf("%w: %q has more than one ':' after the name (tag %q then %q); a reference has one tag", ErrInvalidTag, s, rest[j+1:], r.Tag)
		}
		switch {
		case r.Tag == "":
			return r, fmt.Errorf("%w: %q ends in ':' with no tag after it", ErrInvalidTag, s)
		case !tagRe.MatchString(r.Tag):
			return r, fmt.Errorf("%w %q in %q", ErrInvalidTag, r.Tag, s)
		}
	}
	r.Name = rest
	if rest == "" {
		return r, fmt.Errorf("%w: %q has no name", ErrInvalidName, s)
	}
	parts := strings.Split(rest, "/")
	host := ""
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost" || strings.ToLower(parts[0]) != parts[0]) {
		host, parts = parts[0], parts[1:]
		if !hostRe.MatchString(host) {
			return r, fmt.Errorf("%w: bad registry host %q in %q", ErrInvalidName, host, s)
		}
	}
	for _, p := range parts {
		if !componentRe.MatchString(p) {
			if lower := strings.ToLower(p); lower != p && componentRe.MatchString(lower) {
				// docker build: "repository name must be lowercase".
				return r, fmt.Errorf("%w: %q in %q has upper-case letters; repository names are lower-case (%s)", ErrInvalidName, p, s, lower)
			}
			return r, fmt.Errorf("%w: path component %q in %q (lower-case letters, digits and separators only)", ErrInvalidName, p, s)
		}
	}
	repo := strings.Join(parts, "/")
	host = NormRegistry(host)
	if host == DefaultRegistry && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	r.Registry, r.Repository = host, repo
	return r, nil
}

// Image is the normalised repository, e.g. "docker.io/library/nginx".
func (r Ref) Image() string { return r.Registry + "/" + r.Repository }

// TagOrLatest is the tag that resolves this reference: the written tag, or
// "latest" when none is written.
func (r Ref) TagOrLatest() string {
	if r.Tag == "" {
		return DefaultTag
	}
	return r.Tag
}

// ValidDigest reports whether d is a well-formed sha256 or sha512 digest, the
// only kinds digestbot writes.
func ValidDigest(d string) bool {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok {
		return false
	}
	var n int
	switch algo {
	case "sha256":
		n = 64
	case "sha512":
		n = 128
	default:
		return false
	}
	if len(hex) != n {
		return false
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
