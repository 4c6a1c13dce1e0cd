// Package scan walks a tree, reads only the files whose names make them
// candidates, classifies them and finds their image references. It never
// follows symlinks, never reads non-regular files, and reports a file it
// cannot read or parse as a problem while scanning the rest.
//
// Scan finds refs; it decides no status (package plan does). It is offline:
// it imports no resolver and no network code (enforced by depcheck tests).
package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/charlievieth/fastwalk"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/rewriters"
)

// MaxFileSize bounds how much of one candidate file is read. Real Dockerfiles
// and manifests are far smaller; a larger file is reported, not read.
const MaxFileSize = 16 << 20

// Options tune a scan.
type Options struct {
	// Config supplies exclude globs and the formats' options; nil means
	// defaults.
	Config *config.Config
	// Progress, when set, is called now and then with the count of
	// candidate files read so far. It must be safe for concurrent use.
	Progress func(files int)
	// OnFile, when set, is called with each file that holds references as
	// soon as it is parsed, long before the scan ends, so a caller can
	// start on its references while the walk goes on (the plan resolves
	// tags while scanning). It is called concurrently from the walking
	// goroutines, so it must be safe for concurrent use, and quick: the
	// walk waits for it. It must not modify the file. Every file it sees
	// is in the Result (which names it by the same pointer) unless the
	// scan fails as a whole.
	OnFile func(*File)
	// Root, when set, is the folder paths are reported relative to, that
	// excludes apply from and that writes stay inside: the repository
	// root (config.Discover) when PATH is a file or folder inside it.
	// It must contain the scanned path. Default: the path itself (its
	// folder for a file). It does not decide formats: those are decided
	// from each file's path seen from its repository root (classifyPrefix).
	Root string
}

// File is one candidate file that holds at least one reference.
type File struct {
	Path string // relative to the root, '/'-separated
	Abs  string // the path on disk
	Root string // the scanned root on disk, which writes must stay inside
	Kind rewriters.Kind
	Mode fs.FileMode
	Src  []byte
	// Refs are the references the format found, in file order; their
	// statuses are the plan's to decide.
	Refs []rewriters.Ref
}

