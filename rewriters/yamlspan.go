package rewriters

// Helpers shared by the YAML rewriters (compose, Kubernetes).
//
// YAML is parsed with the yaml.v3 node API only to learn where values are;
// every span is then computed in the raw bytes and checked against the
// parsed value. yaml.v3 reports 1-based lines and columns where columns count
// runes (not bytes), a line break is any of \n, \r\n, \r, NEL, LS or PS, a
// leading UTF-8 byte-order mark is not counted, a node with properties
// (&anchor, !tag) starts at its first property, and a quoted scalar starts
// at its opening quote. The functions here undo all of that.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxYAMLDepth bounds how deep the rewriters descend into a YAML tree. Real
// manifests stay far below it; deeper input is refused as hostile rather
// than risking the stack. (yaml.v3 itself stops at 10000 levels.)
const maxYAMLDepth = 1000

// Skip reasons shared by the YAML rewriters.
const (
	skipYAMLEscapes     = "quoted value uses escapes; edit by hand"
	skipYAMLBlock       = "block scalar (| or >); edit by hand"
	skipYAMLNotLocated  = "could not locate value bytes"
	skipYAMLTemplated   = "templated file ({{ }}): rendered by another tool; pin in its values"
	skipYAMLTemplateVal = "templated value ({{ }}): rendered by another tool"
)

var errYAMLTooDeep = &ParseError{Msg: "YAML nested deeper than " + strconv.Itoa(maxYAMLDepth) + " levels"}

var yamlBOM = []byte{0xEF, 0xBB, 0xBF}

// yamlSource maps yaml.v3 positions back to byte offsets in the raw file.
type yamlSource struct {
	src   []byte
	lines []int // lines[i] is the byte offset where YAML line i+1 starts

	// The last position converted, so that walking a long line (a big flow
	// collection on one line) node by node stays linear.
	lastLine, lastCol, lastOff int
}

func newYAMLSource(src []byte) *yamlSource {
	s := &yamlSource{src: src}
	start := 0
	if bytes.HasPrefix(src, yamlBOM) {
		start = len(yamlBOM) // yaml.v3's reader drops the BOM before counting
	}
	s.lines = append(s.lines, start)
	for i := start; i < len(src); {
		if n := yamlBreakLen(src, i); n > 0 {
			i += n
			s.lines = append(s.lines, i)
			continue
		}
		i++
	}
	return s
}

// yamlBreakLen returns the length of the YAML line break at src[i], or 0.
func yamlBreakLen(src []byte, i int) int {
	switch c := src[i]; {
	case c == '\n':
		return 1
	case c == '\r':
		if i+1 < len(src) && src[i+1] == '\n' {
			return 2
		}
		return 1
	case c == 0xC2 && i+1 < len(src) && src[i+1] == 0x85: // NEL
		return 2
	case c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xA8 || src[i+2] == 0xA9): // LS, PS
		return 3
	}
	return 0
}

// offset converts a yaml.v3 line and rune column to a byte offset.
func (s *yamlSource) offset(line, col int) (int, bool) {
	if line < 1 || line > len(s.lines) || col < 1 {
		return 0, false
	}
	off, k := s.lines[line-1], 1
	if line == s.lastLine && col >= s.lastCol && s.lastCol > 0 {
		off, k = s.lastOff, s.lastCol
	}
	for ; k < col; k++ {
		if off >= len(s.src) || yamlBreakLen(s.src, off) > 0 {
			return 0, false
		}
		_, size := utf8.DecodeRune(s.src[off:])
		off += size
	}
	s.lastLine, s.lastCol, s.lastOff = line, col, off
	return off, true
}

// yamlScalarSpan is where a scalar's value bytes are, or why they cannot be
// edited. When skip is not empty the span is a best effort (the value's
// first line) that lies inside the scalar, for messages only.
type yamlScalarSpan struct {
	span Span
	skip string
}

