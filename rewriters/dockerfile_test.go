package rewriters

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/digestbot/digestbot/pkg/imgref"
)

// The -update flag (update, in golden_test.go, shared by every golden test
// of the package) rewrites the want and pinned sections of
// testdata/dockerfile/*.txtar.

// dfFakeDigest is the digest every golden and fuzz pin uses.
var dfFakeDigest = "sha256:" + strings.Repeat("a", 64)

// dfFormatRefs renders refs one a line: `line:col [context] text`, with
// `skip "reason"` before the text of a skipped ref. Text is quoted when it
// holds a line break.
func dfFormatRefs(refs []Ref) string {
	var b strings.Builder
	for _, r := range refs {
		text := r.Text
		if strings.ContainsAny(text, "\r\n") {
			text = strconv.Quote(text)
		}
		fmt.Fprintf(&b, "%d:%d [%s] ", r.Line, r.Column, r.Context)
		if r.Skip != "" {
			fmt.Fprintf(&b, "skip %q ", r.Skip)
		}
		b.WriteString(text + "\n")
	}
	return b.String()
}

// dfPinEdits returns the edits that pin every reference that can be pinned:
// not skipped, parseable, and not digest-only (the contract reports those).
func dfPinEdits(refs []Ref, digest string) []Edit {
	var edits []Edit
	for _, r := range refs {
		if r.Skip != "" {
			continue
		}
		p, err := imgref.Parse(r.Text)
		if err != nil || (p.Tag == "" && p.Digest != "") {
			continue
		}
		edits = append(edits, Edit{Span: r.Span, New: p.Pinned(digest)})
	}
	return edits
}

// dfGoldenTransform returns a function applying the transforms named in an
// archive's comment (`transform: crlf bom nonewline`) to a section: the
// txtar files stay plain LF text that no editor or Git setting can
// silently change, and the tests still see CRLF, a BOM or no final newline.
func dfGoldenTransform(comment []byte) func([]byte) []byte {
	var names []string
	for _, line := range strings.Split(string(comment), "\n") {
		if rest, ok := strings.CutPrefix(line, "transform:"); ok {
			names = append(names, strings.Fields(rest)...)
		}
	}
	return func(b []byte) []byte {
		b = bytes.Clone(b)
		for _, n := range names {
			switch n {
			case "crlf":
				b = bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
			case "bom":
				b = append([]byte("\uFEFF"), b...)
			case "nonewline":
				b = bytes.TrimSuffix(b, []byte("\n"))
				b = bytes.TrimSuffix(b, []byte("\r"))
			default:
				panic("unknown transform " + n)
			}
		}
		return b
	}
}

func dfTxtarFile(a *txtar.Archive, name string) (int, bool) {
	for i, f := range a.Files {
		if f.Name == name {
			return i, true
		}
	}
	return -1, false
}

func TestDockerfileGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "dockerfile", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("found %d golden files, want at least 25", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			in, ok := dfTxtarFile(a, "Dockerfile")
			if !ok {
				t.Fatal("no -- Dockerfile -- section")
			}
			transform := dfGoldenTransform(a.Comment)
			src := transform(a.Files[in].Data)
			checkDockerfileInvariants(t, src)

			refs, err := dockerfileRewriter{}.Find(src)
			var got string
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Find: %T %v, want a *ParseError", err, err)
				}
				got = fmt.Sprintf("error line %d: %s\n", pe.Line, pe.Msg)
			} else {
				got = dfFormatRefs(refs)
			}
			pinned := []byte("(unchanged)\n")
			if err == nil {
				out, err := Splice(src, dfPinEdits(refs, dfFakeDigest))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, src) {
					pinned = out
				}
			}

			if *update {
				set := func(name string, data []byte) {
					if i, ok := dfTxtarFile(a, name); ok {
						a.Files[i].Data = data
					} else {
						a.Files = append(a.Files, txtar.File{Name: name, Data: data})
					}
				}
				set("want", []byte(got))
				// Stored untransformed (LF, no BOM) like the input.
				set("pinned", dfUntransform(pinned))
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			i, ok := dfTxtarFile(a, "want")
			if !ok {
				t.Fatal("no -- want -- section (run with -update)")
			}
			if want := string(a.Files[i].Data); got != want {
				t.Errorf("refs:\n%s\nwant:\n%s", got, want)
			}
			i, ok = dfTxtarFile(a, "pinned")
			if !ok {
				t.Fatal("no -- pinned -- section (run with -update)")
			}
			want := a.Files[i].Data
			if string(want) != "(unchanged)\n" {
				want = transform(want)
			}
			if !bytes.Equal(pinned, want) {
				t.Errorf("pinned:\n%s\nwant:\n%s", pinned, want)
			}
		})
	}
}

