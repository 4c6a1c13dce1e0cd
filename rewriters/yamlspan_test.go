package rewriters

// Test helpers shared by the compose and Kubernetes tests: a minimal txtar
// reader/writer for golden cases, the invariants every Find result must
// keep, and pinning as fix does it. Names carry a yaml prefix so they do not
// collide with the Dockerfile tests in this package.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot/pkg/imgref"
	"go.yaml.in/yaml/v3"
)

// yamlTestDigest is the digest golden and fuzz tests pin with.
var yamlTestDigest = "sha256:" + strings.Repeat("a", 64)

type yamlTxtarFile struct {
	Name string
	Data []byte
}

// yamlTxtarParse reads the txtar format: a comment, then files introduced
// by "-- name --" lines. Bytes are kept as they are (CR included).
func yamlTxtarParse(data []byte) (comment []byte, files []yamlTxtarFile) {
	var cur *yamlTxtarFile
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		t := bytes.TrimRight(line, "\n")
		if bytes.HasPrefix(t, []byte("-- ")) && bytes.HasSuffix(t, []byte(" --")) && len(t) >= 6 {
			files = append(files, yamlTxtarFile{Name: string(t[3 : len(t)-3])})
			cur = &files[len(files)-1]
			continue
		}
		if cur == nil {
			comment = append(comment, line...)
		} else {
			cur.Data = append(cur.Data, line...)
		}
	}
	return comment, files
}