// locate finds the bytes of scalar node n's value.
func (s *yamlSource) locate(n *yaml.Node) yamlScalarSpan {
	src := s.src
	off, ok := s.offset(n.Line, n.Column)
	if !ok {
		return yamlScalarSpan{span: Span{0, 0}, skip: skipYAMLNotLocated}
	}
	q := yamlSkipProperties(src, off)
	if q >= len(src) {
		return yamlScalarSpan{span: Span{off, off}, skip: skipYAMLNotLocated}
	}
	c := src[q]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if c != '"' {
			return s.bestEffort(q, off)
		}
		end, escaped := yamlQuotedEnd(src, q+1, '"')
		return s.quoted(n, q, end, escaped)
	case n.Style&yaml.SingleQuotedStyle != 0:
		if c != '\'' {
			return s.bestEffort(q, off)
		}
		end, escaped := yamlQuotedEnd(src, q+1, '\'')
		return s.quoted(n, q, end, escaped)
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		if c != '|' && c != '>' {
			return s.bestEffort(q, off)
		}
		return s.blockScalar(q)
	}
	v := n.Value
	if v != "" && bytes.HasPrefix(src[q:], []byte(v)) && yamlPlainEnds(src, q+len(v)) {
		return yamlScalarSpan{span: Span{q, q + len(v)}}
	}
	return s.bestEffort(q, off)
}

// quoted handles a quoted scalar whose opening quote is at q and whose
// closing quote is at end (-1 when not found on a sane path).
func (s *yamlSource) quoted(n *yaml.Node, q, end int, escaped bool) yamlScalarSpan {
	if end < 0 {
		return s.bestEffort(q+1, q)
	}
	sp := Span{q + 1, end}
	if escaped {
		return yamlScalarSpan{span: sp, skip: skipYAMLEscapes}
	}
	if string(s.src[sp.Start:sp.End]) == n.Value {
		return yamlScalarSpan{span: sp}
	}
	// A quoted scalar folded over several lines: the value is not the bytes.
	return s.bestEffort(q+1, q)
}

// yamlQuotedEnd finds the closing quote of a quoted scalar whose content
// starts at i. It reports whether the content holds escapes: a backslash in
// double quotes, a doubled quote in single quotes.
func yamlQuotedEnd(src []byte, i int, quote byte) (end int, escaped bool) {
	for i < len(src) {
		c := src[i]
		switch {
		case quote == '"' && c == '\\':
			escaped = true
			i += 2
			continue
		case c == quote:
			if quote == '\'' && i+1 < len(src) && src[i+1] == '\'' {
				escaped = true
				i += 2
				continue
			}
			return i, escaped
		}
		i++
	}
	return -1, escaped
}

// blockScalar returns a skipped span over the first content line of a block
// scalar whose indicator is at q.
func (s *yamlSource) blockScalar(q int) yamlScalarSpan {
	src := s.src
	i := q
	for i < len(src) && yamlBreakLen(src, i) == 0 {
		i++
	}
	if i >= len(src) {
		return yamlScalarSpan{span: Span{q, q}, skip: skipYAMLBlock}
	}
	// The first line with text after the header is content: the value is
	// not empty (callers drop empty values), so the scalar has such a line.
	for i < len(src) {
		if n := yamlBreakLen(src, i); n > 0 {
			i += n
		} else if src[i] == ' ' || src[i] == '\t' {
			i++
		} else {
			break
		}
	}
	e := i
	for e < len(src) && yamlBreakLen(src, e) == 0 {
		e++
	}
	for e > i && (src[e-1] == ' ' || src[e-1] == '\t') {
		e--
	}
	return yamlScalarSpan{span: Span{i, e}, skip: skipYAMLBlock}
}

