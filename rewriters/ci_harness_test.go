package rewriters

// A txtar golden and fuzz harness over the Format interface for the CI
// formats (testdata/<kind>/*.txtar), used until the package's shared
// harness covers every format. A case is a comment, the input as a section
// named by its path (the path decides Candidate and Claim), and the want
// and pinned sections that -update rewrites. Directives in the comment:
// "crlf" and "noeol" encode the input; "classify <kind|none>" overrides
// the kind the path must classify as (default: the folder's). Every LF case
// is also run with CRLF line endings, which must give the same refs and
// the CRLF form of the same pinned output.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ciFormats are the formats this harness runs, by testdata folder.
var ciFormats = []Format{circleciFormat{}, cloudbuildFormat{}, bitbucketFormat{}, droneFormat{}, woodpeckerFormat{}, azureFormat{}, bakeFormat{}}

type ciCase struct {
	path    string // the .txtar
	comment []byte
	files   []yamlTxtarFile
	flags   map[string]string
}

func (c *ciCase) input() (name string, data []byte) {
	return c.files[0].Name, c.files[0].Data
}

func ciLoadCases(t testing.TB, kind Kind) []*ciCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", string(kind), "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no golden cases in testdata/%s", kind)
	}
	var cases []*ciCase
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := &ciCase{path: p, flags: map[string]string{}}
		c.comment, c.files = yamlTxtarParse(data)
		if len(c.files) == 0 || c.files[0].Name == "want" || c.files[0].Name == "pinned" {
			t.Fatalf("%s: the first section must be the input, named by its path", p)
		}
		for _, line := range strings.Split(string(c.comment), "\n") {
			word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
			switch word {
			case "crlf", "noeol", "classify":
				c.flags[word] = strings.TrimSpace(rest)
			}
		}
		cases = append(cases, c)
	}
	return cases
}

func (c *ciCase) encode(b []byte) []byte {
	b = append([]byte(nil), b...)
	if _, ok := c.flags["noeol"]; ok {
		b = bytes.TrimSuffix(b, []byte("\n"))
	}
	if _, ok := c.flags["crlf"]; ok {
		b = bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
	}
	return b
}

func (c *ciCase) decode(b []byte) []byte {
	if _, ok := c.flags["crlf"]; ok {
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	}
	if _, ok := c.flags["noeol"]; ok {
		b = append(b, '\n')
	}
	return b
}

func (c *ciCase) section(name string) []byte {
	for _, f := range c.files[1:] {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

func (c *ciCase) setSection(name string, data []byte) {
	for i := 1; i < len(c.files); i++ {
		if c.files[i].Name == name {
			c.files[i].Data = data
			return
		}
	}
	c.files = append(c.files, yamlTxtarFile{Name: name, Data: data})
}

// ciFormatRefs renders refs one per line as golden files hold them.
func ciFormatRefs(refs []Ref, err error) string {
	if err != nil {
		return fmt.Sprintf("error: %v\n", err)
	}
	var b strings.Builder
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

// ciPin pins every ref fix would pin, through Ref.Pin as fix does it.
func ciPin(t testing.TB, src []byte, refs []Ref, digest string) ([]byte, []Edit) {
	t.Helper()
	var edits []Edit
	for _, r := range refs {
		if r.Skip != "" {
			if _, err := r.Pin(digest); !errors.Is(err, ErrCannotPin) {
				t.Fatalf("Pin of a skipped ref: err %v, want ErrCannotPin", err)
			}
			continue
		}
		es, err := r.Pin(digest)
		if err != nil {
			if !errors.Is(err, ErrCannotPin) {
				t.Fatalf("Pin %s: %v", r.Text, err)
			}
			continue
		}
		for _, e := range es {
			if e.Span.Start < r.Span.Start || e.Span.End > r.Span.End {
				t.Fatalf("Pin %s: edit %v outside the ref's span %v", r.Text, e.Span, r.Span)
			}
		}
		edits = append(edits, es...)
	}
	out, err := Splice(src, edits)
	if err != nil {
		t.Fatalf("Splice pinned: %v", err)
	}
	return out, edits
}

// ciCheckInvariants runs ft.Find on src and checks what every result must
// keep: spans in range, ordered and disjoint, Text the bytes at the span,
// Line and Column right, bytes outside edits unchanged, and fix twice the
// same as fix once. It returns the refs and the pinned bytes.
func ciCheckInvariants(t testing.TB, ft Format, name string, src []byte) ([]Ref, []byte, error) {
	t.Helper()
	orig := append([]byte(nil), src...)
	refs, err := ft.Find(&File{Path: name, Src: src})
	if !bytes.Equal(src, orig) {
		t.Fatal("Find modified its input")
	}
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Find error is %T, want *ParseError: %v", err, err)
		}
		if refs != nil {
			t.Fatal("Find returned refs with an error")
		}
		return nil, src, err
	}
	prevEnd, prevEmpty := -1, false
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
		if i < 200 {
			if l, c := LineCol(src, s.Start); l != r.Line || c != r.Column {
				t.Fatalf("ref %d at %d:%d, LineCol says %d:%d", i, r.Line, r.Column, l, c)
			}
		}
		if r.Context == "" {
			t.Fatalf("ref %d has no Context", i)
		}
		if r.Skip == "" && r.pin == nil {
			t.Fatalf("ref %d (%s) is not skipped and has no pin", i, r.Text)
		}
	}
	pinned, edits := ciPin(t, src, refs, yamlTestDigest)
	pos, opos := 0, 0
	for _, e := range sortedEdits(edits) {
		gap := e.Span.Start - pos
		if !bytes.Equal(pinned[opos:opos+gap], src[pos:e.Span.Start]) {
			t.Fatalf("pinning changed bytes outside the edits near offset %d", pos)
		}
		opos += gap + len(e.New)
		pos = e.Span.End
	}
	if !bytes.Equal(pinned[opos:], src[pos:]) {
		t.Fatal("pinning changed bytes after the last edit")
	}
	refs2, err := ft.Find(&File{Path: name, Src: pinned})
	if err != nil {
		t.Fatalf("Find on pinned output: %v\n%s", err, pinned)
	}
	if len(refs2) != len(refs) {
		t.Fatalf("pinned output has %d refs, input had %d", len(refs2), len(refs))
	}
	if again, _ := ciPin(t, pinned, refs2, yamlTestDigest); !bytes.Equal(again, pinned) {
		t.Fatalf("pinning twice differs from pinning once:\nonce:  %q\ntwice: %q", pinned, again)
	}
	return refs, pinned, nil
}