func yamlTxtarFormat(comment []byte, files []yamlTxtarFile) []byte {
	var b bytes.Buffer
	b.Write(comment)
	for _, f := range files {
		fmt.Fprintf(&b, "-- %s --\n", f.Name)
		b.Write(f.Data)
		if len(f.Data) > 0 && f.Data[len(f.Data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// yamlGoldenCase is one golden txtar file.
type yamlGoldenCase struct {
	path    string
	comment []byte
	files   []yamlTxtarFile
	flags   map[string]string // directives from the comment: crlf, noeol, classify
}

func (c *yamlGoldenCase) section(name string) ([]byte, bool) {
	for _, f := range c.files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

func (c *yamlGoldenCase) setSection(name string, data []byte) {
	for i := range c.files {
		if c.files[i].Name == name {
			c.files[i].Data = data
			return
		}
	}
	c.files = append(c.files, yamlTxtarFile{Name: name, Data: data})
}

// encode turns a section as stored into the bytes under test: directives
// let cases hold CRLF files and files with no final newline.
func (c *yamlGoldenCase) encode(b []byte) []byte {
	b = append([]byte(nil), b...)
	if _, ok := c.flags["noeol"]; ok {
		b = bytes.TrimSuffix(b, []byte("\n"))
	}
	if _, ok := c.flags["crlf"]; ok {
		b = bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
	}
	return b
}

func (c *yamlGoldenCase) decode(b []byte) []byte {
	if _, ok := c.flags["crlf"]; ok {
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	}
	if _, ok := c.flags["noeol"]; ok {
		b = append(b, '\n')
	}
	return b
}

func yamlLoadGolden(t testing.TB, dir string) []*yamlGoldenCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no golden cases in testdata/%s", dir)
	}
	var cases []*yamlGoldenCase
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := &yamlGoldenCase{path: p, flags: map[string]string{}}
		c.comment, c.files = yamlTxtarParse(data)
		for _, line := range strings.Split(string(c.comment), "\n") {
			word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
			switch word {
			case "crlf", "noeol", "classify":
				c.flags[word] = strings.TrimSpace(rest)
			}
		}
		if _, ok := c.section("input.yaml"); !ok {
			t.Fatalf("%s: no input.yaml section", p)
		}
		cases = append(cases, c)
	}
	return cases
}

// yamlFormatRefs renders Find's result one line per ref, as golden files hold it.
func yamlFormatRefs(refs []Ref, err error) string {
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String()
	}
	for _, r := range refs {
		text := r.Text
		if text == "" || strings.ContainsAny(text, " \t\r\n\"\\") {
			text = strconv.Quote(text)
		}
		if r.Skip != "" {
			fmt.Fprintf(&b, "%d:%d %s skip %q %s\n", r.Line, r.Column, r.Context, r.Skip, text)
		} else {
			fmt.Fprintf(&b, "%d:%d %s %s\n", r.Line, r.Column, r.Context, text)
		}
	}
	return b.String()
}

// yamlPinnable reports whether fix would rewrite a ref: not skipped, a valid
// reference, and not digest-only (those are reported, never rewritten).
func yamlPinnable(r Ref) (imgref.Ref, bool) {
	if r.Skip != "" {
		return imgref.Ref{}, false
	}
	p, err := imgref.Parse(r.Text)
	if err != nil || (p.Digest != "" && p.Tag == "") {
		return imgref.Ref{}, false
	}
	return p, true
}

// yamlPin splices every pinnable ref with its pinned text.
func yamlPin(t testing.TB, src []byte, refs []Ref, digest string) ([]byte, []Edit) {
	t.Helper()
	var edits []Edit
	for _, r := range refs {
		if p, ok := yamlPinnable(r); ok {
			edits = append(edits, Edit{Span: r.Span, New: p.Pinned(digest)})
		}
	}
	out, err := Splice(src, edits)
	if err != nil {
		t.Fatalf("Splice pinned: %v", err)
	}
	return out, edits
}

// yamlCheckInvariants runs rw.Find on src and checks what every result
// must keep; it returns the refs (nil on a parse error) and the pinned
// output.
func yamlCheckInvariants(t testing.TB, rw Rewriter, src []byte) ([]Ref, []byte, error) {
	t.Helper()
	orig := append([]byte(nil), src...)
	refs, err := rw.Find(src)
	if !bytes.Equal(src, orig) {
		t.Fatal("Find modified its input")
	}
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Find error is %T, want *ParseError: %v", err, err)
		}
		if refs != nil {
			t.Fatalf("Find returned refs with an error")
		}
		return nil, src, err
	}
	prevEnd, prevEmpty := -1, false
	var lineStarts []int
	for i, r := range refs {
		s := r.Span
		if s.Start < 0 || s.End < s.Start || s.End > len(src) {
			t.Fatalf("ref %d span %v out of range (len %d)", i, s, len(src))
		}
		if i > 0 && (s.Start < prevEnd || (s.Start == prevEnd && (prevEmpty || s.Start == s.End))) {
			t.Fatalf("ref %d span %v overlaps or is out of order (previous ended at %d)", i, s, prevEnd)
		}
		prevEnd, prevEmpty = s.End, s.Start == s.End
		if r.Text != string(src[s.Start:s.End]) {
			t.Fatalf("ref %d Text %q != src[span] %q", i, r.Text, src[s.Start:s.End])
		}
		// LineCol is O(offset): use it on the first refs, and a table of
		// line starts (same meaning: lines end at \n) on the rest.
		l, c := 0, 0
		if i < 200 {
			l, c = LineCol(src, s.Start)
		} else {
			if lineStarts == nil {
				lineStarts = []int{0}
				for k, b := range src {
					if b == '\n' {
						lineStarts = append(lineStarts, k+1)
					}
				}
			}
			n := sort.SearchInts(lineStarts, s.Start+1)
			l, c = n, s.Start-lineStarts[n-1]+1
		}
		if l != r.Line || c != r.Column {
			t.Fatalf("ref %d at %d:%d, LineCol says %d:%d", i, r.Line, r.Column, l, c)
		}
		if r.Context == "" {
			t.Fatalf("ref %d has no Context", i)
		}
	}
	// Splicing each span with its own text is the identity.
	var same []Edit
	for _, r := range refs {
		same = append(same, Edit{Span: r.Span, New: r.Text})
	}
	if out, err := Splice(src, same); err != nil || !bytes.Equal(out, src) {
		t.Fatalf("identity splice changed the input (err %v)", err)
	}
	// Pinning changes only the spans.
	pinned, edits := yamlPin(t, src, refs, yamlTestDigest)
	pos, opos := 0, 0
	for _, e := range edits {
		gap := e.Span.Start - pos
		if !bytes.Equal(pinned[opos:opos+gap], src[pos:e.Span.Start]) {
			t.Fatalf("pinning changed bytes outside the spans near offset %d", pos)
		}
		opos += gap
		if string(pinned[opos:opos+len(e.New)]) != e.New {
			t.Fatalf("pinned text missing at offset %d", opos)
		}
		opos += len(e.New)
		pos = e.Span.End
	}
	if !bytes.Equal(pinned[opos:], src[pos:]) {
		t.Fatal("pinning changed bytes after the last span")
	}
	// fix twice == fix once.
	refs2, err := rw.Find(pinned)
	if err != nil {
		t.Fatalf("Find on pinned output: %v\n%s", err, pinned)
	}
	again, _ := yamlPin(t, pinned, refs2, yamlTestDigest)
	if !bytes.Equal(again, pinned) {
		t.Fatalf("pinning twice differs from pinning once:\nonce:  %q\ntwice: %q", pinned, again)
	}
	if len(refs2) != len(refs) {
		t.Fatalf("pinned output has %d refs, input had %d", len(refs2), len(refs))
	}
	return refs, pinned, nil
}