// bestEffort is the first line of a value that could not be located exactly,
// cut short so that it never leaves the scalar.
func (s *yamlSource) bestEffort(q, fallback int) yamlScalarSpan {
	src := s.src
	if q > len(src) {
		q = fallback
	}
	e := q
	for e < len(src) && yamlBreakLen(src, e) == 0 {
		c := src[e]
		if c == ',' || c == ']' || c == '}' || c == '"' || c == '\'' ||
			(c == '#' && e > q && (src[e-1] == ' ' || src[e-1] == '\t')) {
			break
		}
		e++
	}
	for e > q && (src[e-1] == ' ' || src[e-1] == '\t') {
		e--
	}
	return yamlScalarSpan{span: Span{q, e}, skip: skipYAMLNotLocated}
}

// yamlSkipProperties moves past a node's &anchor and !tag properties and the
// blanks, comments and line breaks after them, to the value's first byte.
func yamlSkipProperties(src []byte, i int) int {
	for i < len(src) {
		switch src[i] {
		case '&':
			i++
			for i < len(src) && yamlAnchorChar(src[i]) {
				i++
			}
		case '!':
			i++
			if i < len(src) && src[i] == '<' {
				for i < len(src) && src[i] != '>' && yamlBreakLen(src, i) == 0 {
					i++
				}
				if i < len(src) && src[i] == '>' {
					i++
				}
			} else {
				for i < len(src) && src[i] != ' ' && src[i] != '\t' && yamlBreakLen(src, i) == 0 {
					i++
				}
			}
		default:
			return i
		}
		i = yamlSkipBlanks(src, i)
	}
	return i
}

// yamlSkipBlanks skips spaces, tabs, comments and line breaks.
func yamlSkipBlanks(src []byte, i int) int {
	for i < len(src) {
		switch c := src[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '#':
			for i < len(src) && yamlBreakLen(src, i) == 0 {
				i++
			}
		default:
			n := yamlBreakLen(src, i)
			if n == 0 {
				return i
			}
			i += n
		}
	}
	return i
}

func yamlAnchorChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
}

// yamlPlainEnds reports whether a plain scalar can end right before src[i].
func yamlPlainEnds(src []byte, i int) bool {
	if i >= len(src) {
		return true
	}
	switch src[i] {
	case ' ', '\t', ',', ']', '}':
		return true
	}
	return yamlBreakLen(src, i) > 0
}

