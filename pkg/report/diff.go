package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// contextLines is how many unchanged lines surround each hunk, as in git.
const contextLines = 3

// WriteDiff writes a git-style unified diff (a/ and b/ paths) of one file.
// digestbot's edits never add or remove lines, so lines are compared one to
// one; a file whose line count changed is shown as one whole-file hunk.
func WriteDiff(w io.Writer, path string, old, new []byte) error {
	if bytes.Equal(old, new) {
		return nil
	}
	a, b := splitLines(old), splitLines(new)
	var buf bytes.Buffer
	a0, b0 := gitQuote("a/"+path), gitQuote("b/"+path)
	fmt.Fprintf(&buf, "diff --git %s %s\n--- %s\n+++ %s\n", a0, b0, a0, b0)
	if len(a) != len(b) {
		writeHunk(&buf, a, b, 0, len(a), 0, len(b))
		_, err := w.Write(buf.Bytes())
		return err
	}
	var changed []int
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			changed = append(changed, i)
		}
	}
	for i := 0; i < len(changed); {
		start := max(changed[i]-contextLines, 0)
		end := changed[i] + 1
		j := i + 1
		// Merge changes whose contexts touch into one hunk.
		for j < len(changed) && changed[j]-contextLines <= end+contextLines {
			end = changed[j] + 1
			j++
		}
		end = min(end+contextLines, len(a))
		fmt.Fprintf(&buf, "@@ -%s +%s @@\n", hunkRange(start, end-start), hunkRange(start, end-start))
		for k := start; k < end; k++ {
			if bytes.Equal(a[k], b[k]) {
				writeLine(&buf, ' ', a[k])
			} else {
				writeLine(&buf, '-', a[k])
			}
			if !bytes.Equal(a[k], b[k]) {
				writeLine(&buf, '+', b[k])
			}
		}
		i = j
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func writeHunk(buf *bytes.Buffer, a, b [][]byte, as, ae, bs, be int) {
	fmt.Fprintf(buf, "@@ -%s +%s @@\n", hunkRange(as, ae-as), hunkRange(bs, be-bs))
	for _, l := range a[as:ae] {
		writeLine(buf, '-', l)
	}
	for _, l := range b[bs:be] {
		writeLine(buf, '+', l)
	}
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// writeLine writes one diff line; a last line without a newline gets git's
// marker so that the diff applies byte for byte.
func writeLine(buf *bytes.Buffer, op byte, line []byte) {
	buf.WriteByte(op)
	buf.Write(line)
	if !bytes.HasSuffix(line, []byte("\n")) {
		buf.WriteString("\n\\ No newline at end of file\n")
	}
}

// splitLines splits after each '\n', keeping it (and any '\r' before it).
func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}

// gitQuote writes a diff path as git does (quote_c_style, core.quotePath
// on): unchanged when it holds only printable ASCII other than '"' and
// '\\'; otherwise in double quotes with C escapes (\t, \n, \", \\) and
// octal for other control bytes and bytes of 0x80 and above. A path with a
// tab or a newline then still applies with git apply, and cannot forge
// diff headers.
func gitQuote(p string) string {
	need := false
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			need = true
			break
		}
	}
	if !need {
		return p
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, "\\%03o", c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
