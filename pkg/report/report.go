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

// WriteText prints one line per finding, `file:line:col  status  ref  message`,
// then a one-line summary.
func WriteText(w io.Writer, fs []finding.Finding) error {
	width := 0
	for _, f := range fs {
		if n := len(string(f.Status)); n > width {
			width = n
		}
	}
	var b strings.Builder
	for _, f := range fs {
		f = Printable(f)
		fmt.Fprintf(&b, "%s:%d:%d  %-*s  %s", safetext.Line(f.File), f.Line, f.Column, width, f.Status, safetext.Line(f.Ref))
		if f.Message != "" {
			fmt.Fprintf(&b, "  %s", safetext.Line(f.Message))
		}
		b.WriteByte('\n')
	}
	b.WriteString(Summary(fs))
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
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
