package rewriters

import (
	"errors"
	"fmt"
	"sort"
)

// ErrOverlap is returned by Splice when two edits touch the same bytes.
var ErrOverlap = errors.New("overlapping edits")

// ErrOutOfRange is returned by Splice when an edit lies outside the input.
var ErrOutOfRange = errors.New("edit out of range")

// Edit replaces the bytes of Span with New.
type Edit struct {
	Span Span
	New  string
}

// Splice applies non-overlapping edits to src and returns the new bytes;
// src is not modified. Edits may come in any order. Two edits that overlap,
// or two insertions at the same offset, are refused: an overlap means two
// findings claim the same bytes, which is a bug we must not paper over.
func Splice(src []byte, edits []Edit) ([]byte, error) {
	sorted := make([]Edit, len(edits))
	copy(sorted, edits)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Span.Start < sorted[j].Span.Start })
	size := len(src)
	prev := -1
	prevEmpty := false
	for _, e := range sorted {
		s := e.Span
		if s.Start < 0 || s.End < s.Start || s.End > len(src) {
			return nil, fmt.Errorf("%w: [%d,%d) in %d bytes", ErrOutOfRange, s.Start, s.End, len(src))
		}
		if s.Start < prev || (s.Start == prev && (prevEmpty || s.Start == s.End)) {
			return nil, fmt.Errorf("%w at byte %d", ErrOverlap, s.Start)
		}
		prev, prevEmpty = s.End, s.Start == s.End
		size += len(e.New) - (s.End - s.Start)
	}
	out := make([]byte, 0, size)
	pos := 0
	for _, e := range sorted {
		out = append(out, src[pos:e.Span.Start]...)
		out = append(out, e.New...)
		pos = e.Span.End
	}
	return append(out, src[pos:]...), nil
}

// LineCol returns the 1-based line and byte column of offset off in src.
func LineCol(src []byte, off int) (line, col int) {
	line = 1
	start := 0
	for i := 0; i < off && i < len(src); i++ {
		if src[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, off - start + 1
}
