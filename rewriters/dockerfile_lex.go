package rewriters

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file re-reads Dockerfile instructions the way BuildKit's parser
// (frontend/dockerfile/parser, v0.34) reads them, but keeps the source
// offset of every byte. Each function mirrors one BuildKit function, quirks
// included, so that the text and words found here can be checked against the
// parser's own result: Node.Original, Node.Flags and the argument nodes.

// dfLine is one instruction joined over its continuation lines, as
// BuildKit joins it (Node.Original), with the offset in the file of each of
// its bytes.
type dfLine struct {
	b   []byte
	off []int // off[i] is the offset in the file of b[i]
}

func (ln *dfLine) append(src []byte, from, to int) {
	ln.b = append(ln.b, src[from:to]...)
	ln.off = slices.Grow(ln.off, to-from)
	for i := from; i < to; i++ {
		ln.off = append(ln.off, i)
	}
}

// slice returns the part b[i:j] of the line.
func (ln dfLine) slice(i, j int) dfLine {
	return dfLine{b: ln.b[i:j], off: ln.off[i:j]}
}

// srcSpan returns the file span from b[i] to b[j-1]; split reports that the
// bytes in between are not all in the line (a line continuation or a
// comment line was skipped), so the span holds more than b[i:j].
func (ln dfLine) srcSpan(i, j int) (Span, bool) {
	if i >= j {
		return Span{}, true
	}
	s := Span{ln.off[i], ln.off[j-1] + 1}
	return s, s.End-s.Start != j-i
}

// join rebuilds the instruction starting on line start (1-based) as
// BuildKit's Parse does: the first line loses its BOM (line 1), end of line
// and leading white space; continuation lines keep their leading white
// space; comment lines and blank lines inside a continuation are dropped;
// the escape character ending a line (and the blanks after it) is removed.
// Heredoc bodies follow the joined lines and are never read.
func (d *dockerfile) join(start int) (dfLine, error) {
	var ln dfLine
	raw, off := d.lineBytes(start)
	if raw == nil {
		return ln, dfInternalError(start, "instruction line beyond the end of the file")
	}
	from, to := off, off+len(bytes.TrimRight(raw, "\r\n"))
	if start == 1 && bytes.HasPrefix(d.src[from:to], dfBOM) {
		from += len(dfBOM)
	}
	from = to - len(bytes.TrimLeftFunc(d.src[from:to], unicode.IsSpace))
	to, cont := dfTrimContinuation(d.src, from, to, d.esc)
	ln.append(d.src, from, to)
	for n := start + 1; cont; n++ {
		raw, off := d.lineBytes(n)
		if raw == nil {
			break
		}
		if dfIsComment(raw) {
			continue
		}
		from, to := off, off+len(bytes.TrimRight(raw, "\r\n"))
		if len(bytes.TrimLeftFunc(d.src[from:to], unicode.IsSpace)) == 0 {
			continue // an empty continuation line
		}
		to, cont = dfTrimContinuation(d.src, from, to, d.esc)
		ln.append(d.src, from, to)
	}
	return ln, nil
}

func dfIsComment(line []byte) bool {
	line = bytes.TrimLeftFunc(line, unicode.IsSpace)
	return len(line) > 0 && line[0] == '#'
}

// dfTrimContinuation mirrors BuildKit's lineContinuationRegex,
// `([^\\])\\[ \t]*$|^\\[ \t]*$` (with the escape character in place of \):
// a line continues when its last character other than blanks and tabs is
// the escape character and that is not itself escaped. It returns the end
// of the line without the escape and the blanks after it.
func dfTrimContinuation(src []byte, from, to int, esc byte) (int, bool) {
	t := to
	for t > from && (src[t-1] == ' ' || src[t-1] == '\t') {
		t--
	}
	if t > from && src[t-1] == esc && (t-1 == from || src[t-2] != esc) {
		return t - 1, true
	}
	return to, false
}

// dfWhitespace is BuildKit's separator of instruction words.
var dfWhitespace = regexp.MustCompile(`[\t\v\f\r ]+`)

// dfSplit is an instruction split as BuildKit's splitCommand does.
type dfSplit struct {
	cmd                string
	flags              []dfFlag
	argsStart, argsEnd int // the arguments after the flags, trimmed
}

func (in dfSplit) flagChecks() []string {
	out := make([]string, len(in.flags))
	for i, f := range in.flags {
		out[i] = f.check
	}
	return out
}

