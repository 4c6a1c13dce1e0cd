package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/finding"
)

// TestTextCannotInject: every text line holds escaped file names, refs and
// messages: no line break, no escape sequence, no workflow command, no
// login, and a bounded message.
func TestTextCannotInject(t *testing.T) {
	t.Parallel()
	fs := []finding.Finding{
		{File: "x\n::warning file=a::INJECTED/Dockerfile", Line: 1, Column: 6, Ref: "node:20", Status: finding.Unpinned},
		{File: "::error::forged", Line: 1, Column: 6, Ref: "u:pw-secret@reg.example.com/a:1", Status: finding.Error, Message: "label says \x1b[31mred\x1b[0m"},
		{File: "big", Line: 1, Column: 1, Ref: "a:1", Status: finding.Error, Message: strings.Repeat("linux/amd64, ", 20000)},
	}
	var b bytes.Buffer
	if err := WriteText(&b, fs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(fs)+1 {
		t.Fatalf("%d lines for %d findings:\n%s", len(lines), len(fs), b.String())
	}
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "::") || strings.ContainsRune(l, '\x1b') || strings.Contains(l, "pw-secret") || len(l) > 4000 {
			t.Errorf("unsafe line (%d bytes): %.200q", len(l), l)
		}
	}
	var j bytes.Buffer
	if err := WriteJSON(&j, fs, []finding.Problem{{File: "f", Message: "Basic dXNlcjpwYXNz"}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(j.String(), "pw-secret") || strings.Contains(j.String(), "dXNlcjpwYXNz") || j.Len() > 20000 {
		t.Errorf("JSON leaks or is unbounded (%d bytes)", j.Len())
	}
}