// yamlRunGolden runs the golden cases of one folder through rw.
func yamlRunGolden(t *testing.T, dir string, rw Rewriter) {
	for _, c := range yamlLoadGolden(t, dir) {
		t.Run(strings.TrimSuffix(filepath.Base(c.path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			raw, _ := c.section("input.yaml")
			src := c.encode(raw)
			refs, pinned, err := yamlCheckInvariants(t, rw, src)
			got := yamlFormatRefs(refs, err)
			gotPinned := c.decode(pinned)
			if cl, ok := c.flags["classify"]; ok {
				name, kind, _ := strings.Cut(cl, " ")
				if kind == "none" {
					kind = ""
				}
				if g := Classify(name, src); g != Kind(kind) {
					t.Errorf("Classify(%q) = %q, want %q", name, g, kind)
				}
			}
			if *update {
				c.setSection("want", []byte(got))
				c.setSection("pinned", gotPinned)
				if err := os.WriteFile(c.path, yamlTxtarFormat(c.comment, c.files), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, _ := c.section("want")
			if got != string(want) {
				t.Errorf("refs differ\n--- got\n%s--- want\n%s", got, want)
			}
			wantPinned, _ := c.section("pinned")
			if !bytes.Equal(gotPinned, wantPinned) {
				t.Errorf("pinned output differs\n--- got\n%s--- want\n%s", gotPinned, wantPinned)
			}
		})
	}
}

// yamlFuzzSeeds adds every golden input of both YAML formats as a seed.
func yamlFuzzSeeds(f *testing.F) {
	for _, dir := range []string{"compose", "kubernetes"} {
		for _, c := range yamlLoadGolden(f, dir) {
			raw, _ := c.section("input.yaml")
			f.Add(c.encode(raw))
		}
	}
}

func TestYAMLSourceOffset(t *testing.T) {
	t.Parallel()
	// Every value is "v"; the table lists where yaml.v3 says it is and
	// where its byte is.
	tests := []struct {
		name string
		src  string
	}{
		{"ascii", "a: v\n"},
		{"bom", "\ufeffa: v\n"},
		{"unicode key", "é: v\n"},
		{"wide key", "日本語: v\n"},
		{"emoji", "🕓: v\n"},
		{"tab", "a:\tv\n"},
		{"crlf", "x: 1\r\na: v\r\n"},
		{"lone cr", "x: 1\ra: v\n"},
		{"nel", "x: 1\u0085a: v\n"},
		{"line separator in comment", "# c\u2028a: v\n"},
		{"paragraph separator", "x: 1\u2029a: v\n"},
		{"quoted", "a: \"v\"\n"},
		{"single", "a: 'v'\n"},
		{"anchor", "a: &x v\n"},
		{"anchor and tag", "a: &x !!str v\n"},
		{"tag and anchor", "a: !!str &x v\n"},
		{"anchor then comment", "a: &x # c é\n  v\n"},
		{"flow", "a: {b: [x, v]}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := []byte(tt.src)
			docs, err := yamlDecodeStream(src)
			if err != nil {
				t.Fatal(err)
			}
			ys := newYAMLSource(src)
			var found *yaml.Node
			var walk func(n *yaml.Node)
			walk = func(n *yaml.Node) {
				if n.Kind == yaml.ScalarNode && n.Value == "v" {
					found = n
				}
				for _, c := range n.Content {
					walk(c)
				}
			}
			walk(docs[0])
			if found == nil {
				t.Fatal("no scalar v")
			}
			loc := ys.locate(found)
			want := strings.LastIndex(tt.src, "v")
			if loc.skip != "" || loc.span != (Span{want, want + 1}) {
				t.Errorf("locate = %+v, want [%d,%d)", loc, want, want+1)
			}
		})
	}
}

func TestYAMLLocateSkips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src, skip, text string
	}{
		{"a: \"x\\u0041\"\n", skipYAMLEscapes, `x\u0041`},
		{"a: 'it''s'\n", skipYAMLEscapes, "it''s"},
		{"a: \"x\n  y\"\n", skipYAMLNotLocated, "x"},
		{"a: x\n  y\n", skipYAMLNotLocated, "x"},
		{"a: >-\n  nginx:1\n", skipYAMLBlock, "nginx:1"},
		{"a: |\n  nginx:1\n  b\n", skipYAMLBlock, "nginx:1"},
		{"a: &z |\n  nginx:1\n", skipYAMLBlock, "nginx:1"},
	}
	for _, tt := range tests {
		docs, err := yamlDecodeStream([]byte(tt.src))
		if err != nil {
			t.Fatal(err)
		}
		v := yamlDocRoot(docs[0]).Content[1]
		loc := newYAMLSource([]byte(tt.src)).locate(v)
		if loc.skip != tt.skip || tt.src[loc.span.Start:loc.span.End] != tt.text {
			t.Errorf("%q: locate = %q %q, want %q %q", tt.src, loc.skip, tt.src[loc.span.Start:loc.span.End], tt.skip, tt.text)
		}
	}
}

func TestYAMLKeyLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src      string
		any, top bool
	}{
		{"apiVersion: v1\n", true, true},
		{"\ufeffapiVersion: v1\n", true, true},
		{"\"apiVersion\": v1\n", true, true},
		{"  apiVersion: v1\n", true, false},
		{"- apiVersion: v1\n", true, false},
		{"# apiVersion: v1\n", false, false},
		{"apiVersions: v1\n", false, false},
		{"apiVersion:v1\n", false, false},
		{"apiVersion:\r\n", true, true},
		{"x: apiVersion: v1\n", false, false},
	}
	for _, tt := range tests {
		a, top := yamlKeyLine([]byte(tt.src), "apiVersion")
		if a != tt.any || top != tt.top {
			t.Errorf("yamlKeyLine(%q) = %v, %v; want %v, %v", tt.src, a, top, tt.any, tt.top)
		}
	}
}

func TestYAMLClassifyContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      Kind
	}{
		{"k8s", "apiVersion: v1\nkind: Pod\n", Kubernetes},
		{"k8s quoted", "\"apiVersion\": \"v1\"\n\"kind\": \"Pod\"\n", Kubernetes},
		{"k8s only apiVersion", "apiVersion: v1\n", ""},
		{"compose by content", "services:\n  web:\n    image: nginx\n", Compose},
		{"compose build only", "services:\n  web:\n    build: .\n", Compose},
		{"compose embedding a manifest", "services:\n  web:\n    image: nginx\n    configs:\n      - source: c\nconfigs:\n  c:\n    content: |\n      apiVersion: v1\n      kind: Pod\n", Compose},
		{"gitlab ci services list", "services:\n  - docker:dind\nbuild:\n  image: docker\n", ""},
		{"services without image", "services:\n  web:\n    ports: [80]\n", ""},
		{"services not a mapping", "services: []\n", ""},
		{"broken", "services:\n  web: [\n", ""},
		{"plain yaml", "a: 1\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := Classify("x/file.yaml", []byte(tt.src)); got != tt.want {
			t.Errorf("%s: Classify = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestYAMLHostile feeds alias bombs and deep nesting to both rewriters:
// each must return quickly with no panic, and a ParseError or few refs.
func TestYAMLHostile(t *testing.T) {
	t.Parallel()
	laughs := func(key string) string {
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: Pod\n")
		b.WriteString("a0: &a0 {containers: [{image: lol:1, name: x}]}\n")
		for i := 1; i < 40; i++ {
			fmt.Fprintf(&b, "a%d: &a%d {", i, i)
			for j := 0; j < 10; j++ {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "k%d: *a%d", j, i-1)
			}
			b.WriteString("}\n")
		}
		fmt.Fprintf(&b, "spec:\n  %s: *a39\n", key)
		return b.String()
	}
	composeBomb := "x-a0: &a0\n  image: lol:1\n"
	for i := 1; i < 40; i++ {
		composeBomb += fmt.Sprintf("x-a%d: &a%d\n", i, i)
		for j := 0; j < 10; j++ {
			composeBomb += fmt.Sprintf("  k%d: *a%d\n", j, i-1)
		}
		composeBomb += fmt.Sprintf("  <<: [*a%d, *a%d]\n", i-1, i-1)
	}
	composeBomb += "services:\n  web:\n    <<: *a39\n"
	tests := []struct {
		name     string
		rw       Rewriter
		src      string
		refs     int
		parseErr bool
	}{
		{"k8s billion laughs", kubernetesRewriter{}, laughs("x"), 1, false},
		{"k8s billion laughs under containers", kubernetesRewriter{}, laughs("containers"), 1, false},
		{"compose billion laughs", composeRewriter{}, composeBomb, 1, false},
		{"k8s deep flow", kubernetesRewriter{}, "apiVersion: v1\nkind: Pod\nspec: " + strings.Repeat("[", 100000), 0, true},
		{"k8s deep flow closed", kubernetesRewriter{}, "apiVersion: v1\nkind: Pod\nspec: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", 0, true},
		{"k8s deep block", kubernetesRewriter{}, "apiVersion: v1\nkind: Pod\nspec:\n" + strings.Repeat("- ", 5000) + "x\n", 0, true},
		{"k8s deep templated", kubernetesRewriter{}, "apiVersion: v1\nkind: Pod\nx: {{a}}\nspec: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", 0, false},
		{"compose deep", composeRewriter{}, "services:\n  web: " + strings.Repeat("{a: ", 9000) + strings.Repeat("}", 9000) + "\n", 0, false},
		{"compose deep templated", composeRewriter{}, "services:\n  web: {{a}}\nx: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", 0, false},
		{"one long line", kubernetesRewriter{}, "apiVersion: v1\nkind: Pod\nspec: {containers: [" + strings.Repeat("{image: é:1}, ", 20000) + "{image: x}]}\n", 20001, false},
		{"one long templated line", kubernetesRewriter{}, "apiVersion: v1\nkind: Pod\nspec: {containers: [" + strings.Repeat("{image: é:1}, [a], ", 20000) + "{image: {{x}}}]}\n", 0, false},
		{"compose one long line", composeRewriter{}, "services: {" + strings.Repeat("a: {image: é:1}, ", 1) + strings.Join(yamlManyServices(20000), ", ") + "}\n", 20001, false},
		{"many aliases", kubernetesRewriter{}, "apiVersion: v1\nkind: Pod\nspec:\n  containers: &c\n  - image: nginx\n  x: [" + strings.Repeat("*c, ", 100000) + "*c]\n", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			refs, _, err := yamlCheckInvariants(t, tt.rw, []byte(tt.src))
			// Generous: catches exponential or quadratic work, not load.
			if d := time.Since(start); d > 10*time.Second && !yamlRaceEnabled {
				t.Errorf("took %v", d)
			}
			if len(refs) != tt.refs || (err != nil) != tt.parseErr {
				t.Errorf("got %d refs, err %v; want %d refs, parse error %v", len(refs), err, tt.refs, tt.parseErr)
			}
		})
	}
}

func yamlManyServices(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("s%d: {image: \"é:%d\"}", i, i)
	}
	return out
}

// Rewriter is the pre-plug-in shape of a format (Find over bytes), kept for
// these tests until the shared txtar harness replaces them.
type Rewriter interface {
	Kind() Kind
	Find(src []byte) ([]Ref, error)
}

// legacyFinder adapts a Format to Rewriter.
type legacyFinder struct{ Format }

func (l legacyFinder) Find(src []byte) ([]Ref, error) {
	return l.Format.Find(&File{Path: "file.yaml", Src: src})
}
