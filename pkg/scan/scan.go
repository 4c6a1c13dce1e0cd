// Package scan walks a tree, reads only the files whose names make them
// candidates, classifies them and finds their image references. It never
// follows symlinks, never reads non-regular files, and reports a file it
// cannot read or parse as a problem while scanning the rest.
package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/charlievieth/fastwalk"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/imgref"
	"github.com/digestbot/digestbot/pkg/report"
	"github.com/digestbot/digestbot/rewriters"
)

// MaxFileSize bounds how much of one candidate file is read. Real Dockerfiles
// and manifests are far smaller; a larger file is reported, not read.
const MaxFileSize = 16 << 20

// Options tune a scan.
type Options struct {
	// Config supplies exclude and ignore globs; nil means defaults.
	Config *config.Config
	// Progress, when set, is called now and then with the count of
	// candidate files read so far. It must be safe for concurrent use.
	Progress func(files int)
}

// Ref is a reference found in a file, with its parsed meaning.
type Ref struct {
	rewriters.Ref
	// Parsed is valid when Skip is empty.
	Parsed imgref.Ref
}

// File is one candidate file that holds at least one reference.
type File struct {
	Path string // relative to the root, '/'-separated
	Abs  string // the path on disk
	Root string // the scanned root on disk, which writes must stay inside
	Kind rewriters.Kind
	Mode fs.FileMode
	Src  []byte
	Refs []Ref
}

// Result is the outcome of scanning one root.
type Result struct {
	Root     string // the folder paths are relative to
	Files    []*File
	Problems []report.Problem
	// Candidates counts the files read.
	Candidates int
}

