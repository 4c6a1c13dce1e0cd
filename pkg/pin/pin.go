// Package pin orchestrates a run: it takes scanned files, asks the resolver
// about each unique tag once, decides a verdict per reference, and computes
// the new bytes of every file that changes.
package pin

import (
	"github.com/digestbot/digestbot/pkg/report"
	"github.com/digestbot/digestbot/pkg/scan"
)

// Change is one reference that fix rewrites.
type Change struct {
	File      string // relative path, '/'-separated
	Line      int
	Column    int
	Old       string // the text written in the file
	New       string // the text that replaces it
	Image     string // normalised repository
	Tag       string // the tag resolved (made explicit when none was written)
	OldDigest string // "" when the ref was unpinned
	NewDigest string
	// Status is why the ref changes: unpinned (pin), stale (refresh),
	// platform, image-id, mismatch, missing.
	Status  report.Status
	Message string
}

// Why names the change in a word for tables: pin, refresh, platform, …
func (c Change) Why() string {
	switch c.Status {
	case report.Unpinned:
		return "pin"
	case report.Stale:
		return "refresh"
	}
	return string(c.Status)
}

// FileChange is a file whose content changes, with the changes it holds.
type FileChange struct {
	File    *scan.File
	New     []byte
	Changes []Change
}

// Outcome is the result of a run over scanned files.
type Outcome struct {
	// Findings holds one verdict per reference, sorted by file and position.
	Findings []report.Finding
	// Files holds the files whose content fix would change, with their
	// new bytes; unchanged files are absent.
	Files []FileChange
	// Problems holds errors not tied to one reference (unparsable files…);
	// ref-level errors are findings with status error.
	Problems []report.Problem
	// Attention holds what needs action without being a finding's status
	// (a tag whose index lacks a required platform): check prints it on
	// stderr and exits 1.
	Attention []report.Problem
}
