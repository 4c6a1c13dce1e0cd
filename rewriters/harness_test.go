package rewriters

// The shared golden and fuzz harness: one set of rules for every format.
//
// Adding a case: write testdata/<kind>/<name>.txtar holding
//
//	<comment: what the case proves; directives, one a line:>
//	transform: crlf bom nonewline      (applied to every input file)
//	transform <path>: crlf             (applied to one input file)
//	option: helm.inline-digest         (Options for every file)
//	option: helm.digest-keys=digest,sha
//	-- <path> --                       (one or more input files, root-relative:
//	...                                 Dockerfile, compose.yaml, .env,
//	-- <path> --                        chart/Chart.yaml, chart/values.yaml…)
//	...
//
// then run `go test ./rewriters -run TestGolden/<kind>/<name> -update`: the
// harness classifies every input file through Formats() (first claim wins,
// exactly as scan does), runs Find with the other input files as File.Tree,
// and writes the `want` section (every file's format and refs) and one
// `pinned:<path>` section per file that pinning every ref with a fixed
// digest changes (or `pinned` = "(unchanged)"). Review the diff, commit.
// Input files are stored as plain LF text; transforms produce CRLF, a BOM
// or a missing final newline for the test, and pinned sections are stored
// untransformed.
//
// For every file of every case (and every fuzz input) the harness checks
// the invariants in hCheckFile: no panic; a *ParseError or refs; spans in
// bounds, ordered, non-overlapping; Line/Column at Span.Start; no raw line
// break in Text; Pin validates its digest; each ref's edits in bounds and
// apart; re-pinning a ref at the digest it already has is the identity;
// outside the edits nothing changes; and fix twice equals fix once.
// FuzzFormats fuzzes every format at once: its input is a txtar archive of
// files, seeded with the inputs of every golden case.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/tools/txtar"

	"github.com/digestbot/digestbot/pkg/imgref"
)

// hDigest is the digest every golden and fuzz pin uses.
var hDigest = "sha256:" + strings.Repeat("a", 64)

// hFile is one input file of a case.
type hFile struct {
	path string
	data []byte
}

// hFileResult is what the formats made of one file.
type hFileResult struct {
	path   string
	format Format // nil: no format claims it
	refs   []Ref
	err    error
}

// hTree is the File.Tree of a case: its input files.
func hTree(files []hFile) fs.FS {
	m := fstest.MapFS{}
	for _, f := range files {
		if fs.ValidPath(f.path) && f.path != "." {
			m[f.path] = &fstest.MapFile{Data: f.data, Mode: 0o644}
		}
	}
	return m
}

// hFind runs the formats over files as scan does: the first format to claim
// a file reads it, with the others as its Tree; files a format asks to
// Follow are read with that format when nothing else claimed them. force,
// when set, is used for every file instead of claiming.
func hFind(t testing.TB, files []hFile, opts Options, force Format) []hFileResult {
	t.Helper()
	tree := hTree(files)
	out := make([]hFileResult, len(files))
	byPath := map[string]int{}
	var follow []struct {
		ft   Format
		path string
	}
	for i, f := range files {
		byPath[f.path] = i
		out[i].path = f.path
		file := &File{Path: f.path, Src: f.data, Tree: tree, Options: opts}
		ft := force
		if ft == nil {
			ft = Claim(file)
		}
		if ft == nil {
			continue
		}
		out[i].format = ft
		out[i].refs, out[i].err = hFindOne(t, ft, file)
		for _, p := range file.Followed() {
			follow = append(follow, struct {
				ft   Format
				path string
			}{ft, p})
		}
	}
	for _, fl := range follow {
		i, ok := byPath[fl.path]
		if !ok || out[i].format != nil {
			continue
		}
		out[i].format = fl.ft
		out[i].refs, out[i].err = hFindOne(t, fl.ft, &File{Path: fl.path, Src: files[i].data, Tree: tree, Options: opts})
	}
	return out
}

