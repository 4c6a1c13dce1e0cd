package pullreq

import (
	"strings"
)

// Text that comes from files or registries (paths, image names, tags,
// messages) is untrusted: it must not turn into links, HTML, mentions,
// emphasis or extra table cells. It is shown either escaped (escapeMD) or
// inside a code span (code, codeCell), whose content GitHub shows verbatim.

// mdPunct are the characters escaped in plain Markdown text (CommonMark
// lets any ASCII punctuation be backslash-escaped): emphasis, code, links,
// HTML, tables, strikethrough, math, entities, and ':' and '.' so that no
// URL or www. name turns into a link. Escaped text never starts a line, so
// list and heading markers need no escape.
const mdPunct = "\\`*_{}[]<>()#!|~$&:."

// escapeMD makes s render as the literal text it holds, on one line.
func escapeMD(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '@':
			// No @mentions from file content.
			b.WriteString("&#64;")
		case r < 0x80 && strings.ContainsRune(mdPunct, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// code renders s as an inline code span outside tables.
func code(s string) string {
	s = oneLine(s)
	if s == "" {
		return ""
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || (strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ")) {
		s = " " + s + " "
	}
	return fence + s + fence
}

// codeCell renders s as an inline code span inside a table cell, where a
// pipe must be escaped even in code (GFM removes the backslash).
func codeCell(s string) string {
	return strings.ReplaceAll(code(s), "|", `\|`)
}

// oneLine replaces line breaks and other control characters with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

// fenceFor returns a code fence longer than any backtick run in s.
func fenceFor(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

// shortDigest shows sha256:<12 hex>; "" for none.
func shortDigest(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok {
		return d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return algo + ":" + hex
}

// plural picks a word form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