// dfTrimSpace returns the bounds of b[i:j] without leading and trailing
// Unicode white space, as strings.TrimSpace.
func dfTrimSpace(b []byte, i, j int) (int, int) {
	for i < j {
		r, w := utf8.DecodeRune(b[i:j])
		if !unicode.IsSpace(r) {
			break
		}
		i += w
	}
	for j > i {
		r, w := utf8.DecodeLastRune(b[i:j])
		if !unicode.IsSpace(r) {
			break
		}
		j -= w
	}
	return i, j
}

// split mirrors splitCommand: the keyword, the leading --flags, the rest.
func (ln dfLine) split(esc byte) dfSplit {
	s, e := dfTrimSpace(ln.b, 0, len(ln.b))
	loc := dfWhitespace.FindIndex(ln.b[s:e])
	if loc == nil {
		return dfSplit{cmd: string(ln.b[s:e]), argsStart: e, argsEnd: e}
	}
	in := dfSplit{cmd: string(ln.b[s : s+loc[0]])}
	var argsStart int
	argsStart, in.flags = dfExtractFlags(ln.b, s+loc[1], e, esc)
	in.argsStart, in.argsEnd = dfTrimSpace(ln.b, argsStart, e)
	return in
}

// dfFlag is one --flag word. BuildKit removes quotes and escape characters
// from it; val holds what remains and pos where each byte of it is written.
type dfFlag struct {
	check string // the flag exactly as BuildKit decodes it (see dfExtractFlags)
	val   []byte
	pos   []int // pos[i] is the index in the line of val[i]
}

// value returns the value of the flag when its name is prefix (`--from=`).
func (f dfFlag) value(prefix string) ([]byte, []int, bool) {
	if !bytes.HasPrefix(f.val, []byte(prefix)) {
		return nil, nil, false
	}
	return f.val[len(prefix):], f.pos[len(prefix):], true
}

// dfIsSpaceByte is how extractBuilderFlags tests for space: one byte taken as
// a rune, so 0x85 and 0xA0 (inside UTF-8 sequences) count as space.
func dfIsSpaceByte(c byte) bool { return unicode.IsSpace(rune(c)) }

// dfExtractFlags mirrors extractBuilderFlags on b[from:to]: it returns where
// the arguments after the flags start, and the flags. Like BuildKit it
// walks bytes, and its check strings write each byte as a rune, as
// BuildKit does (a non-ASCII byte becomes two), so that they compare equal
// to Node.Flags.
func dfExtractFlags(b []byte, from, to int, esc byte) (int, []dfFlag) {
	const (
		inSpaces = iota
		inWord
		inQuote
	)
	var flags []dfFlag
	var cur dfFlag
	var check strings.Builder
	phase := inSpaces
	var quote byte
	blankOK := false
	var ch byte
	emit := func() {
		if string(cur.val) != "--" && (blankOK || len(cur.val) > 0) {
			cur.check = check.String()
			flags = append(flags, cur)
		}
	}
	write := func(c byte, pos int) {
		check.WriteRune(rune(c))
		cur.val = append(cur.val, c)
		cur.pos = append(cur.pos, pos)
	}
	for pos := from; pos <= to; pos++ {
		if pos != to {
			ch = b[pos]
		}
		if phase == inSpaces {
			if pos == to {
				break
			}
			if dfIsSpaceByte(ch) {
				continue
			}
			if ch != '-' || pos+1 == to || b[pos+1] != '-' {
				return pos, flags
			}
			phase = inWord
		}
		if (phase == inWord || phase == inQuote) && pos == to {
			emit()
			break
		}
		if phase == inWord {
			if dfIsSpaceByte(ch) {
				phase = inSpaces
				if string(cur.val) == "--" {
					return pos, flags
				}
				emit()
				cur = dfFlag{}
				check.Reset()
				blankOK = false
				continue
			}
			if ch == '\'' || ch == '"' {
				quote = ch
				blankOK = true
				phase = inQuote
				continue
			}
			if ch == esc {
				if pos+1 == to {
					continue
				}
				pos++
				ch = b[pos]
			}
			write(ch, pos)
			continue
		}
		if phase == inQuote {
			if ch == quote {
				phase = inWord
				continue
			}
			if ch == esc {
				if pos+1 == to {
					phase = inWord
					continue
				}
				pos++
				ch = b[pos]
			}
			write(ch, pos)
		}
	}
	return to, flags
}

