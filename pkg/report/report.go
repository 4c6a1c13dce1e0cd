// Package report renders findings: text for people, JSON and SARIF for
// machines, and unified diffs for --dry-run. It only renders: what a status
// means lives in package finding. The JSON shape is a contract.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/digestbot/digestbot/internal/safetext"
	"github.com/digestbot/digestbot/pkg/finding"
)

// Printable returns f as every output shows it: a ref written with a login
// (user:pass@host/…) and any credential in the message redacted, the
// message bounded to safetext.MaxMessage. Text output escapes control
// characters on top; JSON and SARIF encoders escape them themselves.
func Printable(f finding.Finding) finding.Finding {
	f.Ref = safetext.Redact(f.Ref)
	f.Message = safetext.Clip(safetext.Redact(f.Message), safetext.MaxMessage)
	return f
}

// WriteJSON prints {"findings": [...]} (with "errors" when there are any).
func WriteJSON(w io.Writer, fs []finding.Finding, problems []finding.Problem) error {
	out := struct {
		Findings []finding.Finding `json:"findings"`
		Errors   []finding.Problem `json:"errors,omitempty"`
	}{Findings: make([]finding.Finding, 0, len(fs))}
	for _, f := range fs {
		out.Findings = append(out.Findings, Printable(f))
	}
	for _, p := range problems {
		p.Message = safetext.Clip(safetext.Redact(p.Message), safetext.MaxMessage)
		out.Errors = append(out.Errors, p)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// WriteText prints one line per finding, `file:line:col  status  ref
// message` in aligned columns, then a one-line summary.
func WriteText(w io.Writer, fs []finding.Finding) error {
	return WriteTextOpts(w, fs, TextOptions{})
}

// TextOptions tune the text report.
type TextOptions struct {
	// Quiet lists only the findings that need action (the summary still
	// counts every finding).
	Quiet bool
	// OmitErrors leaves findings with status error out of the list (the
	// summary counts them): the command prints them on stderr, grouped by
	// host, so each is said once.
	OmitErrors bool
	// Color paints the status words (a terminal, and NO_COLOR unset).
	Color bool
}

// maxRefColumn bounds the ref column's width: a longer ref (a pinned one
// with its digest) pushes its own message right rather than every line's.
const maxRefColumn = 48

// WriteTextOpts is WriteText with options.
func WriteTextOpts(w io.Writer, fs []finding.Finding, o TextOptions) error {
	type row struct {
		loc, status, ref, msg string
		st                    finding.Status
	}
	var rows []row
	locW, stW, refW := 0, 0, 0
	for _, f := range fs {
		if (o.Quiet && !f.Actionable()) || (o.OmitErrors && f.Status == finding.Error) {
			continue
		}
		f = Printable(f)
		r := row{
			loc:    fmt.Sprintf("%s:%d:%d", safetext.Line(f.File), f.Line, f.Column),
			status: string(f.Status), ref: safetext.Line(f.Ref), st: f.Status,
		}
		if f.Message != "" {
			r.msg = safetext.Line(f.Message)
		}
		locW, stW = max(locW, len(r.loc)), max(stW, len(r.status))
		if len(r.ref) <= maxRefColumn {
			refW = max(refW, len(r.ref))
		}
		rows = append(rows, r)
	}
	var b strings.Builder
	for _, r := range rows {
		st := fmt.Sprintf("%-*s", stW, r.status)
		if o.Color {
			st = paint(r.st, st)
		}
		if r.msg == "" {
			fmt.Fprintf(&b, "%-*s  %s  %s", locW, r.loc, st, r.ref)
		} else {
			fmt.Fprintf(&b, "%-*s  %s  %-*s  %s", locW, r.loc, st, refW, r.ref, r.msg)
		}
		b.WriteByte('\n')
	}
	b.WriteString(Summary(fs))
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// paint colours a status word: red for errors and pins that change the
// image, yellow for what needs action, green for ok, dim for the rest.
func paint(s finding.Status, text string) string {
	code := "2" // dim
	switch {
	case s == finding.Error || s.ChangesImage():
		code = "31"
	case s.NeedsAction():
		code = "33"
	case s == finding.OK:
		code = "32"
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// Summary is a one-line count of findings by status.
func Summary(fs []finding.Finding) string {
	counts := map[finding.Status]int{}
	files := map[string]bool{}
	for _, f := range fs {
		counts[f.Status]++
		files[f.File] = true
	}
	parts := []string{}
	for _, s := range finding.Statuses() {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	refs := "refs"
	if len(fs) == 1 {
		refs = "ref"
	}
	fileWord := "files"
	if len(files) == 1 {
		fileWord = "file"
	}
	s := fmt.Sprintf("%d %s in %d %s", len(fs), refs, len(files), fileWord)
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}