// hFindOne runs Find and checks that it leaves its input alone and that it
// is deterministic (map order must never leak into results).
func hFindOne(t testing.TB, ft Format, f *File) ([]Ref, error) {
	t.Helper()
	orig := bytes.Clone(f.Src)
	refs, err := ft.Find(f)
	if !bytes.Equal(f.Src, orig) {
		t.Fatalf("%s: %s Find modified its input", f.Path, ft.Kind())
	}
	if len(f.Src) > 64<<10 {
		return refs, err // big hostile inputs: keep their tests quick
	}
	again, err2 := ft.Find(&File{Path: f.Path, Src: f.Src, Tree: f.Tree, Options: f.Options})
	if a, b := hFormatRefs(f.Path, ft, refs, err), hFormatRefs(f.Path, ft, again, err2); a != b {
		t.Fatalf("%s: %s Find is not deterministic:\n%s\n---\n%s", f.Path, ft.Kind(), a, b)
	}
	return refs, err
}

// hCheck runs a case: Find on every file, the invariants on each, pinning
// every ref at hDigest, and pinning again. It returns the results and the
// files after one pinning.
func hCheck(t testing.TB, files []hFile, opts Options, force Format) ([]hFileResult, []hFile) {
	t.Helper()
	res := hFind(t, files, opts, force)
	pinned := make([]hFile, len(files))
	for i, f := range files {
		pinned[i] = hFile{path: f.path, data: f.data}
		if res[i].format == nil {
			continue
		}
		pinned[i].data = hCheckFile(t, f, res[i])
	}
	// fix twice == fix once, with every file (a .env and its compose
	// files) as pinned the first time.
	res2 := hFind(t, pinned, opts, force)
	for i, f := range pinned {
		if (res2[i].format == nil) != (res[i].format == nil) {
			t.Fatalf("%s: pinning changed whether a format claims it", f.path)
		}
		if res2[i].format == nil {
			continue
		}
		if (res2[i].err == nil) != (res[i].err == nil) {
			t.Fatalf("%s: pinning changed whether it parses: %v", f.path, res2[i].err)
		}
		if len(res2[i].refs) != len(res[i].refs) {
			t.Fatalf("%s: pinned output has %d refs, input had %d\nbefore:\n%safter:\n%s\npinned:\n%q", f.path,
				len(res2[i].refs), len(res[i].refs), hFormatRefs(f.path, res[i].format, res[i].refs, nil),
				hFormatRefs(f.path, res2[i].format, res2[i].refs, nil), f.data)
		}
		again := hPinAll(t, f.data, res2[i].refs)
		if !bytes.Equal(again, f.data) {
			t.Fatalf("%s: pinning twice differs from pinning once:\nonce:  %q\ntwice: %q", f.path, f.data, again)
		}
	}
	return res, pinned
}

// hPinAll pins every ref of a file at hDigest and returns the new bytes.
func hPinAll(t testing.TB, src []byte, refs []Ref) []byte {
	t.Helper()
	var edits []Edit
	for _, r := range refs {
		e, err := r.Pin(hDigest)
		if err != nil {
			continue // checked in hCheckFile
		}
		edits = append(edits, e...)
	}
	out, err := Splice(src, edits)
	if err != nil {
		t.Fatalf("splicing the pins: %v", err)
	}
	return out
}