func sortedEdits(edits []Edit) []Edit {
	out := append([]Edit(nil), edits...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Span.Start < out[j-1].Span.Start; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// ciRunGolden runs one format's cases.
func ciRunGolden(t *testing.T, ft Format) {
	for _, c := range ciLoadCases(t, ft.Kind()) {
		t.Run(strings.TrimSuffix(filepath.Base(c.path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			name, raw := c.input()
			src := c.encode(raw)
			want := ft.Kind()
			if cl, ok := c.flags["classify"]; ok {
				want = Kind(cl)
				if cl == "none" {
					want = ""
				}
			}
			if g := Classify(name, src); g != want {
				t.Errorf("Classify(%q) = %q, want %q", name, g, want)
			}
			refs, pinned, err := ciCheckInvariants(t, ft, name, src)
			got := ciFormatRefs(refs, err)
			gotPinned := c.decode(pinned)
			if _, crlf := c.flags["crlf"]; !crlf && !bytes.Contains(src, []byte("\r")) {
				// The CRLF variant of every LF case.
				csrc := bytes.ReplaceAll(src, []byte("\n"), []byte("\r\n"))
				crefs, cpinned, cerr := ciCheckInvariants(t, ft, name, csrc)
				if g := ciFormatRefs(crefs, cerr); g != got {
					t.Errorf("CRLF variant: refs differ\n--- crlf\n%s--- lf\n%s", g, got)
				}
				if !bytes.Equal(cpinned, bytes.ReplaceAll(pinned, []byte("\n"), []byte("\r\n"))) {
					t.Errorf("CRLF variant: pinned output is not the CRLF form of the LF output:\n%q", cpinned)
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
			if w := string(c.section("want")); got != w {
				t.Errorf("refs differ\n--- got\n%s--- want\n%s", got, w)
			}
			if w := c.section("pinned"); !bytes.Equal(gotPinned, w) {
				t.Errorf("pinned output differs\n--- got\n%s--- want\n%s", gotPinned, w)
			}
		})
	}
}

func TestCIFormatsGolden(t *testing.T) {
	t.Parallel()
	for _, ft := range ciFormats {
		t.Run(string(ft.Kind()), func(t *testing.T) {
			t.Parallel()
			ciRunGolden(t, ft)
		})
	}
}

// ciFuzz runs the invariants on any input under each of the format's
// seed paths.
func ciFuzz(f *testing.F, ft Format) {
	var names []string
	seen := map[string]int{}
	for _, c := range ciLoadCases(f, ft.Kind()) {
		name, raw := c.input()
		i, ok := seen[name]
		if !ok {
			i = len(names)
			seen[name] = i
			names = append(names, name)
		}
		f.Add(c.encode(raw), i)
	}
	f.Fuzz(func(t *testing.T, src []byte, which int) {
		if which < 0 {
			which = -which
		}
		ciCheckInvariants(t, ft, names[which%len(names)], src)
	})
}

func FuzzCircleCI(f *testing.F)   { ciFuzz(f, circleciFormat{}) }
func FuzzCloudBuild(f *testing.F) { ciFuzz(f, cloudbuildFormat{}) }
func FuzzBitbucket(f *testing.F)  { ciFuzz(f, bitbucketFormat{}) }
func FuzzDrone(f *testing.F)      { ciFuzz(f, droneFormat{}) }
func FuzzWoodpecker(f *testing.F) { ciFuzz(f, woodpeckerFormat{}) }
func FuzzAzure(f *testing.F)      { ciFuzz(f, azureFormat{}) }
func FuzzBake(f *testing.F)       { ciFuzz(f, bakeFormat{}) }
