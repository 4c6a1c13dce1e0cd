// Package plan owns a run: scan the PATHs, parse every reference once,
// resolve each unique tag once, decide a status per reference, and compute
// the edits fix makes (each one from the reference's own Ref.Pin), then
// write them atomically. Commands are flag parsing plus one call here.
//
// The plan treats every format alike: it knows refs, their resolvable text,
// their notes and their edits, never a format's layout.
package plan

import (
	"sync"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/scan"
)

// FileChange is a file whose content changes, with the changes it holds.
type FileChange struct {
	File    *scan.File
	New     []byte
	Changes []finding.Change
}

// Outcome is the result of a run.
type Outcome struct {
	// Findings holds one verdict per reference, sorted by file and position.
	Findings []finding.Finding
	// Files holds the files whose content fix would change, with their
	// new bytes; unchanged files are absent.
	Files []FileChange
	// Problems holds errors not tied to one reference (unparsable files…);
	// ref-level errors are findings with status error.
	Problems []finding.Problem
	// Attention holds what needs action without being a finding's status
	// (a tag whose index lacks a required platform): check prints it on
	// stderr and exits 1.
	Attention []finding.Problem
	// Unpinnable holds one line per reference that needs a pin fix cannot
	// write (rewriters.ErrCannotPin): why, and how to make it pinnable.
	// The finding keeps its status; the file keeps its bytes there.
	Unpinnable []finding.Problem
	// Config is the configuration the run used.
	Config *config.Config
	// Root is the folder file names are relative to (the repository root
	// for PATHs inside one; see LoadConfig), "" when the PATHs have
	// different roots.
	Root string

	// sources are the scanned bytes of every file with references, by
	// the names findings use.
	sources map[string][]byte
	// lines caches each source's line starts for LineText.
	linesMu sync.Mutex
	lines   map[string][]int
}

// LineText returns the text of a line (1-based, without its line break)
// of a scanned file, as the run read it.
func (out *Outcome) LineText(file string, line int) (string, bool) {
	src, ok := out.sources[file]
	if !ok || line < 1 {
		return "", false
	}
	// SARIF asks once per finding: the line starts of each file are
	// computed once, so a file with many refs is not re-read per ref.
	out.linesMu.Lock()
	if out.lines == nil {
		out.lines = map[string][]int{}
	}
	starts, ok := out.lines[file]
	if !ok {
		starts = lineStarts(src)
		out.lines[file] = starts
	}
	out.linesMu.Unlock()
	return lineAt(src, starts, line)
}