// Result is the outcome of scanning one root.
type Result struct {
	Root     string // the folder paths are relative to
	Files    []*File
	Problems []finding.Problem
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
	if path == "" {
		// filepath.Clean("") is ".": an unset "$FILE" in a script would
		// scan, and fix rewrite, the whole current folder.
		return nil, fmt.Errorf("cannot scan: empty PATH; name a file or folder (no PATH scans the current folder)")
	}
	// The walk joins (and so cleans) the names it yields: a clean path is
	// their exact prefix, which the fast path below relies on.
	path = filepath.Clean(path)
	if opts.Root != "" && filepath.IsAbs(opts.Root) && !filepath.IsAbs(path) {
		// The root (config discovery) is absolute: walk the PATH by its
		// absolute name too, so File.Abs lies inside File.Root for the
		// writer (a relative "." against "/repo" is "outside the root").
		if a, err := filepath.Abs(path); err == nil {
			path = a
		}
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
	// base is path's place under the root ("" when path is the root),
	// '/'-separated with a trailing slash, prefixed to every walked path.
	base := ""
	if opts.Root != "" {
		b, err := within(opts.Root, path)
		if err != nil {
			return nil, err
		}
		res.Root = opts.Root
		if b != "." {
			base = b + "/"
		}
	}
	if !info.IsDir() {
		base = strings.TrimSuffix(base, filepath.Base(path)+"/")
	}
	s := &scanner{root: res.Root, cfg: cfg, fopts: FormatOptions(cfg), context: classifyPrefix(res.Root)}
	if t, err := newTree(res.Root, cfg); err == nil {
		defer t.Close()
		s.tree = t
		if s.context != "" {
			s.claimTree = mount{fsys: t, at: strings.TrimSuffix(s.context, "/")}
		}
	}
	// cbase is base as the formats see it when they classify a file.
	cbase := s.context + base

	// The walk is parallel (fastwalk: one goroutine per core reading
	// folders), and each walking goroutine reads and parses the candidates
	// it finds in place: no hand-off between a walker and parsers. The
	// order the walk finds files in is not deterministic, so results are
	// sorted by path at the end, in filepath.WalkDir's order.
	var (
		mu    sync.Mutex
		found []scanned
		n     atomic.Int64
	)
	keep := func(r scanned) {
		mu.Lock()
		found = append(found, r)
		mu.Unlock()
	}
	visit := func(rel, abs string, explicit bool) {
		if r := s.file(rel, abs, nil, explicit); r.file != nil || len(r.problems) > 0 || r.kind != "" {
			if r.file != nil && opts.OnFile != nil {
				opts.OnFile(r.file)
			}
			keep(r)
		}
		done := n.Add(1)
		if opts.Progress != nil {
			opts.Progress(int(done))
		}
	}
	if !info.IsDir() {
		// A file named on the command line (pre-commit and editors pass
		// them) is excluded as it would be in a walk of the root.
		if rel := base + filepath.Base(path); !cfg.Excluded(rel) {
			visit(rel, path, true)
		}
	} else {
		conf := fastwalk.Config{Follow: false, NumWorkers: walkWorkers()}
		err = fastwalk.Walk(&conf, path, func(p string, d fs.DirEntry, err error) error {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if err == nil && !d.IsDir() && (!d.Type().IsRegular() || !rewriters.CandidateName(d.Name()) || !rewriters.Candidate(cbase+filepath.ToSlash(walkRel(path, p)))) {
				// The common case, decided without filepath.Rel.
				// Symlinks and devices are never followed: a link's target,
				// if it is inside the root, is scanned in its own place.
				return nil
			}
			rel, _ := filepath.Rel(path, p)
			rel = strings.TrimSuffix(base+filepath.ToSlash(rel), "/.")
			if err != nil {
				keep(scanned{rel: rel, problems: []finding.Problem{{File: rel, Message: fmt.Sprintf("cannot read: %v", unwrapPath(err))}}})
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
	followed := s.follow(ctx, found)
	if opts.OnFile != nil {
		for _, r := range followed {
			if r.file != nil {
				opts.OnFile(r.file)
			}
		}
	}
	found = append(found, followed...)
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

// walkRel is p's path below the clean folder path the walk walks, without
// filepath.Rel's cost. A walk of "." yields bare names.
func walkRel(path, p string) string {
	if path == "." {
		return p
	}
	return strings.TrimPrefix(p[len(path):], string(filepath.Separator))
}

// within returns path's place under root, '/'-separated ("." for root
// itself), or an error when path is not inside root.
func within(root, path string) (string, error) {
	absRoot, err1 := filepath.Abs(root)
	absPath, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("cannot scan: %v", errors.Join(err1, err2))
	}
	rel, err := filepath.Rel(absRoot, absPath)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("cannot scan: %s is not inside the root %s", path, root)
	}
	return filepath.ToSlash(rel), nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// FormatOptions maps the config's format settings to the formats' options.
func FormatOptions(cfg *config.Config) rewriters.Options {
	if cfg == nil {
		cfg = config.Default()
	}
	keys := cfg.Helm.DigestKeys
	if keys == nil {
		keys = config.DefaultHelmDigestKeys
	}
	return rewriters.Options{
		HelmDigestKeys:   append([]string(nil), keys...),
		HelmInlineDigest: cfg.Helm.InlineDigest,
	}
}

// scanner holds what every file of one scan shares.
type scanner struct {
	root  string
	cfg   *config.Config
	fopts rewriters.Options
	tree  fs.FS // nil when the root cannot be opened as a tree
	// context is the root's place under its repository root (or, outside
	// any repository, under the file system's root), '/'-separated with a
	// trailing slash; "" when the root is a repository root. Formats
	// classify files by context+rel (classifyPrefix) and read the tree
	// through claimTree, the same tree seen from there.
	context   string
	claimTree fs.FS
}

// classifyPrefix is root's place under the nearest folder at or above it
// that holds .git (outside any repository, under the file system's root),
// '/'-separated with a trailing slash, "" when root holds .git itself.
//
// Several formats are claimed by the folders a file sits in
// (.github/workflows/, .devcontainer/, .circleci/, .woodpecker/,
// .azure-pipelines/). A root that cuts through those folders (PATH
// .github/workflows/ci.yml outside a repository: the root is the file's
// own folder, so the file is just "ci.yml") would hide them, and the file
// would be classified differently from a scan of its repository. Formats
// therefore see each file by its path from the repository root (or by
// its full path outside one), while paths, excludes and writes stay
// relative to the scanned root.
func classifyPrefix(root string) string {
	abs, err := filepath.Abs(root)
	if err != nil {
		return ""
	}
	top, ok := config.RepoRoot(abs)
	if !ok {
		top = filepath.VolumeName(abs) + string(filepath.Separator) // the file system's root
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == "." {
		return ""
	}
	return filepath.ToSlash(rel) + "/"
}

// scanned is what scanning one file gives.
type scanned struct {
	rel      string
	kind     rewriters.Kind // the claiming format; "" when none claimed it
	file     *File          // nil when the file holds no references
	problems []finding.Problem
	follow   []string // root-relative paths the format asked to follow
}

// maxFollowed bounds the files read because a format asked to follow
// them (GitLab CI includes), so a hostile tree cannot make a scan read
// without end.
const maxFollowed = 1000

// follow reads the files formats asked to follow, with the format that
// asked, until none is left: each path once, inside the root, not
// excluded, regular, and not claimed by a format already.
func (s *scanner) follow(ctx context.Context, done []scanned) []scanned {
	claimed := map[string]bool{}
	type req struct {
		rel  string
		kind rewriters.Kind
	}
	var queue []req
	add := func(r scanned) {
		for _, p := range r.follow {
			queue = append(queue, req{p, r.kind})
		}
	}
	for _, r := range done {
		if r.kind != "" {
			claimed[r.rel] = true
		}
		add(r)
	}
	var out []scanned
	for len(queue) > 0 && len(out) < maxFollowed && ctx.Err() == nil {
		q := queue[0]
		queue = queue[1:]
		rel := path.Clean(strings.TrimPrefix(q.rel, "./"))
		if !fs.ValidPath(rel) || rel == "." || claimed[rel] || s.cfg.Excluded(rel) || hasGitDir(rel) {
			continue
		}
		claimed[rel] = true
		ft := rewriters.ForKind(q.kind)
		if ft == nil {
			continue
		}
		abs, ok := s.inside(rel)
		if !ok {
			continue
		}
		r := s.file(rel, abs, ft, false)
		if r.kind == "" {
			continue
		}
		out = append(out, r)
		add(r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out
}

// hasGitDir reports whether rel lies in a .git folder, which is never read.
func hasGitDir(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if part == ".git" {
			return true
		}
	}
	return false
}

// inside returns the on-disk path of a root-relative path when every
// folder on the way is a real folder (no symlink) and the path itself is a
// regular file.
func (s *scanner) inside(rel string) (string, bool) {
	cur := s.root
	parts := strings.Split(rel, "/")
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		info, err := os.Lstat(cur)
		if err != nil {
			return "", false
		}
		last := i == len(parts)-1
		if (!last && !info.IsDir()) || (last && !info.Mode().IsRegular()) {
			return "", false
		}
	}
	return cur, true
}

// file reads, classifies and searches one candidate file. With ft set, the
// file is read as that format (a followed file) without asking for claims.
// explicit marks the file the user named as PATH: a symlink there is the
// user's own choice and is followed for reading (writes still refuse it).
func (s *scanner) file(rel, abs string, ft rewriters.Format, explicit bool) scanned {
	out := scanned{rel: rel}
	problem := func(format string, args ...any) scanned {
		out.problems = []finding.Problem{{File: rel, Message: fmt.Sprintf(format, args...)}}
		return out
	}
	src, mode, regular, err := readCandidate(abs, MaxFileSize, explicit)
	if err != nil {
		return problem("cannot read: %v; check its permissions or exclude it in %s", unwrapPath(err), config.FileName)
	}
	if !regular {
		// Replaced by a FIFO, device or symlink since the walk saw it.
		return out
	}
	rf := &rewriters.File{Path: rel, Src: src, Tree: s.tree, Options: s.fopts}
	if ft == nil {
		// Classified as seen from the repository root (classifyPrefix);
		// found as seen from the scanned root, which the paths a format
		// computes (GitLab's includes, a values file's Chart.yaml) are
		// relative to.
		cf := rf
		if s.context != "" {
			cf = &rewriters.File{Path: s.context + rel, Src: src, Tree: s.claimTree, Options: s.fopts}
		}
		ft = rewriters.Claim(cf)
		if ft == nil {
			return out
		}
	}
	kind := ft.Kind()
	out.kind = kind
	if len(src) > MaxFileSize {
		return problem("file is larger than %d MiB; not scanned (exclude it in %s)", MaxFileSize>>20, config.FileName)
	}
	if bytes.IndexByte(src, 0) >= 0 {
		return problem("not a text file (it holds NUL bytes); left untouched (exclude it in %s)", config.FileName)
	}
	found, err := ft.Find(rf)
	out.follow = rf.Followed()
	if err != nil {
		var pe *rewriters.ParseError
		if errors.As(err, &pe) {
			out.problems = []finding.Problem{{File: rel, Line: pe.Line, Message: fmt.Sprintf("cannot parse as %s: %s; left untouched", kind, pe.Msg)}}
			return out
		}
		return problem("cannot parse as %s: %v; left untouched", kind, err)
	}
	if len(found) == 0 {
		return out
	}
	out.file = &File{Path: rel, Abs: abs, Root: s.root, Kind: kind, Mode: mode, Src: src, Refs: found}
	return out
}

// Display joins a root and a relative path for messages when several roots
// are scanned in one run.
func Display(root, rel string) string {
	if root == "." || root == "" {
		return rel
	}
	return strings.TrimPrefix(filepath.ToSlash(filepath.Join(root, rel)), "./")
}

// walkWorkers is how many goroutines walk, read and parse at once: more
// than the cores, because each spends much of its time blocked in the
// kernel (a directory read, an open, a read that misses the page cache),
// and a blocked goroutine leaves its core idle. Measured on 100,000 files
// on 2 cores (README, Performance): 2 workers 1.63 s, 4 1.41 s, 8 1.21 s,
// 16 1.01 s on a tree of one file per folder; 0.52 s with 2 and 0.44 s
// with 4 to 16 at 16 files per folder. Capped, since each worker that
// blocks holds an OS thread.
func walkWorkers() int {
	return min(8*runtime.GOMAXPROCS(0), 64)
}