// dfUntransform undoes dfGoldenTransform on pinned output, so the stored
// section stays plain text.
func dfUntransform(b []byte) []byte {
	if string(b) == "(unchanged)\n" {
		return b
	}
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	if !bytes.HasSuffix(b, []byte("\n")) {
		b = append(b, '\n') // txtar sections end in a newline; "nonewline" strips it again
	}
	return b
}

// checkDockerfileInvariants checks what must hold for any input: no
// internal error; spans in bounds, ordered, apart, matching Text, Line and
// Column; splicing each span with its own text changes nothing; pinning
// changes only the pinned spans; and pinning again with the same digest
// finds the same references (shifted) and changes nothing.
func checkDockerfileInvariants(t testing.TB, src []byte) {
	t.Helper()
	refs, err := dockerfileRewriter{}.Find(src)
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Find returned %T %v, want *ParseError", err, err)
		}
		if strings.HasPrefix(pe.Msg, "internal:") {
			t.Fatalf("Find: %v\ninput: %q", err, src)
		}
		return
	}
	end := 0
	own := make([]Edit, 0, len(refs))
	for _, r := range refs {
		s := r.Span
		if s.Start < end || s.End < s.Start || s.End > len(src) {
			t.Fatalf("bad span %+v after %d in %d bytes: %+v\ninput: %q", s, end, len(src), r, src)
		}
		end = s.End
		if r.Text != string(src[s.Start:s.End]) {
			t.Fatalf("Text %q != src[span] %q\ninput: %q", r.Text, src[s.Start:s.End], src)
		}
		if l, c := LineCol(src, s.Start); l != r.Line || c != r.Column {
			t.Fatalf("%q at %d:%d, LineCol says %d:%d\ninput: %q", r.Text, r.Line, r.Column, l, c, src)
		}
		if r.Context == "" {
			t.Fatalf("%q has no context", r.Text)
		}
		own = append(own, Edit{Span: s, New: r.Text})
	}
	same, err := Splice(src, own)
	if err != nil || !bytes.Equal(same, src) {
		t.Fatalf("splicing own text: %v, changed=%v\ninput: %q", err, !bytes.Equal(same, src), src)
	}

	edits := dfPinEdits(refs, dfFakeDigest)
	pinned, err := Splice(src, edits)
	if err != nil {
		t.Fatal(err)
	}
	// Bytes outside the edited spans are unchanged.
	pos, shift := 0, 0
	for _, e := range edits {
		if !bytes.Equal(src[pos:e.Span.Start], pinned[pos+shift:e.Span.Start+shift]) {
			t.Fatalf("bytes outside spans changed\ninput: %q\npinned: %q", src, pinned)
		}
		if got := string(pinned[e.Span.Start+shift : e.Span.Start+shift+len(e.New)]); got != e.New {
			t.Fatalf("edit %q landed as %q", e.New, got)
		}
		shift += len(e.New) - (e.Span.End - e.Span.Start)
		pos = e.Span.End
	}
	if !bytes.Equal(src[pos:], pinned[pos+shift:]) {
		t.Fatalf("tail changed\ninput: %q\npinned: %q", src, pinned)
	}

	again, err := dockerfileRewriter{}.Find(pinned)
	if err != nil {
		t.Fatalf("Find on pinned output: %v\ninput: %q\npinned: %q", err, src, pinned)
	}
	if len(again) != len(refs) {
		t.Fatalf("pinned output has %d refs, input %d\ninput: %q\npinned: %q\nbefore:\n%safter:\n%s",
			len(again), len(refs), src, pinned, dfFormatRefs(refs), dfFormatRefs(again))
	}
	for i, r := range refs {
		want := r.Span.Start
		for _, e := range edits {
			if e.Span.Start < r.Span.Start {
				want += len(e.New) - (e.Span.End - e.Span.Start)
			}
		}
		if again[i].Span.Start != want || (again[i].Skip == "") != (r.Skip == "") {
			t.Fatalf("ref %d moved: %+v, want start %d like %+v\ninput: %q\npinned: %q", i, again[i], want, r, src, pinned)
		}
	}
	twice, err := Splice(pinned, dfPinEdits(again, dfFakeDigest))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(twice, pinned) {
		t.Fatalf("pinning twice differs from once\nonce:  %q\ntwice: %q", pinned, twice)
	}
}

