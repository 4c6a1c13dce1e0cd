// Package report renders findings: text for people, JSON and SARIF for
// machines, and unified diffs for --dry-run. The JSON shape is a contract.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Status is the verdict on one reference. The values are part of the contract.
type Status string

// The statuses, in the order summaries list them.
const (
	Unpinned   Status = "unpinned"
	Pinned     Status = "pinned"
	OK         Status = "ok"
	Stale      Status = "stale"
	Mismatch   Status = "mismatch"
	Platform   Status = "platform"
	ImageID    Status = "image-id"
	Missing    Status = "missing"
	DigestOnly Status = "digest-only"
	Skipped    Status = "skipped"
	Error      Status = "error"
)

// AllStatuses lists every status in summary order.
var AllStatuses = []Status{Unpinned, Pinned, OK, Stale, Mismatch, Platform, ImageID, Missing, DigestOnly, Skipped, Error}

// NeedsAction reports whether `check` should exit 1 for this status.
func (s Status) NeedsAction() bool {
	switch s {
	case Unpinned, Stale, Mismatch, Platform, ImageID, Missing:
		return true
	}
	return false
}

// ChangesImage reports whether fixing this status changes which image runs,
// which must be called out loudly wherever it is reported.
func (s Status) ChangesImage() bool { return s == Mismatch || s == Missing }

// Finding is one reference and its verdict, as printed by scan and check.
type Finding struct {
	File     string  `json:"file"`
	Line     int     `json:"line"`
	Column   int     `json:"column"`
	Kind     string  `json:"kind"`
	Ref      string  `json:"ref"`
	Image    *string `json:"image"`
	Tag      *string `json:"tag"`
	Digest   *string `json:"digest"`
	Status   Status  `json:"status"`
	Resolved *string `json:"resolved"`
	Message  string  `json:"message"`
}

// Str returns a pointer to s, or nil when s is empty: JSON null for absent.
func Str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Deref returns *p or "".
func Deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Problem is an error that is not about one resolvable reference: a file
// that cannot be read or parsed. It is printed on stderr.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Sort orders findings by file, then position.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// WriteJSON prints {"findings": [...]} (with "errors" when there are any).
func WriteJSON(w io.Writer, fs []Finding, problems []Problem) error {
	out := struct {
		Findings []Finding `json:"findings"`
		Errors   []Problem `json:"errors,omitempty"`
	}{Findings: fs, Errors: problems}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// WriteText prints one line per finding, `file:line:col  status  ref  message`,
// then a one-line summary.
func WriteText(w io.Writer, fs []Finding) error {
	width := 0
	for _, f := range fs {
		if n := len(string(f.Status)); n > width {
			width = n
		}
	}
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s:%d:%d  %-*s  %s", f.File, f.Line, f.Column, width, f.Status, f.Ref)
		if f.Message != "" {
			fmt.Fprintf(&b, "  %s", f.Message)
		}
		b.WriteByte('\n')
	}
	b.WriteString(Summary(fs))
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is a one-line count of findings by status.
func Summary(fs []Finding) string {
	counts := map[Status]int{}
	files := map[string]bool{}
	for _, f := range fs {
		counts[f.Status]++
		files[f.File] = true
	}
	parts := []string{}
	for _, s := range AllStatuses {
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