// hCheckFile checks the invariants of one file's result and returns the
// file with every ref pinned at hDigest.
func hCheckFile(t testing.TB, f hFile, r hFileResult) []byte {
	t.Helper()
	src := f.data
	if r.err != nil {
		var pe *ParseError
		if !errors.As(r.err, &pe) {
			t.Fatalf("%s: Find error is %T, want *ParseError: %v", f.path, r.err, r.err)
		}
		if strings.HasPrefix(pe.Msg, "internal:") {
			t.Fatalf("%s: %v\ninput: %q", f.path, r.err, src)
		}
		if r.refs != nil {
			t.Fatalf("%s: Find returned refs with an error", f.path)
		}
		return src
	}
	lc := newLineCounter(src)
	prevEnd, prevEmpty := -1, false
	var edits []Edit
	for i, ref := range r.refs {
		s := ref.Span
		where := fmt.Sprintf("%s: ref %d %q", f.path, i, ref.Text)
		if s.Start < 0 || s.End < s.Start || s.End > len(src) {
			t.Fatalf("%s: span %v out of range (len %d)", where, s, len(src))
		}
		if i > 0 && (s.Start < prevEnd || (s.Start == prevEnd && (prevEmpty || s.Start == s.End))) {
			t.Fatalf("%s: span %v overlaps or is out of order (previous ended at %d)\ninput: %q", where, s, prevEnd, src)
		}
		prevEnd, prevEmpty = s.End, s.Start == s.End
		if l, c := lc.lineCol(s.Start); l != ref.Line || c != ref.Column {
			t.Fatalf("%s: at %d:%d, its span starts at %d:%d", where, ref.Line, ref.Column, l, c)
		}
		if ref.Context == "" {
			t.Fatalf("%s: no Context", where)
		}
		if strings.ContainsAny(ref.Text, "\r\n") {
			t.Fatalf("%s: raw line break in Text", where)
		}
		raw := src[s.Start:s.End]
		if ref.Expanded == "" && !bytes.ContainsAny(raw, "\r\n") && string(raw) != ref.Text {
			// Applying a ref's own text to its span is the identity.
			t.Fatalf("%s: Text differs from its span's bytes %q", where, raw)
		}
		if ref.Composed && (ref.Expanded == "" || ref.Note == "") {
			t.Fatalf("%s: composed ref without Expanded (%q) or Note (%q)", where, ref.Expanded, ref.Note)
		}
		if _, err := ref.Pin("sha256:" + strings.Repeat("A", 64)); !errors.Is(err, ErrBadDigest) {
			t.Fatalf("%s: Pin accepted a bad digest (err %v)", where, err)
		}
		e, err := ref.Pin(hDigest)
		if err != nil {
			if !errors.Is(err, ErrCannotPin) {
				t.Fatalf("%s: Pin: %v, want nil or ErrCannotPin", where, err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("%s: Pin's message is not one line: %q", where, err)
			}
			continue
		}
		if ref.Skip != "" {
			t.Fatalf("%s: skipped ref gives edits", where)
		}
		if _, err := Splice(src, e); err != nil {
			t.Fatalf("%s: its edits %v: %v", where, e, err)
		}
		// Re-pinning at the digest the file already gives is the identity.
		if p, err := imgref.Parse(ref.Resolvable()); err == nil && p.Tag != "" && imgref.ValidDigest(p.Digest) {
			same, err := ref.Pin(p.Digest)
			if err != nil {
				t.Fatalf("%s: Pin at its own digest: %v", where, err)
			}
			if out, err := Splice(src, same); err != nil || !bytes.Equal(out, src) {
				t.Fatalf("%s: pinning at its own digest %s changed the file (err %v): %v", where, p.Digest, err, same)
			}
		}
		edits = append(edits, e...)
	}
	pinned, err := Splice(src, edits)
	if err != nil {
		t.Fatalf("%s: the refs' edits collide: %v\n%s", f.path, err, hFormatRefs(f.path, r.format, r.refs, nil))
	}
	// Outside the edits nothing changes.
	sorted := slices.Clone(edits)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Span.Start < sorted[j].Span.Start })
	pos, opos := 0, 0
	for _, e := range sorted {
		gap := e.Span.Start - pos
		if !bytes.Equal(pinned[opos:opos+gap], src[pos:e.Span.Start]) {
			t.Fatalf("%s: pinning changed bytes outside the edits near offset %d", f.path, pos)
		}
		opos += gap
		if string(pinned[opos:opos+len(e.New)]) != e.New {
			t.Fatalf("%s: edit %q missing at offset %d", f.path, e.New, opos)
		}
		opos += len(e.New)
		pos = e.Span.End
	}
	if !bytes.Equal(pinned[opos:], src[pos:]) {
		t.Fatalf("%s: pinning changed bytes after the last edit", f.path)
	}
	return pinned
}

// lineCounter answers LineCol for many offsets of one file in O(log n).
type lineCounter struct{ starts []int }

func newLineCounter(src []byte) lineCounter {
	lc := lineCounter{starts: []int{0}}
	for i, b := range src {
		if b == '\n' {
			lc.starts = append(lc.starts, i+1)
		}
	}
	return lc
}

