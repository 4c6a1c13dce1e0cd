package plan

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/imgref"
	"github.com/digestbot/digestbot/pkg/scan"
	"github.com/digestbot/digestbot/rewriters"
)

// item is one reference, parsed once (from Ref.Resolvable) for the whole
// run: resolve and diagnose get the parsed value, never the text again.
type item struct {
	file *scan.File
	ref  rewriters.Ref
	// p is the parsed reference; valid when parsed is true (also for some
	// skipped refs, e.g. ignored ones, whose image is still reported).
	p      imgref.Ref
	parsed bool
	// skip says why the reference is not resolved; "" to resolve it.
	skip string
	// invalid, when set, says why the text is not an image reference at
	// all (docker refuses it, so a pull fails): status error, never
	// skipped, so check and scan exit 2. skip is set too.
	invalid string
}

// digestOnly is a digest and no tag: nothing to resolve or refresh.
func (it *item) digestOnly() bool { return it.p.Digest != "" && it.p.Tag == "" }

// items parses every reference of files once and decides which are
// skipped (see fileItems).
//
// Files are parsed on every core (fileItems is safe for concurrent use; the
// scan's OnFile calls it from the walking goroutines): this runs after the
// scan, so one core alone would leave the others idle.
func items(files []*scan.File, cfg *config.Config) [][]*item {
	out := make([][]*item, len(files))
	workers := min(runtime.GOMAXPROCS(0), (len(files)+63)/64)
	if workers <= 1 {
		for i, f := range files {
			out[i] = fileItems(f, cfg)
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(files); i = int(next.Add(1) - 1) {
				out[i] = fileItems(files[i], cfg)
			}
		})
	}
	wg.Wait()
	return out
}

// fileItems parses every reference of one file once and decides which are
// skipped: the format's own reasons, refs that do not parse, images the
// config ignores, and composed refs under pins.composed: skip. Refs that
// do not parse are errors, not skips: docker refuses them.
func fileItems(f *scan.File, cfg *config.Config) []*item {
	if cfg == nil {
		cfg = config.Default()
	}
	out := make([]*item, 0, len(f.Refs))
	var starts []int
	for _, r := range f.Refs {
		it := &item{file: f, ref: r, skip: r.Skip}
		if it.skip == "" {
			if starts == nil {
				starts = lineStarts(f.Src)
			}
			p, err := imgref.Parse(r.Resolvable())
			reason, ignored := inlineIgnoreAt(f.Src, starts, r.Line)
			switch {
			case ignored:
				// Before validity: an opt-out silences even a ref
				// digestbot cannot parse, as hadolint's does.
				it.p, it.parsed = p, err == nil
				it.skip = "ignored by a digestbot:ignore comment" + reason
			case err != nil && refAlphabet(r.Resolvable()):
				it.invalid = err.Error() + "; docker refuses it too (invalid reference format)"
				it.skip = it.invalid
			case err != nil:
				// Placeholders and schemes other tools expand
				// ($(params.X), <<VAR>>, ko://…): not a reference.
				it.skip = "not an image reference: " + err.Error()
			case cfg.Ignored(p.Image()):
				it.p, it.parsed = p, true
				it.skip = "ignored by " + config.FileName
			case r.Composed && cfg.Pins.Composed == config.ComposedSkip:
				it.p, it.parsed = p, true
				it.skip = "composed of variables (pins.composed: skip in " + config.FileName + ")"
			default:
				it.p, it.parsed = p, true
			}
		}
		out = append(out, it)
	}
	return out
}

// resolvable reports whether the reference needs its tag looked up.
func (it *item) resolvable() bool { return it.skip == "" && !it.digestOnly() }

// finding is the reference's finding before any verdict: where, what.
func (it *item) finding() finding.Finding {
	fd := finding.Finding{
		File: it.file.Path, Line: it.ref.Line, Column: it.ref.Column,
		Kind: string(it.file.Kind), Ref: it.ref.Text,
	}
	if it.parsed {
		fd.Image = finding.Str(it.p.Image())
		fd.Tag = finding.Str(it.p.Tag)
		fd.Digest = finding.Str(it.p.Digest)
	}
	return fd
}

// offline is the verdict without a registry (scan): unpinned, pinned (a
// digest is written) or skipped.
func (it *item) offline() finding.Finding {
	fd := it.finding()
	switch {
	case it.invalid != "":
		fd.Status, fd.Message = finding.Error, it.invalid
	case it.skip != "":
		fd.Status, fd.Message = finding.Skipped, it.skip
	case it.digestOnly():
		fd.Status, fd.Message = finding.Pinned, "digest only: no tag to refresh"
	case it.p.Digest != "":
		fd.Status = finding.Pinned
	default:
		fd.Status = finding.Unpinned
		if it.p.Tag == "" {
			fd.Message = "no tag: resolves latest"
		}
	}
	return fd
}

// ignoreRe matches the inline opt-out in a comment: "# digestbot:ignore"
// or "// digestbot:ignore" (JSONC, HCL), optionally followed by a reason.
var ignoreRe = regexp.MustCompile(`(?:^|\s)(?:#|//)\s*digestbot:ignore(?:[\s:]+(.*?))?\s*$`)