func FuzzDockerfile(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "dockerfile", "*.txtar"))
	for _, file := range files {
		a, err := txtar.ParseFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if i, ok := dfTxtarFile(a, "Dockerfile"); ok {
			f.Add(dfGoldenTransform(a.Comment)(a.Files[i].Data))
		}
	}
	for _, tt := range dfTableCases {
		f.Add([]byte(tt.src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkDockerfileInvariants(t, src)
	})
}

// TestDockerfileTable covers single behaviours in short inputs; the golden
// files cover whole Dockerfiles.
// dfTableCases are short inputs for single behaviours (the golden files
// cover whole Dockerfiles); they also seed FuzzDockerfile.
var dfTableCases = []struct {
	name, src string
	want      []string // `text` or `skip:text`, in order
}{
	{"plain", "FROM node:20\n", []string{"node:20"}},
	{"no trailing newline", "FROM node:20", []string{"node:20"}},
	{"lowercase", "from node:20 as b\n", []string{"node:20"}},
	{"tab", "FROM\tnode:20\n", []string{"node:20"}},
	{"platform", "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n", []string{"golang:1.22"}},
	{"scratch any case", "FROM ScRaTcH\n", nil},
	{"stage reused", "FROM a:1 AS base\nFROM base\nFROM BASE\n", []string{"a:1"}},
	{"later stage is an image", "FROM base\nFROM a:1 AS base\n", []string{"base", "a:1"}},
	{"stage name with tag is an image", "FROM golang:1 AS golang\nFROM golang:1.22\n", []string{"golang:1", "golang:1.22"}},
	{"trailing comment", "FROM node:20 # pinned later\n", []string{"node:20"}},
	{"copy from image", "FROM a\nCOPY --from=b:1 /x /y\n", []string{"a", "b:1"}},
	{"copy from stage", "FROM a AS s\nFROM c\nCOPY --from=S /x /y\n", []string{"a", "c"}},
	{"copy from later stage", "FROM a\nCOPY --from=s /x /y\nFROM c AS s\n", []string{"a", "c"}},
	{"copy from number", "FROM a\nCOPY --from=0 /x /y\n", []string{"a"}},
	{"copy from quoted", "FROM a\nCOPY --from=\"b:1\" /x /y\n", []string{"a", "b:1"}},
	{"copy from variable", "ARG B=b:1\nFROM a\nCOPY --from=$B /x /y\n", []string{"a", "skip:$B"}},
	{"copy from escaped", "FROM a\nCOPY --from=b\\:1 /x /y\n", []string{"a", "skip:b\\:1"}},
	{"copy chown after from", "FROM a\nCOPY --from=b:1 --chown=1:1 /x /y\n", []string{"a", "b:1"}},
	{"mount from", "FROM a\nRUN --mount=type=bind,from=b:1,target=/b --mount=type=cache,target=/c make\n", []string{"a", "b:1"}},
	{"mount FROM key", "FROM a\nRUN --mount=FROM=b:1,target=/b make\n", []string{"a", "b:1"}},
	{"mount from stage", "FROM a AS s\nRUN --mount=from=s,target=/b make\n", []string{"a"}},
	{"mount csv quoted", "FROM a\nRUN --mount=type=bind,\"from=b:1\",target=/b make\n", []string{"a", "b:1"}},
	{"mount from variable", "FROM a\nRUN --mount=from=$B,target=/b make\n", []string{"a", "skip:$B"}},
	{"arg whole", "ARG B=node:20\nFROM $B\n", []string{"node:20"}},
	{"arg braces", "ARG B=node:20\nFROM ${B}\n", []string{"node:20"}},
	{"arg quoted", "ARG B=\"node:20\"\nFROM ${B}\n", []string{"node:20"}},
	{"arg single quoted", "ARG B='node:20'\nFROM ${B}\n", []string{"node:20"}},
	{"arg two froms", "ARG B=node:20\nFROM $B AS x\nFROM ${B}\n", []string{"node:20"}},
	{"arg several on a line", "ARG A=x B=node:20\nFROM $B\n", []string{"node:20"}},
	{"arg scratch", "ARG B=scratch\nFROM $B\n", nil},
	{"arg stage", "ARG B=build\nFROM a AS build\nFROM $B\n", []string{"a"}},
	{"arg no default", "ARG B\nFROM $B\n", []string{"skip:$B"}},
	{"arg undeclared", "FROM $B\n", []string{"skip:$B"}},
	{"arg empty", "ARG B=\nFROM $B\n", []string{"skip:$B"}},
	{"arg declared twice", "ARG B=a\nARG B=b\nFROM $B\n", []string{"skip:$B"}},
	{"arg in stage does not count", "ARG B=a:1\nFROM $B\nARG B=b:2\nFROM $B\n", []string{"a:1"}},
	{"arg composed", "ARG V=20\nFROM node:${V}\n", []string{"skip:node:${V}"}},
	{"arg also composed", "ARG B=node:20\nFROM $B\nFROM ${B}-slim\n", []string{"skip:$B", "skip:${B}-slim"}},
	{"arg default composed", "ARG R=r.io\nARG B=$R/node:20\nFROM $B\n", []string{"skip:$B"}},
	{"arg used in other default", "ARG B=node:20\nARG C=${B}-x\nFROM $B\n", []string{"skip:$B"}},
	{"arg self default", "ARG B=${B:-node:20}\nFROM $B\n", []string{"node:20"}},
	{"arg self default quoted", "ARG B=${B:-\"node:20\"}\nFROM $B\n", []string{"node:20"}},
	{"inline default", "FROM ${B:-node:20}\n", []string{"node:20"}},
	{"inline default stage", "FROM a AS debug\nFROM ${B:-debug}\n", []string{"a"}},
	{"inline default with arg default", "ARG B=x:1\nFROM ${B:-node:20}\n", []string{"x:1"}},
	{"inline default with empty arg default", "ARG B=\nFROM ${B:-node:20}\n", []string{"node:20"}},
	{"inline default with arg no default", "ARG B\nFROM ${B:-node:20}\n", []string{"node:20"}},
	{"inline default no colon", "FROM ${B-node:20}\n", []string{"skip:${B-node:20}"}},
	{"quoted from", "FROM \"node:20\"\n", []string{"node:20"}},
	{"continuation inside word", "FROM node:\\\n20\n", []string{"skip:node:\\\n20"}},
	{"syntax", "# syntax=docker/dockerfile:1\nFROM a\n", []string{"docker/dockerfile:1", "a"}},
	{"syntax spaced", "#  syntax = docker/dockerfile:1.4 \nFROM a\n", []string{"docker/dockerfile:1.4", "a"}},
	{"syntax args", "# syntax=docker/dockerfile:1 --x\nFROM a\n", []string{"docker/dockerfile:1", "a"}},
	{"syntax after escape", "# escape=`\n# syntax=docker/dockerfile:1\nFROM a\n", []string{"docker/dockerfile:1", "a"}},
	{"syntax after comment", "# hello\n# syntax=docker/dockerfile:1\nFROM a\n", []string{"a"}},
	{"syntax after FROM", "FROM a\n# syntax=docker/dockerfile:1\n", []string{"a"}},
	{"syntax after vertical tab", "#\vSYNTAX=docker/dockerfile:1\nFROM a\n", []string{"docker/dockerfile:1", "a"}},
	{"syntax value a tab", "#syntax=\t\nFROM a\n", []string{"\t", "a"}},
	{"syntax after shebang", "#!/usr/bin/env buildctl\n# syntax=docker/dockerfile:1\nFROM a\n", []string{"docker/dockerfile:1", "a"}},
	{"heredoc", "FROM a\nRUN <<EOF\nFROM b\nCOPY --from=c / /\nEOF\nFROM d\n", []string{"a", "d"}},
	{"onbuild copy image", "FROM a\nONBUILD COPY --from=b:1 / /\n", []string{"a", "b:1"}},
	{"onbuild copy bare name", "FROM a\nONBUILD COPY --from=builder / /\n", []string{"a"}},
	{"onbuild mount", "FROM a\nONBUILD RUN --mount=from=b/c,target=/x make\n", []string{"a", "b/c"}},
	{"empty", "", nil},
	{"only comments", "# nothing\n", nil},
	{"no from", "RUN echo\n", nil},
	{"invalid stage name", "FROM a AS x:1\nCOPY --from=x:1 / /\n", []string{"a", "x:1"}},
}

