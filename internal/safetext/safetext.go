// Package safetext makes text from outside digestbot (file names, image
// references, registry answers, GitHub API errors) safe to print: one line,
// no terminal control sequences, no GitHub Actions workflow command, no
// credential, bounded in size.
//
// Text digestbot prints can reach a terminal (where ESC sequences recolour,
// move the cursor or retitle the window) and a GitHub Actions log (where a
// line that starts with "::" is a workflow command: a forged annotation, a
// masked or unmasked value, a stopped command processor). Every line printed
// is built from pieces passed through Line (or Clip), so a folder named
// "x\n::warning file=a::INJECTED" prints as one harmless line.
package safetext

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// MaxMessage bounds one message printed for a finding or a problem. A
// message built from a 10,000-entry index would otherwise be 159 KB.
const MaxMessage = 2000

// Line returns s as one printable line: control characters (C0, DEL, C1),
// Unicode line and paragraph separators, and bidirectional overrides are
// written as Go escapes (\n, \x1b, \u202e), invalid UTF-8 bytes as \xNN, and
// a backslash that starts such an escape is not doubled (a Windows-style
// path stays readable). A line that would start with "::" (after blanks)
// gets its first colon escaped, so it is never a workflow command.
func Line(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r) // '\x1b' or '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return neutralise(b.String())
}

// clean reports whether s needs no change (the common case, no allocation).
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			return false
		}
	}
	return !startsCommand(s)
}

func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == '\u2028', r == '\u2029': // line and paragraph separators
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f', r == '\u061c':
		return true // bidirectional controls: text that reads other than it is
	}
	return !unicode.IsPrint(r) && !unicode.IsSpace(r)
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// startsCommand reports whether s, after leading blanks, starts with "::".
func startsCommand(s string) bool {
	return strings.HasPrefix(strings.TrimLeft(s, " \t"), "::")
}

// neutralise escapes the first colon of a line that starts with "::".
func neutralise(s string) string {
	if !startsCommand(s) {
		return s
	}
	i := strings.IndexByte(s, ':')
	return s[:i] + `\x3a` + s[i+1:]
}

// Clip returns Line(s) cut to at most n bytes (on a rune boundary), saying
// how much was left out.
func Clip(s string, n int) string {
	s = Line(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (" + strconv.Itoa(len(s)-cut) + " more bytes)"
}

// Message is Clip(s, MaxMessage): a finding's or a problem's message.
func Message(s string) string { return Clip(s, MaxMessage) }

// Lines escapes each line of a multi-line text (a job summary, a comment
// body) so that none starts a workflow command and none holds control
// characters; line breaks are kept.
func Lines(s string) string {
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		p = strings.TrimSuffix(p, "\r")
		parts[i] = Line(p)
	}
	return strings.Join(parts, "\n")
}

// Credential patterns (see Redact).
var (
	// An HTTP authorization scheme word and everything after it on the
	// line: the credential may hold any character, so nothing is kept.
	schemeRe = regexp.MustCompile(`\b(?:` + strings.Join(schemeWords[:], "|") + `)[ \t]+\S.*`)
	// token=, password=, secret= … query or form values.
	paramRe = regexp.MustCompile(`(?i)\b((?:access_|refresh_|id_)?token|password|passwd|secret|client_secret)=[^&\s"']+`)
	// user:password@host in a URL, a host value or an image reference.
	userinfoRe = regexp.MustCompile(`([A-Za-z0-9._~%!$&'*+;=-]*):([^\s/@"']*)@([A-Za-z0-9.-]+)`)
)

// Redactor removes secrets from text: the exact values it was told about,
// and anything that looks like a credential (see Redact). It is safe for
// concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add remembers a secret (values shorter than 4 bytes are ignored: they
// would redact ordinary words).
func (r *Redactor) Add(secret string) {
	if len(secret) >= 4 {
		r.mu.Lock()
		r.secrets = append(r.secrets, secret)
		r.mu.Unlock()
	}
}

// Clean returns s without secrets.
func (r *Redactor) Clean(s string) string {
	if r != nil {
		r.mu.RLock()
		for _, sec := range r.secrets {
			s = strings.ReplaceAll(s, sec, "***")
		}
		r.mu.RUnlock()
	}
	return Redact(s)
}

// schemeWords are the authorization schemes schemeRe matches, as written.
var schemeWords = [...]string{"Basic", "Bearer", "BASIC", "BEARER", "bearer"}

// mayHaveScheme reports whether s holds one of schemeRe's words.
func mayHaveScheme(s string) bool {
	for _, w := range schemeWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// mayHaveUserinfo reports whether s holds a ':' followed by an '@' with
// none of the bytes userinfoRe's password part excludes ([\s/@"'])
// between them: a match of userinfoRe needs one.
func mayHaveUserinfo(s string) bool {
	colon := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':':
			colon = true
		case '@':
			if colon {
				return true
			}
		case ' ', '\t', '\n', '\f', '\r', '/', '"', '\'':
			colon = false
		}
	}
	return false
}

// Redact removes anything that looks like a credential from s:
//   - "Basic <anything>" and "Bearer <anything>" become "Basic ***": the
//     rest of the line goes, whatever characters the credential holds;
//   - token=…, password=…, secret=… values become ***;
//   - user:password@host (a URL's userinfo, a host written with a login, an
//     image reference written user:pass@host/…) becomes ***@host. A
//     reference's name:tag@sha256:… is not a login and is kept.
//
// Each pattern runs only when s holds what it needs to match (a scheme
// word, a '=', a ':' then '@'): most lines hold none, and a report prints
// one line per reference.
func Redact(s string) string {
	if mayHaveScheme(s) {
		s = schemeRe.ReplaceAllStringFunc(s, func(m string) string {
			return m[:strings.IndexAny(m, " \t")] + " ***"
		})
	}
	if strings.IndexByte(s, '=') >= 0 {
		s = paramRe.ReplaceAllStringFunc(s, func(m string) string {
			return m[:strings.IndexByte(m, '=')+1] + "***"
		})
	}
	if !mayHaveUserinfo(s) {
		return s
	}
	return userinfoRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfoRe.FindStringSubmatch(m)
		host := strings.ToLower(sub[3])
		if host == "sha256" || host == "sha512" || (sub[1] == "" && sub[2] == "") {
			return m // name:tag@sha256:… is a pinned reference
		}
		return "***@" + sub[3]
	})
}