// ignoreWord is the literal every match of ignoreRe holds.
const ignoreWord = "digestbot:ignore"

// inlineIgnore reports whether the reference on line (1-based) is opted
// out: a digestbot:ignore comment at the end of that line, or a comment
// line holding only it right above. It returns ": <reason>" when a reason
// is given. Formats differ in their comment syntax, not in this: the check
// reads bytes around the ref's line, so every format gets it.
func inlineIgnore(src []byte, line int) (string, bool) {
	return inlineIgnoreAt(src, lineStarts(src), line)
}

// inlineIgnoreAt is inlineIgnore with the file's line starts computed once
// (lineStarts): a file with many refs is read once, not once per ref (a
// Dockerfile of 100,000 FROM lines took ten minutes).
func inlineIgnoreAt(src []byte, starts []int, line int) (string, bool) {
	if line < 1 {
		return "", false
	}
	at := func(n int) (string, bool) {
		l, ok := lineAt(src, starts, n)
		return strings.TrimRight(l, "\r"), ok
	}
	reason := func(m []string) string {
		if m[1] != "" {
			return ": " + m[1]
		}
		return ""
	}
	// The pattern needs its literal: most lines lack it, and a regexp per
	// reference cost a 100k-file check ~25 ms of CPU.
	if l, ok := at(line); ok && strings.Contains(l, ignoreWord) {
		if m := ignoreRe.FindStringSubmatch(l); m != nil {
			return reason(m), true
		}
	}
	if l, ok := at(line - 1); ok && strings.Contains(l, ignoreWord) {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") {
			if m := ignoreRe.FindStringSubmatch(" " + t); m != nil {
				return reason(m), true
			}
		}
	}
	return "", false
}

// refAlphabet reports whether s is written only with the characters of an
// image reference (and non-ASCII characters, which no placeholder syntax
// uses) and no URL scheme: an attempt at a reference, so a parse failure is
// the user's typo (FROM Nginx:1.27, nginx::1.27, a zero-width space after
// the tag), not a placeholder some other tool expands.
func refAlphabet(s string) bool {
	if s == "" || strings.Contains(s, "://") {
		return false
	}
	ascii := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			// Non-ASCII (a zero-width space, a bidi override, a
			// look-alike letter) is no placeholder syntax: inside an
			// otherwise valid-looking ref it is a typo or a trap that
			// pulls fail on, so the ref is invalid, not skipped.
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-:/@", c) >= 0:
			ascii = true
		default:
			return false
		}
	}
	return ascii
}

// withNote appends the format's note (variables and their values, a tag
// named in a comment…) to a message.
func withNote(msg, note string) string {
	switch {
	case note == "":
		return msg
	case msg == "":
		return note
	}
	return msg + "; " + note
}

// overrides adds, generically, a notice to pinned findings whose image
// another file overrides with a tag and no digest (a kustomization's
// images[] entry): the tool that applies the override drops the digest
// written here. Nothing here knows which format overrides.
func overrides(all [][]*item, findings map[*item]*finding.Finding) {
	type over struct {
		it    *item
		image string
	}
	var overs []over
	for _, its := range all {
		for _, it := range its {
			if it.ref.Overrides == "" || !it.parsed || it.p.Digest != "" {
				continue
			}
			image := it.ref.Overrides
			if p, err := imgref.Parse(image); err == nil {
				image = p.Image()
			}
			overs = append(overs, over{it, image})
		}
	}
	if len(overs) == 0 {
		return
	}
	for _, its := range all {
		for _, it := range its {
			fd := findings[it]
			if fd == nil || !it.parsed || it.p.Digest == "" || fd.Status == finding.Skipped {
				continue
			}
			for _, o := range overs {
				if o.it.file == it.file || o.image != it.p.Image() || !reaches(o.it.ref.OverridesKinds, it.file.Kind) {
					continue
				}
				fd.Message = withNote(fd.Message, fmt.Sprintf(
					"%s:%d overrides this image's tag with %s and no digest, so the digest written here is dropped; pin it there",
					o.it.file.Path, o.it.ref.Line, oneLine(o.it.ref.Text)))
			}
		}
	}
}

// reaches reports whether an override limited to kinds (none: every kind)
// reaches a file of kind k.
func reaches(kinds []rewriters.Kind, k rewriters.Kind) bool {
	return len(kinds) == 0 || slices.Contains(kinds, k)
}

// oneLine shows text with line breaks escaped, for one-line messages.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

// lineStarts returns the offset of the first byte of every line of src.
func lineStarts(src []byte) []int {
	starts := make([]int, 1, bytes.Count(src, []byte{'\n'})+1)
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineAt returns line n (1-based) of src without its "\n" (a "\r" before
// it is kept), given src's lineStarts.
func lineAt(src []byte, starts []int, n int) (string, bool) {
	if n < 1 || n > len(starts) {
		return "", false
	}
	start, end := starts[n-1], len(src)
	if n < len(starts) {
		end = starts[n] - 1
	}
	return string(src[start:end]), true
}