// Scan scans path, a folder or a single file. Problems with single files
// land in Result.Problems; the error return is for a path that cannot be
// scanned at all.
func Scan(ctx context.Context, path string, opts Options) (*Result, error) {
	cfg := opts.Config
	if cfg == nil {
		cfg = config.Default()
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot scan: %w; check the PATH", unwrapPath(err))
	}
	res := &Result{Root: path}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("cannot scan: not a regular file or folder")
		}
		res.Root = filepath.Dir(path)
	}

	// The walk is parallel (fastwalk: one goroutine per core reading
	// folders), and each walking goroutine reads and parses the candidates
	// it finds in place: no hand-off between a walker and parsers. The
	// order the walk finds files in is not deterministic, so results are
	// sorted by path at the end, in filepath.WalkDir's order.
	type result struct {
		rel      string
		file     *File
		problems []report.Problem
	}
	var (
		mu    sync.Mutex
		found []result
		n     atomic.Int64
	)
	keep := func(r result) {
		mu.Lock()
		found = append(found, r)
		mu.Unlock()
	}
	visit := func(rel, abs string, explicit bool) {
		f, ps := scanFile(res.Root, rel, abs, cfg, explicit)
		if f != nil || len(ps) > 0 {
			keep(result{rel, f, ps})
		}
		done := n.Add(1)
		if opts.Progress != nil {
			opts.Progress(int(done))
		}
	}
	if !info.IsDir() {
		visit(filepath.Base(path), path, true)
	} else {
		conf := fastwalk.Config{Follow: false, NumWorkers: runtime.GOMAXPROCS(0)}
		err = fastwalk.Walk(&conf, path, func(p string, d fs.DirEntry, err error) error {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if err == nil && !d.IsDir() && (!d.Type().IsRegular() || !rewriters.Candidate(filepath.ToSlash(strings.TrimPrefix(p[len(path):], string(filepath.Separator))))) {
				// The common case, decided without filepath.Rel.
				// Symlinks and devices are never followed: a link's target,
				// if it is inside the root, is scanned in its own place.
				return nil
			}
			rel, _ := filepath.Rel(path, p)
			rel = filepath.ToSlash(rel)
			if err != nil {
				keep(result{rel: rel, problems: []report.Problem{{File: rel, Message: fmt.Sprintf("cannot read: %v", unwrapPath(err))}}})
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if p != path && (d.Name() == ".git" || cfg.Excluded(rel)) {
					return fs.SkipDir
				}
				return nil
			}
			if cfg.Excluded(rel) {
				return nil
			}
			visit(rel, p, false)
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Candidates = int(n.Load())
	sort.Slice(found, func(a, b int) bool { return walkLess(found[a].rel, found[b].rel) })
	for _, r := range found {
		if r.file != nil {
			res.Files = append(res.Files, r.file)
		}
		res.Problems = append(res.Problems, r.problems...)
	}
	sort.SliceStable(res.Problems, func(i, j int) bool { return res.Problems[i].File < res.Problems[j].File })
	return res, nil
}

// walkLess orders '/'-separated paths as filepath.WalkDir visits them: a
// folder's contents come right after the folder, before its siblings that
// sort after it ("a/x" before "a-b").
func walkLess(a, b string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return true
		}
		if cb == '/' {
			return false
		}
		return ca < cb
	}
	return len(a) < len(b)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// scanFile reads, classifies and searches one candidate file. It returns a
// nil File when the file holds no references.
// explicit marks the file the user named as PATH: a symlink there is the
// user's own choice and is followed for reading (writes still refuse it).
func scanFile(root, rel, abs string, cfg *config.Config, explicit bool) (*File, []report.Problem) {
	problem := func(format string, args ...any) []report.Problem {
		return []report.Problem{{File: rel, Message: fmt.Sprintf(format, args...)}}
	}
	src, mode, regular, err := readCandidate(abs, MaxFileSize, explicit)
	if err != nil {
		return nil, problem("cannot read: %v; check its permissions or exclude it in %s", unwrapPath(err), config.FileName)
	}
	if !regular {
		// Replaced by a FIFO, device or symlink since the walk saw it.
		return nil, nil
	}
	kind := rewriters.Classify(rel, src)
	if kind == "" {
		return nil, nil
	}
	if len(src) > MaxFileSize {
		return nil, problem("file is larger than %d MiB; not scanned (exclude it in %s)", MaxFileSize>>20, config.FileName)
	}
	if bytes.IndexByte(src, 0) >= 0 {
		return nil, problem("not a text file (it holds NUL bytes); left untouched (exclude it in %s)", config.FileName)
	}
	found, err := rewriters.ForKind(kind).Find(&rewriters.File{Path: rel, Src: src})
	if err != nil {
		var pe *rewriters.ParseError
		if errors.As(err, &pe) {
			return nil, []report.Problem{{File: rel, Line: pe.Line, Message: fmt.Sprintf("cannot parse as %s: %s; left untouched", kind, pe.Msg)}}
		}
		return nil, problem("cannot parse as %s: %v; left untouched", kind, err)
	}
	if len(found) == 0 {
		return nil, nil
	}
	file := &File{Path: rel, Abs: abs, Root: root, Kind: kind, Mode: mode, Src: src}
	for _, r := range found {
		ref := Ref{Ref: r}
		if ref.Skip == "" {
			parsed, err := imgref.Parse(r.Text)
			switch {
			case err != nil:
				ref.Skip = "not a valid image reference: " + err.Error()
			case cfg.Ignored(parsed.Image()):
				ref.Parsed = parsed
				ref.Skip = "ignored by " + config.FileName
			default:
				ref.Parsed = parsed
			}
		}
		file.Refs = append(file.Refs, ref)
	}
	return file, nil
}

// Findings turns a scan into findings with the offline statuses: unpinned,
// pinned (a digest is written) or skipped.
func (r *Result) Findings() []report.Finding {
	var out []report.Finding
	for _, f := range r.Files {
		for _, ref := range f.Refs {
			out = append(out, ref.Finding(f))
		}
	}
	return out
}

// Finding describes a reference with its offline status.
func (ref Ref) Finding(f *File) report.Finding {
	fd := report.Finding{
		File: f.Path, Line: ref.Line, Column: ref.Column, Kind: string(f.Kind), Ref: ref.Text,
	}
	if ref.Parsed.Name != "" {
		fd.Image = report.Str(ref.Parsed.Image())
		fd.Tag = report.Str(ref.Parsed.Tag)
		fd.Digest = report.Str(ref.Parsed.Digest)
	}
	switch {
	case ref.Skip != "":
		fd.Status, fd.Message = report.Skipped, ref.Skip
	case ref.Parsed.Digest != "" && ref.Parsed.Tag == "":
		fd.Status, fd.Message = report.Pinned, "digest only: no tag to refresh"
	case ref.Parsed.Digest != "":
		fd.Status = report.Pinned
	default:
		fd.Status = report.Unpinned
		if ref.Parsed.Tag == "" {
			fd.Message = "no tag: resolves latest"
		}
	}
	return fd
}

// Display joins a root and a relative path for messages when several roots
// are scanned in one run.
func Display(root, rel string) string {
	if root == "." || root == "" {
		return rel
	}
	return strings.TrimPrefix(filepath.ToSlash(filepath.Join(root, rel)), "./")
}
