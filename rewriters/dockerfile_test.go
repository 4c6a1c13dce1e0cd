package rewriters

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// dfFind runs the Dockerfile format on src.
func dfFind(src []byte) ([]Ref, error) {
	return ForKind(Dockerfile).Find(&File{Path: "Dockerfile", Src: src})
}

// dfFormatRefs renders refs for failure messages.
func dfFormatRefs(refs []Ref) string {
	return hFormatRefs("Dockerfile", ForKind(Dockerfile), refs, nil)
}

// checkDockerfileInvariants runs the shared invariants (harness_test.go)
// on src as a Dockerfile.
func checkDockerfileInvariants(t testing.TB, src []byte) {
	t.Helper()
	hCheck(t, []hFile{{"Dockerfile", src}}, Options{}, ForKind(Dockerfile))
}

// TestDockerfileTable covers single behaviours in short inputs; the golden
// files cover whole Dockerfiles.
// dfTableCases are short inputs for single behaviours (the golden files
// cover whole Dockerfiles); they also seed FuzzFormats.
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
	{"arg declared twice", "ARG B=a\nARG B=b\nFROM $B\n", []string{"b"}},
	{"arg in stage does not count", "ARG B=a:1\nFROM $B\nARG B=b:2\nFROM $B\n", []string{"a:1"}},
	{"arg composed", "ARG V=20\nFROM node:${V}\n", []string{"node:${V}"}},
	{"arg also composed", "ARG B=node:20\nFROM $B\nFROM ${B}-slim\n", []string{"node:20", "${B}-slim"}},
	{"arg default composed", "ARG R=r.io\nARG B=$R/node:20\nFROM $B\n", []string{"$B"}},
	{"arg used in other default", "ARG B=node:20\nARG C=${B}-x\nFROM $B\n", []string{"node:20"}},
	{"arg self default", "ARG B=${B:-node:20}\nFROM $B\n", []string{"node:20"}},
	{"arg self default quoted", "ARG B=${B:-\"node:20\"}\nFROM $B\n", []string{"node:20"}},
	{"inline default", "FROM ${B:-node:20}\n", []string{"node:20"}},
	{"inline default stage", "FROM a AS debug\nFROM ${B:-debug}\n", []string{"a"}},
	{"inline default with arg default", "ARG B=x:1\nFROM ${B:-node:20}\n", []string{"x:1"}},
	{"inline default with empty arg default", "ARG B=\nFROM ${B:-node:20}\n", []string{"node:20"}},
	{"inline default with arg no default", "ARG B\nFROM ${B:-node:20}\n", []string{"node:20"}},
	{"inline default no colon", "FROM ${B-node:20}\n", []string{"node:20"}},
	{"quoted from", "FROM \"node:20\"\n", []string{"node:20"}},
	{"continuation inside word", "FROM node:\\\n20\n", []string{"node:20"}},
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
			refs, err := dfFind([]byte(tt.src))
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
			_, err := dfFind([]byte(tt.src))
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
			if _, err := dfFind(src); err != nil {
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
// each: a cheap, deterministic complement to FuzzFormats, whose byte
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
				if _, err := dfFind(src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
