package fakegithub

import (
	"fmt"
	"strings"
)

// maxDiffCells bounds the LCS table; like GitHub, a larger diff has no patch.
const maxDiffCells = 4_000_000

type line struct {
	text      string // without the newline
	noNewline bool   // the file's last line, without a newline
}

func splitLines(s string) []line {
	if s == "" {
		return nil
	}
	parts := strings.SplitAfter(s, "\n")
	var out []line
	for _, p := range parts {
		if p == "" {
			continue
		}
		if strings.HasSuffix(p, "\n") {
			out = append(out, line{text: strings.TrimSuffix(p, "\n")})
		} else {
			out = append(out, line{text: p, noNewline: true})
		}
	}
	return out
}

type op struct {
	kind byte // ' ', '-', '+'
	l    line
	a, b int // 0-based line index in old / new (valid per kind)
}

// diffOps computes an edit script by longest common subsequence.
func diffOps(a, b []line) ([]op, bool) {
	n, m := len(a), len(b)
	if n*m > maxDiffCells {
		return nil, false
	}
	// lcs[i][j] = LCS length of a[i:], b[j:]
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{kind: ' ', l: a[i], a: i, b: j})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			ops = append(ops, op{kind: '+', l: b[j], a: i, b: j})
			j++
		default:
			ops = append(ops, op{kind: '-', l: a[i], a: i, b: j})
			i++
		}
	}
	return ops, true
}

// patch renders GitHub's `patch` field: unified hunks with three lines of
// context, without file headers, lines joined by "\n". ok is false when the
// diff is too large to compute (GitHub then omits the patch too).
func patch(oldText, newText string) (text string, additions, deletions int, ok bool) {
	ops, ok := diffOps(splitLines(oldText), splitLines(newText))
	if !ok {
		return "", 0, 0, false
	}
	const ctx = 3
	var changed []int
	for k, o := range ops {
		if o.kind != ' ' {
			changed = append(changed, k)
			if o.kind == '+' {
				additions++
			} else {
				deletions++
			}
		}
	}
	var out []string
	for c := 0; c < len(changed); {
		start := max(changed[c]-ctx, 0)
		end := changed[c] + 1
		d := c + 1
		for d < len(changed) && changed[d]-end <= 2*ctx {
			end = changed[d] + 1
			d++
		}
		end = min(end+ctx, len(ops))
		var oldStart, oldCount, newStart, newCount int
		oldStart, newStart = -1, -1
		var body []string
		for _, o := range ops[start:end] {
			switch o.kind {
			case ' ':
				if oldStart < 0 {
					oldStart = o.a
				}
				if newStart < 0 {
					newStart = o.b
				}
				oldCount++
				newCount++
			case '-':
				if oldStart < 0 {
					oldStart = o.a
				}
				oldCount++
			case '+':
				if newStart < 0 {
					newStart = o.b
				}
				newCount++
			}
			body = append(body, string(o.kind)+o.l.text)
			if o.l.noNewline {
				body = append(body, `\ No newline at end of file`)
			}
		}
		// Empty ranges name the line before them, as git does.
		if oldStart < 0 {
			oldStart = ops[start].a
		}
		if newStart < 0 {
			newStart = ops[start].b
		}
		header := "@@ -" + rng(oldStart, oldCount) + " +" + rng(newStart, newCount) + " @@"
		out = append(out, header)
		out = append(out, body...)
		c = d
	}
	return strings.Join(out, "\n"), additions, deletions, true
}

func rng(start0, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", start0)
	}
	if count == 1 {
		return fmt.Sprintf("%d", start0+1)
	}
	return fmt.Sprintf("%d,%d", start0+1, count)
}

// rightLines lists the new-side line numbers a patch covers (context and
// added lines): where GitHub accepts review comments on the RIGHT side.
func rightLines(p string) map[int]bool {
	out := map[int]bool{}
	n := 0
	for _, l := range strings.Split(p, "\n") {
		switch {
		case strings.HasPrefix(l, "@@"):
			var a, b, c, d int
			if _, err := fmt.Sscanf(l, "@@ -%d,%d +%d,%d @@", &a, &b, &c, &d); err == nil {
				n = c
			} else if _, err := fmt.Sscanf(l, "@@ -%d,%d +%d @@", &a, &b, &c); err == nil {
				n = c
			} else if _, err := fmt.Sscanf(l, "@@ -%d +%d,%d @@", &a, &c, &d); err == nil {
				n = c
			} else if _, err := fmt.Sscanf(l, "@@ -%d +%d @@", &a, &c); err == nil {
				n = c
			}
		case strings.HasPrefix(l, "+"), strings.HasPrefix(l, " "):
			out[n] = true
			n++
		}
	}
	return out
}