func TestDockerfileTable(t *testing.T) {
	t.Parallel()
	for _, tt := range dfTableCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			refs, err := dockerfileRewriter{}.Find([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refs {
				if r.Skip != "" {
					got = append(got, "skip:"+r.Text)
				} else {
					got = append(got, r.Text)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got  %q\nwant %q\n%s", got, tt.want, dfFormatRefs(refs))
			}
			checkDockerfileInvariants(t, []byte(tt.src))
		})
	}
}

func TestDockerfileParseErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src string
		line      int
	}{
		{"unterminated heredoc", "FROM a\nRUN <<EOF\necho\n", 2},
		{"bad escape", "# escape=x\nFROM a\n", 1},
		{"escape twice", "# escape=`\n# escape=`\nFROM a\n", 2},
		{"long line", "FROM a\nRUN " + strings.Repeat("x", bufio.MaxScanTokenSize) + "\n", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dockerfileRewriter{}.Find([]byte(tt.src))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if tt.line != 0 && pe.Line != tt.line {
				t.Errorf("line %d, want %d (%v)", pe.Line, tt.line, pe)
			}
		})
	}
}

// TestDockerfileCorpus runs every Dockerfile of the shared corpus through
// the invariants; it needs /work/shared, which CI may not have.
func TestDockerfileCorpus(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "shared", "corpus")
	manifest, err := os.ReadFile(filepath.Join(root, "MANIFEST.tsv"))
	if err != nil {
		t.Skipf("no corpus: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(manifest), "\n")[1:] {
		cols := strings.Split(line, "\t")
		if len(cols) < 2 || cols[1] != "dockerfile" {
			continue
		}
		n++
		path := cols[0]
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := (dockerfileRewriter{}).Find(src); err != nil {
				t.Fatalf("Find: %v", err)
			}
			checkDockerfileInvariants(t, src)
		})
	}
	if n == 0 {
		t.Fatal("no dockerfile rows in MANIFEST.tsv")
	}
}