// yamlResolve follows an alias to the node it names.
func yamlResolve(n *yaml.Node) *yaml.Node {
	for k := 0; n != nil && n.Kind == yaml.AliasNode && k < 16; k++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// yamlAliasCounts counts the aliases (*name) that name each node: a node
// with a count is read in more than one place (Helm and kustomize do not
// pin such a value, since a digest written there would pin the other
// readers too). Aliases are not followed, so an alias bomb costs one
// visit per written node.
func yamlAliasCounts(docs []*yaml.Node) map[*yaml.Node]int {
	out := map[*yaml.Node]int{}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || depth > maxYAMLDepth {
			return
		}
		if n.Kind == yaml.AliasNode {
			if n.Alias != nil {
				out[n.Alias]++
			}
			return
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	for _, d := range docs {
		walk(d, 0)
	}
	return out
}

// yamlMergeKey reports whether a mapping key is the YAML merge key <<.
func yamlMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge"
}

// yamlLookup returns the value of key in mapping m, following merge keys
// (<<: *anchor, <<: [*a, *b]) the way YAML defines them: keys written in the
// mapping win, then merged mappings in order. Aliases are resolved.
func yamlLookup(m *yaml.Node, key string) (*yaml.Node, bool) {
	return yamlLookupSeen(m, key, nil, 0)
}

// yamlLookupSeen searches merged mappings once each: merge keys can share
// anchors, and without this an alias bomb of merges is exponential.
func yamlLookupSeen(m *yaml.Node, key string, seen map[*yaml.Node]bool, depth int) (*yaml.Node, bool) {
	m = yamlResolve(m)
	if m == nil || m.Kind != yaml.MappingNode || depth > maxYAMLDepth || seen[m] {
		return nil, false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && k.Value == key && !yamlMergeKey(k) {
			return yamlResolve(m.Content[i+1]), true
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !yamlMergeKey(m.Content[i]) {
			continue
		}
		if seen == nil {
			seen = map[*yaml.Node]bool{}
		}
		seen[m] = true
		v := yamlResolve(m.Content[i+1])
		if v == nil {
			continue
		}
		switch v.Kind {
		case yaml.MappingNode:
			if r, ok := yamlLookupSeen(v, key, seen, depth+1); ok {
				return r, true
			}
		case yaml.SequenceNode:
			for _, e := range v.Content {
				if r, ok := yamlLookupSeen(e, key, seen, depth+1); ok {
					return r, true
				}
			}
		}
	}
	return nil, false
}

// yamlDecodeStream parses every document in src. A parse error becomes a
// *ParseError with the line yaml.v3 names.
func yamlDecodeStream(src []byte) (docs []*yaml.Node, err error) {
	// Files are untrusted: should the parser ever panic on one, report the
	// file as unparsable instead of taking the whole run down.
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, &ParseError{Msg: fmt.Sprintf("invalid YAML: parser failed: %v", r)}
		}
	}()
	if bytes.HasPrefix(src, []byte{0xFF, 0xFE}) || bytes.HasPrefix(src, []byte{0xFE, 0xFF}) {
		// yaml.v3 would transcode UTF-16 and report positions in the
		// transcoded text, which are not byte offsets of this file.
		return nil, &ParseError{Msg: "UTF-16 YAML is not supported; convert the file to UTF-8"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		n := new(yaml.Node)
		err := dec.Decode(n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, yamlParseError(err)
		}
		docs = append(docs, n)
	}
}

var yamlErrLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlParseError(err error) *ParseError {
	msg := err.Error()
	if m := yamlErrLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ParseError{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &ParseError{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// yamlDocRoot returns the top-level node of a document, aliases resolved.
func yamlDocRoot(doc *yaml.Node) *yaml.Node {
	if doc == nil {
		return nil
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		return yamlResolve(doc.Content[0])
	}
	return yamlResolve(doc)
}

// yamlHasTemplateSyntax reports whether a parsed stream holds Go-template (or
// sed placeholder) syntax where YAML structure is: "{{" in a plain scalar,
// or a flow collection that starts with "{{". "{{" inside quoted or block
// scalars is ordinary text (Argo Workflows parameters, Grafana dashboards,
// Prometheus rules) and does not make a file a template.
func yamlHasTemplateSyntax(s *yamlSource, docs []*yaml.Node) (bool, error) {
	if !bytes.Contains(s.src, []byte("{{")) {
		return false, nil
	}
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, depth int) (bool, error)
	walk = func(n *yaml.Node, depth int) (bool, error) {
		n = yamlResolve(n)
		if n == nil || seen[n] {
			return false, nil
		}
		if depth > maxYAMLDepth {
			return false, errYAMLTooDeep
		}
		seen[n] = true
		switch n.Kind {
		case yaml.ScalarNode:
			plain := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
			return plain && strings.Contains(n.Value, "{{"), nil
		case yaml.MappingNode, yaml.SequenceNode:
			if n.Style&yaml.FlowStyle != 0 {
				if off, ok := s.offset(n.Line, n.Column); ok && bytes.HasPrefix(s.src[yamlSkipProperties(s.src, off):], []byte("{{")) {
					return true, nil
				}
			}
		}
		for _, c := range n.Content {
			if t, err := walk(c, depth+1); t || err != nil {
				return t, err
			}
		}
		return false, nil
	}
	for _, d := range docs {
		if t, err := walk(d, 0); t || err != nil {
			return t, err
		}
	}
	return false, nil
}

// yamlTemplatedImageRe matches a container-image line in a templated file:
// optional "- ", "image:", then a quoted or plain value and an optional
// comment. The value is group 1 (double-quoted), 2 (single-quoted) or 3.
var yamlTemplatedImageRe = regexp.MustCompile(`^[ \t]*(?:-[ \t]+)?image[ \t]*:[ \t]+(?:"([^"\\]*)"|'([^']*)'|([^ \t"'#{}\[\],&*!|>][^ \t]*))[ \t]*(?:#.*)?$`)

// yamlTemplatedRefs reads a file that is a template (Helm, sed placeholders…)
// line by line: each "image: <literal ref>" line becomes a skipped ref, so
// that reports show the image without digestbot editing a file that is not
// the YAML that gets applied. Values holding template syntax are left out.
func yamlTemplatedRefs(src []byte) []Ref {
	var refs []Ref
	lineStart := 0
	if bytes.HasPrefix(src, yamlBOM) {
		lineStart = len(yamlBOM)
	}
	for lineStart <= len(src) {
		end := bytes.IndexByte(src[lineStart:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += lineStart
		}
		line := src[lineStart:end]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if m := yamlTemplatedImageRe.FindSubmatchIndex(line); m != nil {
			for g := 1; g <= 3; g++ {
				a, b := m[2*g], m[2*g+1]
				if a < 0 {
					continue
				}
				v := string(line[a:b])
				if v != "" && !strings.Contains(v, "{{") && !strings.Contains(v, "}}") && !strings.ContainsAny(v, "$\\") && yamlLooksLikeRef(v) {
					refs = append(refs, Ref{Span: Span{lineStart + a, lineStart + b}, Skip: skipYAMLTemplated, Context: "image"})
				}
			}
		}
		lineStart = end + 1
	}
	return refs
}

// yamlLooksLikeRef is a light check that a literal is an image reference.
var yamlImageRefRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\-/:\[\]]*(?:@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)?$`)

func yamlLooksLikeRef(v string) bool { return yamlImageRefRe.MatchString(v) }

// yamlFinishRefs orders refs by offset, fills Text, Line and Column, and drops
// any ref whose span would collide with an earlier one (the same scalar
// reached twice, or a best-effort span of a skipped ref).
func yamlFinishRefs(src []byte, refs []Ref) []Ref {
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].Span.Start < refs[j].Span.Start })
	out := refs[:0]
	prevEnd, prevEmpty := -1, false
	// Line and column are counted forward from the previous ref (refs are
	// sorted), which keeps many refs on a big file linear.
	pos, line, lineStart := 0, 1, 0
	for _, r := range refs {
		s := r.Span
		if s.Start < 0 || s.End < s.Start || s.End > len(src) {
			continue
		}
		if len(out) > 0 && (s.Start < prevEnd || (s.Start == prevEnd && (prevEmpty || s.Start == s.End))) {
			continue
		}
		for ; pos < s.Start; pos++ {
			if src[pos] == '\n' {
				line++
				lineStart = pos + 1
			}
		}
		fromSpan := r.Text == ""
		if fromSpan {
			// Formats that read a value over several lines set its
			// logical text; the others get the bytes of the span.
			r.Text = string(src[s.Start:s.End])
		}
		if i := strings.IndexAny(r.Text, "\r\n"); i >= 0 {
			// A ref never shows a raw line break (it would break every
			// line-oriented output): a value a format could not read as
			// one line is shown up to its first break, and never pinned.
			r.Text = r.Text[:i]
			if fromSpan {
				r.Span.End = r.Span.Start + i
			}
			if r.Skip == "" {
				r.Skip = "the value is written over several lines; write it on one line to pin it"
			}
			r.pin = nil
		}
		r.Line, r.Column = line, s.Start-lineStart+1
		out = append(out, r)
		prevEnd, prevEmpty = s.End, s.Start == s.End
	}
	return out
}

// yamlKeyLine reports whether src has a line whose first key (after
// indentation and "- " sequence markers) is key, optionally quoted; top
// reports whether such a line starts at column 1 (a top-level key).
func yamlKeyLine(src []byte, key string) (found, top bool) {
	src = bytes.TrimPrefix(src, yamlBOM)
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		i := 0
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		indented := i > 0
		for i+1 < len(line) && line[i] == '-' && (line[i+1] == ' ' || line[i+1] == '\t') {
			indented = true
			i += 2
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
		}
		rest := line[i:]
		if len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') {
			if !bytes.HasPrefix(rest[1:], []byte(key)) || len(rest) < len(key)+2 || rest[len(key)+1] != rest[0] {
				continue
			}
			rest = rest[len(key)+2:]
		} else {
			if !bytes.HasPrefix(rest, []byte(key)) {
				continue
			}
			rest = rest[len(key):]
		}
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		rest = rest[1:]
		if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\r' {
			continue
		}
		found = true
		if !indented {
			return true, true
		}
	}
	return found, false
}

// yamlTemplated holds the refs of a templated file: its literal image lines,
// all skipped.
type yamlTemplated struct{ refs []Ref }

// yamlPrepare parses a compose or Kubernetes file. A file with Go template
// syntax (one that fails to parse and holds "{{", or one whose values use
// it) is not walked: templated then holds its skipped image lines.
func yamlPrepare(src []byte) (docs []*yaml.Node, ys *yamlSource, templated *yamlTemplated, err error) {
	docs, err = yamlDecodeStream(src)
	if err != nil {
		if bytes.Contains(src, []byte("{{")) {
			return nil, nil, &yamlTemplated{yamlFinishRefs(src, yamlTemplatedRefs(src))}, nil
		}
		return nil, nil, nil, err
	}
	ys = newYAMLSource(src)
	tmpl, err := yamlHasTemplateSyntax(ys, docs)
	if err != nil {
		return nil, nil, nil, err
	}
	if tmpl {
		return nil, nil, &yamlTemplated{yamlFinishRefs(src, yamlTemplatedRefs(src))}, nil
	}
	return docs, ys, nil, nil
}

// locateRef locates scalar n like locate, and also a block scalar (| or >)
// with strip chomping (>- or |-) whose one line of content is the whole
// value: its bytes on that line are the value, so it is read, checked and
// pinned like any inline value (a lying digest in "image: >-" must not pass
// check unseen). Values that run over several lines, or whose value ends
// in a line break (> or | without -), stay skipped with locate's reason.
func (s *yamlSource) locateRef(n *yaml.Node) yamlScalarSpan {
	loc := s.locate(n)
	if loc.skip != skipYAMLBlock || strings.HasSuffix(n.Value, "\n") {
		return loc
	}
	m := s.locateMapped(n)
	if m.skip != "" || m.span.End > len(s.src) || string(s.src[m.span.Start:m.span.End]) != m.text {
		return loc
	}
	return yamlScalarSpan{span: m.span}
}

// yamlMapped is a scalar's value with the file offset of each of its bytes:
// the logical text of a value written over several lines (a block scalar,
// a double-quoted scalar continued with a backslash), which fix can still
// edit where the bytes it changes lie on one line (mappedPin).
type yamlMapped struct {
	text string
	offs []int
	span Span   // first to last byte of the value in the file
	skip string // non-empty: the value cannot be read byte for byte
}

func (m yamlMapped) off(i int) int { return m.offs[i] }

// locateMapped locates scalar n like locate, and also reads block scalars
// with one line of content and double-quoted scalars continued over lines
// with a trailing backslash. A block scalar's final line breaks (clip or
// keep chomping) are not part of the text.
func (s *yamlSource) locateMapped(n *yaml.Node) yamlMapped {
	loc := s.locate(n)
	if loc.skip == "" {
		offs := make([]int, loc.span.End-loc.span.Start)
		for i := range offs {
			offs[i] = loc.span.Start + i
		}
		return yamlMapped{text: string(s.src[loc.span.Start:loc.span.End]), offs: offs, span: loc.span}
	}
	bad := yamlMapped{text: oneLine(string(s.src[loc.span.Start:loc.span.End])), span: loc.span, skip: loc.skip}
	off, ok := s.offset(n.Line, n.Column)
	if !ok {
		return bad
	}
	q := yamlSkipProperties(s.src, off)
	var text []byte
	var offs []int
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		text, offs = s.blockLine(q)
		if text == nil || string(text) != strings.TrimRight(n.Value, "\n") {
			return bad
		}
	case n.Style&yaml.DoubleQuotedStyle != 0 && q < len(s.src) && s.src[q] == '"':
		text, offs = s.continuedQuoted(q + 1)
		if text == nil || string(text) != n.Value {
			return bad
		}
	default:
		return bad
	}
	if len(text) == 0 {
		return bad
	}
	return yamlMapped{text: string(text), offs: offs, span: Span{offs[0], offs[len(offs)-1] + 1}}
}

// blockLine reads the content of a block scalar whose indicator is at q
// when it is one line of text (blank lines after it allowed): the line
// without its indentation, and the offset of each byte.
func (s *yamlSource) blockLine(q int) ([]byte, []int) {
	src := s.src
	i := q
	for i < len(src) && yamlBreakLen(src, i) == 0 {
		i++ // the header: indicators and a comment
	}
	var text []byte
	var offs []int
	lines, indent := 0, 0
	for i < len(src) {
		n := yamlBreakLen(src, i)
		if n == 0 {
			break
		}
		i += n
		start := i
		for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
			i++
		}
		e := i
		for e < len(src) && yamlBreakLen(src, e) == 0 {
			e++
		}
		if e == i {
			i = e
			continue // a blank line
		}
		if lines == 0 {
			indent = i - start
		} else if i-start < indent {
			break // less indented: the scalar has ended
		}
		if i == start || lines > 0 {
			// Not indented (the scalar has ended: there was no content),
			// or a second line of content.
			if lines > 0 {
				return nil, nil
			}
			break
		}
		lines++
		for k := i; k < e; k++ {
			text = append(text, src[k])
			offs = append(offs, k)
		}
		i = e
	}
	if lines != 1 {
		return nil, nil
	}
	return text, offs
}

// continuedQuoted reads a double-quoted scalar starting at i whose only
// escapes are backslash-line-break continuations (YAML drops the break and
// the next line's leading blanks): the value and each byte's offset.
func (s *yamlSource) continuedQuoted(i int) ([]byte, []int) {
	src := s.src
	var text []byte
	var offs []int
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			return text, offs
		case c == '\\':
			n := 0
			if i+1 < len(src) {
				n = yamlBreakLen(src, i+1)
			}
			if n == 0 {
				return nil, nil
			}
			i += 1 + n
			for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
				i++
			}
			continue
		case yamlBreakLen(src, i) > 0:
			return nil, nil // a folded line break: not the bytes
		}
		text = append(text, c)
		offs = append(offs, i)
		i++
	}
	return nil, nil
}

// afterColon returns the offset right after the ':' that ends mapping key
// k, or -1 when the bytes are not the plain or quoted key followed by ':'.
func (s *yamlSource) afterColon(k *yaml.Node) int {
	src := s.src
	off, ok := s.offset(k.Line, k.Column)
	if !ok || k.Kind != yaml.ScalarNode {
		return -1
	}
	i := yamlSkipProperties(src, off)
	switch {
	case k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		l := s.locate(k)
		if l.skip != "" {
			return -1
		}
		i = l.span.End + 1
	case bytes.HasPrefix(src[i:], []byte(k.Value)):
		i += len(k.Value)
	default:
		return -1
	}
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	if i < len(src) && src[i] == ':' {
		return i + 1
	}
	return -1
}
