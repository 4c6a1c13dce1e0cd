package resolve

import (
	"errors"
	"regexp"
	"strings"

	"github.com/digestbot/digestbot/internal/safetext"
)

// Sentinel errors. Every Result.Err wraps exactly one of them; test with
// errors.Is. The text of a Result.Err is one line that names the key, the
// host actually contacted when the registry is mapped to another host, what
// happened and what to do. It never holds credentials or tokens.
var (
	// ErrNotFound: the tag or the repository does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the registry answered 401 or 403.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnreachable: no HTTP answer at all — connection refused, DNS
	// failure, TLS failure, connection timed out.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrTimeout: the lookup deadline (or the caller's deadline) passed
	// before the registry answered.
	ErrTimeout = errors.New("timed out")
	// ErrRateLimited: the registry kept answering 429 (or asked to wait
	// longer than the lookup may take).
	ErrRateLimited = errors.New("rate limited")
	// ErrBadDigest: the registry returned a digest digestbot does not
	// accept, or a manifest whose content does not match its digest header.
	ErrBadDigest = errors.New("bad digest")
	// ErrRegistry: any other failure of the registry: 5xx, unexpected
	// status, unsupported media type, protocol error.
	ErrRegistry = errors.New("registry error")
	// ErrInvalidRef: the key cannot be turned into a registry reference
	// (a caller bug: keys come from parsed references).
	ErrInvalidRef = errors.New("invalid reference")
)

// Error is the error of one lookup. Its Error text is one line:
//
//	docker.io/library/nginx:1.99 (via 127.0.0.1:5000): tag not found; check the tag exists
type Error struct {
	Key Key
	// Via is the host actually contacted when Key.Registry is mapped to
	// another host in the config, "" otherwise.
	Via string
	// Kind is one of the sentinel errors above.
	Kind error
	// What happened, e.g. "tag not found".
	What string
	// Hint says what to do, e.g. "check the tag exists".
	Hint string
	// Status is the last HTTP status the registry answered for the
	// manifest, 0 when there was none.
	Status int
	// Cause is the underlying error (regclient, net/http). It is never
	// part of the Error text.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Key.String())
	if e.Via != "" {
		b.WriteString(" (via ")
		b.WriteString(e.Via)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.What)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return oneLine(b.String())
}

// Unwrap gives the sentinel first, then the cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// forKey copies e for another key of the same host (short-circuit). When
// several registries are sent to one host (a pull-through cache), the hint
// names the config key of k's own registry, not the one that failed first.
func (e *Error) forKey(k Key, via string) *Error {
	c := *e
	c.Key, c.Via = k, via
	if from, to := normRegistry(e.Key.Registry), normRegistry(k.Registry); from != to {
		c.Hint = strings.ReplaceAll(c.Hint, "registries."+from+".", "registries."+to+".")
		c.What = strings.ReplaceAll(c.What, "registries."+from+".", "registries."+to+".")
	}
	return &c
}

var spaces = regexp.MustCompile(`\s+`)

// oneLine folds whitespace (newlines from registry bodies) into single spaces.
func oneLine(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// redactor removes known secrets and anything that looks like one (the
// shared rules of safetext.Redact: everything after Basic/Bearer, token=
// values, user:password@ logins), folds the text onto one line without
// control characters, and bounds it.
type redactor struct{ r safetext.Redactor }

func (r *redactor) add(s string) { r.r.Add(s) }

func (r *redactor) clean(s string) string {
	return safetext.Clip(oneLine(r.r.Clean(s)), 200)
}