func (lc lineCounter) lineCol(off int) (int, int) {
	n := sort.SearchInts(lc.starts, off+1)
	return n, off - lc.starts[n-1] + 1
}

// hFormatRefs renders one file's refs as golden files hold them: a header
// naming the file and its format, then one line per ref (line:col
// [context] text) with indented details.
func hFormatRefs(path string, ft Format, refs []Ref, err error) string {
	var b strings.Builder
	if ft == nil {
		fmt.Fprintf(&b, "# %s: no format claims it\n", path)
		return b.String()
	}
	if err != nil {
		fmt.Fprintf(&b, "# %s (%s): error: %v\n", path, ft.Kind(), err)
		return b.String()
	}
	fmt.Fprintf(&b, "# %s (%s)\n", path, ft.Kind())
	q := func(s string) string {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") || !isPrintable(s) {
			return strconv.Quote(s)
		}
		return s
	}
	for _, r := range refs {
		fmt.Fprintf(&b, "%d:%d [%s] %s\n", r.Line, r.Column, r.Context, q(r.Text))
		if r.Skip != "" {
			fmt.Fprintf(&b, "\tskip: %s\n", r.Skip)
		}
		if r.Expanded != "" {
			fmt.Fprintf(&b, "\texpanded: %s\n", q(r.Expanded))
		}
		if r.Composed {
			b.WriteString("\tcomposed\n")
		}
		if r.Note != "" {
			fmt.Fprintf(&b, "\tnote: %s\n", r.Note)
		}
		if r.Overrides != "" {
			fmt.Fprintf(&b, "\toverrides: %s\n", r.Overrides)
		}
		if r.Skip == "" {
			if _, err := r.Pin(hDigest); err != nil {
				fmt.Fprintf(&b, "\tpin: %v\n", err)
			}
		}
	}
	return b.String()
}

func isPrintable(s string) bool {
	for _, c := range s {
		if !strconv.IsPrint(c) {
			return false
		}
	}
	return true
}

// hCase is one golden txtar file.
type hCase struct {
	path      string
	archive   *txtar.Archive
	inputs    []hFile // as stored (plain LF)
	transform map[string][]string
	opts      Options
}

func hIsOutput(name string) bool {
	return name == "want" || name == "pinned" || strings.HasPrefix(name, "pinned:")
}

func hLoadCase(t testing.TB, path string) *hCase {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &hCase{path: path, archive: a, transform: map[string][]string{}}
	for _, line := range strings.Split(string(a.Comment), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch {
		case key == "transform":
			c.transform[""] = append(c.transform[""], strings.Fields(val)...)
		case strings.HasPrefix(key, "transform "):
			p := strings.TrimSpace(strings.TrimPrefix(key, "transform "))
			c.transform[p] = append(c.transform[p], strings.Fields(val)...)
		case key == "option":
			name, v, _ := strings.Cut(val, "=")
			switch name {
			case "helm.inline-digest":
				c.opts.HelmInlineDigest = true
			case "helm.digest-keys":
				c.opts.HelmDigestKeys = strings.Split(v, ",")
			default:
				t.Fatalf("%s: unknown option %q", path, name)
			}
		}
	}
	for _, f := range a.Files {
		if !hIsOutput(f.Name) {
			c.inputs = append(c.inputs, hFile{path: f.Name, data: f.Data})
		}
	}
	if len(c.inputs) == 0 {
		t.Fatalf("%s: no input files", path)
	}
	return c
}

// files returns the input files as the test sees them (transformed).
func (c *hCase) files(t testing.TB) []hFile {
	out := make([]hFile, len(c.inputs))
	for i, f := range c.inputs {
		data := bytes.Clone(f.data)
		for _, tr := range append(slices.Clone(c.transform[""]), c.transform[f.path]...) {
			switch tr {
			case "crlf":
				data = bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
			case "bom":
				data = append([]byte("\uFEFF"), data...)
			case "nonewline":
				data = bytes.TrimSuffix(data, []byte("\n"))
				data = bytes.TrimSuffix(data, []byte("\r"))
			default:
				t.Fatalf("%s: unknown transform %q", c.path, tr)
			}
		}
		out[i] = hFile{path: f.path, data: data}
	}
	return out
}