// TestDockerfileRandom assembles Dockerfiles from tricky fragments
// (continuations, comments inside them, quotes, escapes, CR, odd white
// space, variables, heredocs, directives) and checks the invariants on
// each: a cheap, deterministic complement to FuzzDockerfile, whose byte
// mutations rarely build such structures.
func TestDockerfileRandom(t *testing.T) {
	t.Parallel()
	frags := []string{
		"FROM ", "from ", "COPY ", "RUN ", "ARG ", "ONBUILD ", "AS ", "as ",
		"--platform=$BUILDPLATFORM ", "--from=", "--mount=type=bind,from=", ",target=/x ", "--link ", "--chown=1:1 ",
		"node:20", "alpine", "ghcr.io/a/b:1", "x@sha256:" + strings.Repeat("1", 64), "scratch", "build", "0",
		"B=node:20 ", "B", "$B", "${B}", "${B:-node:20}", "${B}-x", "'node:20'", "\"node:20\"", "\"a\"b", "''", "=",
		"\\\n", "\\ \n", "`\n", " \\\n  # c\n", "\n", "\r\n", "\n\n", "\n# c\n", "\t", " ", "  ", "\u00a0", "\u0085", "\v",
		"<<EOF\nFROM evil\nEOF\n", "<<-X\n\tx\n\tX\n", "# syntax=docker/dockerfile:1\n", "# escape=`\n", "\uFEFF", "#!/x\n",
		"\\", "`", "#", "$", "{", "}", ",", "\"", "'", "é", "\xff",
	}
	keywords := []string{"FROM ", "from ", "COPY ", "RUN ", "ARG ", "ONBUILD COPY ", "ONBUILD RUN ", "# ", ""}
	ends := []string{"\n", "\r\n", "\\\n", "`\n", " \\ \n", "\n# c\n", ""}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 4000
	if testing.Short() {
		n = 500
	}
	for i := 0; i < n; i++ {
		var b strings.Builder
		for line := rng.IntN(8); line >= 0; line-- {
			b.WriteString(keywords[rng.IntN(len(keywords))])
			for k := rng.IntN(5); k >= 0; k-- {
				b.WriteString(frags[rng.IntN(len(frags))])
			}
			b.WriteString(ends[rng.IntN(len(ends))])
		}
		src := []byte(b.String())
		checkDockerfileInvariants(t, src)
		if t.Failed() {
			t.Fatalf("input: %q", src)
		}
	}
}

// dfBigDockerfile builds a Dockerfile of n stages, each with the
// instructions Find looks at, to check that the work grows linearly.
func dfBigDockerfile(n int) []byte {
	var b strings.Builder
	b.WriteString("# syntax=docker/dockerfile:1\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "ARG BASE%d=registry.example.com/base%d:1.%d\n", i, i, i)
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "FROM $BASE%d AS s%d\n", i, i)
		fmt.Fprintf(&b, "COPY --from=s%d /a /b\nCOPY --from=tool%d:1 /a /b\n", i/2, i)
		fmt.Fprintf(&b, "RUN --mount=type=bind,from=s%d,target=/x \\\n    # comment\n    --mount=from=img%d:2,target=/y make\n", i/2, i)
		fmt.Fprintf(&b, "RUN <<EOF\nFROM not-me:%d\nEOF\n", i)
	}
	return []byte(b.String())
}

func BenchmarkDockerfileFind(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		src := dfBigDockerfile(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := (dockerfileRewriter{}).Find(src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