// fields mirrors parseStringsWhitespaceDelimited (FROM, COPY…): the words
// of b[i:j] split at dfWhitespace, as [start, end) pairs.
func (ln dfLine) fields(i, j int) [][2]int {
	if i >= j {
		return nil
	}
	var out [][2]int
	prev := i
	for _, m := range dfWhitespace.FindAllIndex(ln.b[i:j], -1) {
		out = append(out, [2]int{prev, i + m[0]})
		prev = i + m[1]
	}
	return append(out, [2]int{prev, j})
}

// dfWord is one word of an ARG: check is the word as BuildKit's parseWords
// builds it, b[start:end] the text it was read from.
type dfWord struct {
	check      string
	start, end int
}

// words mirrors parseWords (used by ARG) on b[from:to]: words separated by
// white space outside quotes; quotes and escapes are kept in the word.
func (ln dfLine) words(from, to int, esc byte) []dfWord {
	const (
		inSpaces = iota
		inWord
		inQuote
	)
	rest := ln.b[from:to]
	var words []dfWord
	phase := inSpaces
	var quote rune
	blankOK := false
	var sb strings.Builder
	start := 0
	var ch rune
	var w int
	for pos := 0; pos <= len(rest); pos += w {
		if pos != len(rest) {
			ch, w = utf8.DecodeRune(rest[pos:])
		}
		if phase == inSpaces {
			if pos == len(rest) {
				break
			}
			if unicode.IsSpace(ch) {
				continue
			}
			phase = inWord
			start = pos
		}
		if (phase == inWord || phase == inQuote) && pos == len(rest) {
			if blankOK || sb.Len() > 0 {
				words = append(words, dfWord{sb.String(), from + start, from + pos})
			}
			break
		}
		if phase == inWord {
			if unicode.IsSpace(ch) {
				phase = inSpaces
				if blankOK || sb.Len() > 0 {
					words = append(words, dfWord{sb.String(), from + start, from + pos})
				}
				sb.Reset()
				blankOK = false
				continue
			}
			if ch == '\'' || ch == '"' {
				quote = ch
				blankOK = true
				phase = inQuote
			}
			if ch == rune(esc) {
				if pos+w == len(rest) {
					continue
				}
				sb.WriteRune(ch)
				pos += w
				ch, w = utf8.DecodeRune(rest[pos:])
			}
			sb.WriteRune(ch)
			continue
		}
		if phase == inQuote {
			if ch == quote {
				phase = inWord
			}
			if ch == rune(esc) && quote != '\'' {
				if pos+w == len(rest) {
					phase = inWord
					continue
				}
				pos += w
				sb.WriteRune(ch)
				ch, w = utf8.DecodeRune(rest[pos:])
			}
			sb.WriteRune(ch)
		}
	}
	return words
}

// dfCSVField is one field of a --mount value; pos[i] is the index in the line
// of b[i]. bad marks a field whose quoting this reader does not follow.
type dfCSVField struct {
	b   []byte
	pos []int
	bad bool
}

// dfCSVFields splits a --mount value into its comma-separated fields, as
// BuildKit does with a CSV reader: a field may be wrapped in double quotes,
// with "" standing for one quote.
func dfCSVFields(v []byte, pos []int) []dfCSVField {
	var out []dfCSVField
	for i := 0; i <= len(v); {
		var f dfCSVField
		if i < len(v) && v[i] == '"' {
			j := i + 1
			for j < len(v) {
				if v[j] == '"' {
					if j+1 < len(v) && v[j+1] == '"' {
						f.b, f.pos = append(f.b, '"'), append(f.pos, pos[j+1])
						j += 2
						continue
					}
					j++
					break
				}
				f.b, f.pos = append(f.b, v[j]), append(f.pos, pos[j])
				j++
			}
			for j < len(v) && v[j] != ',' {
				f.bad = true // text after the closing quote: a CSV error
				j++
			}
			out = append(out, f)
			i = j + 1
			continue
		}
		j := i
		for j < len(v) && v[j] != ',' {
			j++
		}
		f.b, f.pos = v[i:j], pos[i:j]
		f.bad = bytes.IndexByte(f.b, '"') >= 0
		out = append(out, f)
		i = j + 1
	}
	return out
}