// untransform turns pinned output back into the stored form.
func (c *hCase) untransform(path string, b []byte) []byte {
	trs := append(slices.Clone(c.transform[""]), c.transform[path]...)
	if slices.Contains(trs, "bom") {
		b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	}
	if slices.Contains(trs, "crlf") {
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	}
	if slices.Contains(trs, "nonewline") {
		b = append(b, '\n')
	}
	return b
}

// hCases lists every golden case, by kind folder.
func hCases(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden cases under testdata/<kind>/")
	}
	return paths
}

// TestGolden runs every testdata/<kind>/*.txtar case; -update rewrites the
// want and pinned sections.
func TestGolden(t *testing.T) {
	t.Parallel()
	kinds := map[string]bool{}
	for _, ft := range Formats() {
		kinds[string(ft.Kind())] = true
	}
	for _, p := range hCases(t) {
		kind := filepath.Base(filepath.Dir(p))
		if !kinds[kind] {
			t.Errorf("%s: testdata/%s names no format in Formats()", p, kind)
			continue
		}
		name := kind + "/" + strings.TrimSuffix(filepath.Base(p), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := hLoadCase(t, p)
			files := c.files(t)
			res, pinned := hCheck(t, files, c.opts, nil)
			var want strings.Builder
			for _, r := range res {
				want.WriteString(hFormatRefs(r.path, r.format, r.refs, r.err))
			}
			got := map[string][]byte{"want": []byte(want.String())}
			var order []string
			for i, f := range pinned {
				if !bytes.Equal(f.data, files[i].data) {
					key := "pinned:" + f.path
					got[key] = c.untransform(f.path, f.data)
					order = append(order, key)
				}
			}
			if len(order) == 0 {
				got["pinned"] = []byte("(unchanged)\n")
				order = append(order, "pinned")
			}
			order = append([]string{"want"}, order...)
			if *update {
				a := c.archive
				kept := a.Files[:0]
				for _, f := range a.Files {
					if !hIsOutput(f.Name) {
						kept = append(kept, f)
					}
				}
				a.Files = kept
				for _, name := range order {
					a.Files = append(a.Files, txtar.File{Name: name, Data: got[name]})
				}
				if err := os.WriteFile(p, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			stored := map[string][]byte{}
			for _, f := range c.archive.Files {
				if hIsOutput(f.Name) {
					stored[f.Name] = f.Data
				}
			}
			for _, name := range order {
				w, ok := stored[name]
				if !ok {
					t.Errorf("no %q section (run with -update)", name)
					continue
				}
				if !bytes.Equal(got[name], w) {
					t.Errorf("%s differs\n--- got\n%s--- want\n%s", name, got[name], w)
				}
				delete(stored, name)
			}
			for name := range stored {
				t.Errorf("stale section %q: pinning leaves that file unchanged (run with -update)", name)
			}
		})
	}
}

// hArchive renders files as a txtar archive, the input of FuzzFormats.
func hArchive(files []hFile) []byte {
	a := &txtar.Archive{}
	for _, f := range files {
		a.Files = append(a.Files, txtar.File{Name: f.path, Data: f.data})
	}
	return txtar.Format(a)
}

// FuzzFormats fuzzes every format at once. Its input is a txtar archive of
// files (so a .env and its compose file, or a chart and its values, mutate
// together); every golden case seeds it. Each file is claimed through
// Formats() as scan does, and the invariants of hCheck must hold.
func FuzzFormats(f *testing.F) {
	for _, p := range hCases(f) {
		c := hLoadCase(f, p)
		f.Add(hArchive(c.files(f)))
	}
	for _, tt := range dfTableCases {
		f.Add(hArchive([]hFile{{"Dockerfile", []byte(tt.src)}}))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := txtar.Parse(data)
		var files []hFile
		seen := map[string]bool{}
		for _, af := range a.Files {
			if !fs.ValidPath(af.Name) || af.Name == "." || seen[af.Name] {
				continue
			}
			seen[af.Name] = true
			files = append(files, hFile{path: af.Name, data: af.Data})
		}
		if len(files) > 8 {
			files = files[:8]
		}
		hCheck(t, files, Options{}, nil)
	})
}
