package rewriters

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

type dockerfileRewriter struct{}

func (dockerfileRewriter) Kind() Kind { return Dockerfile }

// Find returns the image references of a Dockerfile: FROM images,
// COPY --from and RUN --mount=…,from= images, the `# syntax=` directive's
// image, and ARG defaults that a FROM uses as its whole image.
//
// BuildKit's parser decides what the instructions are (continuations,
// comments inside them, the escape directive, heredocs); it gives no
// columns, so each instruction BuildKit reports is joined again from the
// raw lines here, keeping the source offset of every byte (dockerfile_lex.go).
// The joined text must equal the parser's Node.Original and the words must
// equal the parser's, so a disagreement is reported as an error instead of
// becoming a wrong span.
func (dockerfileRewriter) Find(src []byte) ([]Ref, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		if err.Error() == dfNoInstructions {
			// An empty file, or one with only comments: nothing to pin, and
			// nothing worth failing a whole scan for.
			return nil, nil
		}
		return nil, dockerfileParseError(err)
	}
	d := newDockerfile(src, res.EscapeToken)
	if err := d.syntaxDirective(); err != nil {
		return nil, err
	}
	for _, n := range res.AST.Children {
		if err := d.instruction(n); err != nil {
			return nil, err
		}
	}
	return d.finish()
}

// dfNoInstructions is the message BuildKit gives a file with no
// instructions; its error is not exported, so it is matched by text.
const dfNoInstructions = "file with no instructions"

// dockerfileParseError turns a BuildKit parse error into a *ParseError.
func dockerfileParseError(err error) *ParseError {
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		line = le.Locations[0][0].Start.Line
	}
	msg := err.Error()
	// BuildKit locates errors in parser directives by the index of the line
	// before it counts it (one less than the 1-based line number).
	if strings.Contains(msg, "parser directive") || strings.Contains(msg, "escape token") {
		line++
	}
	return &ParseError{Line: line, Msg: msg}
}

// Contexts of Dockerfile references, for messages.
const (
	dfCtxFrom       = "FROM"
	dfCtxCopyFrom   = "COPY --from"
	dfCtxMountFrom  = "RUN --mount from"
	dfCtxSyntax     = "syntax"
	dfCtxOnbuildPfx = "ONBUILD "
)

// dfUse is one place where an image is named: a FROM image, a COPY --from
// or mount from= value. It is resolved in finish, once every stage name and
// every use of every ARG is known.
type dfUse struct {
	ctx  string
	span Span   // the value's bytes in src (without wrapping quotes)
	text string // the value as BuildKit reads it
	// split means the value runs over a line continuation, so src[span]
	// is not the value and cannot be replaced.
	split bool
	// skip, when set, is already decided (a quoted or escaped value…).
	skip string
	// stages is how many stages precede the use, for FROM, which can only
	// name earlier stages; -1 for --from and mounts, which BuildKit looks up
	// among all stages.
	stages  int
	onbuild bool
	// For a FROM whose value holds a variable:
	varName string // `$NAME`/`${NAME}` (whole) or `${NAME:-default}` (inline)
	whole   bool   // the value is exactly $NAME or ${NAME}
	inline  bool   // the value is ${NAME:-default}; span/text are the default
	// For an inline default, the whole word ${NAME:-default}.
	word      Span
	wordText  string
	wordSplit bool
}

// dfArg is one ARG declaration before the first FROM (a "meta" ARG, the only
// kind a FROM can use).
type dfArg struct {
	name       string
	hasDefault bool
	value      string // the default as BuildKit evaluates it, when pinnable
	empty      bool   // the default is empty ("", '' or nothing)
	span       Span   // the default's bytes in src (without quotes)
	why        string // non-empty: why the default cannot be pinned in place
	emitted    bool
}

type dockerfile struct {
	src        []byte
	esc        byte
	lineStarts []int
	refs       []Ref
	uses       []dfUse
	stages     int            // how many FROMs so far
	stageNames map[string]int // lower-cased stage name → index of its first FROM
	seenFrom   bool
	args       map[string][]*dfArg // meta ARGs by name
	defaults   map[string]int      // how many meta ARG declarations of a name give a default
	// composed holds the names of ARGs that appear in a reference (or a
	// meta ARG default) together with other text: pinning the default of
	// such an ARG would corrupt that reference.
	composed map[string]string // name → one text using it, for messages
}

func newDockerfile(src []byte, esc rune) *dockerfile {
	d := &dockerfile{
		src:        src,
		esc:        byte(esc),
		args:       map[string][]*dfArg{},
		defaults:   map[string]int{},
		stageNames: map[string]int{},
		composed:   map[string]string{},
	}
	d.lineStarts = append(d.lineStarts, 0)
	for i, c := range src {
		if c == '\n' {
			d.lineStarts = append(d.lineStarts, i+1)
		}
	}
	return d
}

// lineCol is LineCol without rescanning the file for every reference.
func (d *dockerfile) lineCol(off int) (int, int) {
	i := sort.SearchInts(d.lineStarts, off+1) - 1
	return i + 1, off - d.lineStarts[i] + 1
}

// lineBytes returns line n (1-based) with its end of line, as BuildKit's
// scanner yields it, and the offset of its first byte.
func (d *dockerfile) lineBytes(n int) ([]byte, int) {
	if n < 1 || n > len(d.lineStarts) || d.lineStarts[n-1] >= len(d.src) {
		return nil, len(d.src)
	}
	start := d.lineStarts[n-1]
	end := len(d.src)
	if n < len(d.lineStarts) {
		end = d.lineStarts[n]
	}
	return d.src[start:end], start
}

func dfInternalError(line int, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Msg: "internal: " + fmt.Sprintf(format, args...) + " (please report this Dockerfile)"}
}

// instruction records the references of one top-level instruction.
func (d *dockerfile) instruction(n *parser.Node) error {
	switch strings.ToLower(n.Value) {
	case "from", "arg", "copy", "run", "onbuild":
	default:
		return nil
	}
	ln, err := d.join(n.StartLine)
	if err != nil {
		return err
	}
	if string(ln.b) != n.Original {
		return dfInternalError(n.StartLine, "joined instruction %q differs from the parser's %q", ln.b, n.Original)
	}
	return d.node(n, ln, false)
}

// node handles an instruction whose text (as BuildKit joined it) is ln;
// onbuild is set for the trigger of an ONBUILD.
func (d *dockerfile) node(n *parser.Node, ln dfLine, onbuild bool) error {
	in := ln.split(d.esc)
	if in.cmd != n.Value {
		return dfInternalError(n.StartLine, "instruction %q read as %q", n.Value, in.cmd)
	}
	if !slices.Equal(in.flagChecks(), n.Flags) {
		return dfInternalError(n.StartLine, "flags %q read as %q", n.Flags, in.flagChecks())
	}
	switch strings.ToLower(n.Value) {
	case "from":
		if !onbuild {
			return d.from(n, ln, in)
		}
	case "arg":
		if !onbuild && !d.seenFrom {
			return d.metaArg(n, ln, in)
		}
	case "copy":
		d.copyFrom(ln, in, onbuild)
	case "run":
		d.runMounts(ln, in, onbuild)
	case "onbuild":
		if onbuild || n.Next == nil || len(n.Next.Children) == 0 {
			return nil
		}
		child := n.Next.Children[0]
		sub := ln.slice(in.argsStart, in.argsEnd)
		if string(sub.b) != child.Original {
			return dfInternalError(n.StartLine, "ONBUILD trigger %q read as %q", child.Original, sub.b)
		}
		switch strings.ToLower(child.Value) {
		case "copy", "run":
			child.StartLine = n.StartLine // for messages; BuildKit leaves it 0
			return d.node(child, sub, true)
		}
	}
	return nil
}

// from handles FROM [--platform=…] image [AS name].
func (d *dockerfile) from(n *parser.Node, ln dfLine, in dfSplit) error {
	words := ln.fields(in.argsStart, in.argsEnd)
	var want []string
	for w := n.Next; w != nil; w = w.Next {
		want = append(want, w.Value)
	}
	got := make([]string, len(words))
	for i, w := range words {
		got[i] = string(ln.b[w[0]:w[1]])
	}
	if !slices.Equal(got, want) {
		return dfInternalError(n.StartLine, "FROM arguments %q read as %q", want, got)
	}
	before := d.stages
	// BuildKit wants one or three arguments; a trailing `# comment` makes
	// more, which fails the build, but the image is still the first word.
	// A name BuildKit would refuse names no stage.
	if len(words) >= 3 && strings.EqualFold(got[1], "as") {
		name := strings.ToLower(got[2])
		if _, dup := d.stageNames[name]; !dup && dfStageName.MatchString(name) {
			d.stageNames[name] = before
		}
	}
	d.seenFrom = true
	d.stages++
	if len(words) == 0 {
		return nil
	}
	u := d.wordUse(dfCtxFrom, ln, words[0][0], words[0][1])
	u.stages = before
	d.uses = append(d.uses, u)
	return nil
}

// dfStageName is BuildKit's rule for stage names (instructions.validStageName).
var dfStageName = regexp.MustCompile(`^[a-z][a-z0-9-_.]*$`)

var (
	// ${NAME:-default}: the default is used when NAME is unset or empty.
	dfVarDefault = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*):-(.*)\}$`)
	dfVarWhole   = regexp.MustCompile(`^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$`)
	dfVarName    = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
)

// wordUse reads a FROM image word, ln.b[i:j], the way BuildKit's shell
// lexer will: wrapping quotes are dropped; a value with variables is
// classified for finish.
func (d *dockerfile) wordUse(ctx string, ln dfLine, i, j int) dfUse {
	raw := string(ln.b[i:j])
	u := dfUse{ctx: ctx}
	u.span, u.split = ln.srcSpan(i, j)
	u.text = raw
	// ${NAME:-default}: when no ARG gives NAME a default, the inline default
	// is the image, and pinning it there keeps --build-arg NAME=… working.
	// Other operators (${NAME-x}, ${NAME:+x}…) are rare and are skipped as
	// composed values.
	if m := dfVarDefault.FindStringSubmatchIndex(raw); m != nil {
		if s, e, ok := dfShellValue(raw[m[4]:m[5]], d.esc); ok && !strings.ContainsAny(raw[m[4]+s:m[4]+e], "${}") && e > s {
			u.varName = raw[m[2]:m[3]]
			u.inline = true
			u.word, u.wordText, u.wordSplit = u.span, u.text, u.split
			u.span, u.split = ln.srcSpan(i+m[4]+s, i+m[4]+e)
			u.text = raw[m[4]+s : m[4]+e]
			return u
		}
	}
	s, e, ok := dfShellValue(raw, d.esc)
	if !ok {
		u.skip = "quotes or escape characters inside the reference: pin it by hand"
		return u
	}
	if s > 0 {
		u.span, u.split = ln.srcSpan(i+s, i+e)
		u.text = raw[s:e]
		if raw[0] == '\'' && strings.Contains(u.text, "$") {
			u.skip = "'$' inside single quotes is not expanded, so this is not a valid reference"
			return u
		}
	}
	if !strings.Contains(u.text, "$") {
		return u
	}
	if m := dfVarWhole.FindStringSubmatch(u.text); m != nil {
		u.varName = m[1] + m[2]
		u.whole = true
		return u
	}
	for _, m := range dfVarName.FindAllStringSubmatch(u.text, -1) {
		if _, ok := d.composed[m[1]]; !ok {
			d.composed[m[1]] = u.text
		}
	}
	u.skip = dfComposedReason(u.text)
	return u
}

func dfComposedReason(text string) string {
	return fmt.Sprintf("composed from variables (%s): pinning it would override every --build-arg; "+
		"let one ARG hold the whole reference and pin that ARG's default instead", text)
}

// dfShellValue returns the part of a shell word that holds its value: the
// inside of wrapping quotes, or the whole word. ok is false when quotes or
// the escape character appear elsewhere, which BuildKit would remove: the
// value as written is then not the value it uses.
func dfShellValue(w string, esc byte) (start, end int, ok bool) {
	if len(w) >= 2 && (w[0] == '"' || w[0] == '\'') && w[len(w)-1] == w[0] {
		inner := w[1 : len(w)-1]
		if strings.IndexByte(inner, '"') < 0 && strings.IndexByte(inner, '\'') < 0 && strings.IndexByte(inner, esc) < 0 {
			return 1, len(w) - 1, true
		}
		return 0, 0, false
	}
	if strings.IndexByte(w, '"') >= 0 || strings.IndexByte(w, '\'') >= 0 || strings.IndexByte(w, esc) >= 0 {
		return 0, 0, false
	}
	return 0, len(w), true
}

// metaArg records ARG declarations before the first FROM.
func (d *dockerfile) metaArg(n *parser.Node, ln dfLine, in dfSplit) error {
	words := ln.words(in.argsStart, in.argsEnd, d.esc)
	var want, got []string
	for w := n.Next; w != nil; w = w.Next {
		want = append(want, w.Value)
	}
	for _, w := range words {
		got = append(got, w.check)
	}
	if !slices.Equal(got, want) {
		return dfInternalError(n.StartLine, "ARG words %q read as %q", want, got)
	}
	for _, w := range words {
		name, _, hasDefault := strings.Cut(w.check, "=")
		a := &dfArg{name: name, hasDefault: hasDefault}
		d.args[name] = append(d.args[name], a)
		if !hasDefault {
			continue
		}
		d.defaults[name]++
		raw := string(ln.b[w.start:w.end])
		eq := strings.IndexByte(raw, '=')
		if raw != w.check || eq < 0 {
			a.why = "is not plain text: pin it by hand"
			continue
		}
		d.argDefault(a, ln, w.start+eq+1, w.end)
	}
	return nil
}

// argDefault decides whether the default of a, ln.b[i:j], can be pinned in
// place, as BuildKit evaluates it: quotes removed, and ${X:-image} read as
// image when X has no value yet (X is usually a itself: ARG A=${A:-image}).
// A default given to X anywhere before the first FROM counts, even after
// this line: a conservative shortcut that keeps the check O(1).
func (d *dockerfile) argDefault(a *dfArg, ln dfLine, i, j int) {
	raw := string(ln.b[i:j])
	inline := false
	if m := dfVarDefault.FindStringSubmatchIndex(raw); m != nil {
		v := raw[m[2]:m[3]]
		if s, e, ok := dfShellValue(raw[m[4]:m[5]], d.esc); ok && !strings.ContainsAny(raw[m[4]+s:m[4]+e], "${}") &&
			(v == a.name || d.defaults[v] == 0) {
			i, j = i+m[4]+s, i+m[4]+e
			raw = raw[m[4]+s : m[4]+e]
			inline = true
		}
	}
	if !inline {
		s, e, ok := dfShellValue(raw, d.esc)
		if !ok {
			a.why = "has quotes or escape characters inside: pin it by hand"
			return
		}
		if s > 0 {
			quote := raw[0]
			i, j = i+s, i+e
			raw = raw[s:e]
			if quote == '\'' && strings.Contains(raw, "$") {
				a.why = "has '$' inside single quotes, which BuildKit does not expand"
				return
			}
		}
		if strings.Contains(raw, "$") {
			a.why = fmt.Sprintf("is composed from variables (%s): pinning it would override every --build-arg", raw)
			if !dfVarWhole.MatchString(raw) {
				for _, m := range dfVarName.FindAllStringSubmatch(raw, -1) {
					if _, ok := d.composed[m[1]]; !ok && m[1] != a.name {
						d.composed[m[1]] = raw
					}
				}
			}
			return
		}
	}
	if raw == "" {
		a.why = "is empty"
		a.empty = true
		return
	}
	var split bool
	a.span, split = ln.srcSpan(i, j)
	if split {
		a.why = "runs over a line continuation: join it to pin it"
		return
	}
	a.value = raw
}

// copyFrom records COPY --from=<image>.
func (d *dockerfile) copyFrom(ln dfLine, in dfSplit, onbuild bool) {
	ctx := dfCtxCopyFrom
	if onbuild {
		ctx = dfCtxOnbuildPfx + ctx
	}
	for _, f := range in.flags {
		if v, pos, ok := f.value("--from="); ok {
			d.uses = append(d.uses, d.flagUse(ctx, ln, v, pos, onbuild))
		}
	}
}

// runMounts records every RUN --mount=…,from=<image>.
func (d *dockerfile) runMounts(ln dfLine, in dfSplit, onbuild bool) {
	ctx := dfCtxMountFrom
	if onbuild {
		ctx = dfCtxOnbuildPfx + ctx
	}
	for _, f := range in.flags {
		v, pos, ok := f.value("--mount=")
		if !ok {
			continue
		}
		for _, fld := range dfCSVFields(v, pos) {
			key, val, ok := bytes.Cut(fld.b, []byte("="))
			if !ok || !strings.EqualFold(string(key), "from") {
				continue
			}
			vpos := fld.pos[len(key)+1:]
			if fld.bad {
				u := dfUse{ctx: ctx, text: string(val), skip: "quoted --mount field: pin it by hand"}
				if len(vpos) > 0 {
					u.span, _ = ln.srcSpan(vpos[0], vpos[len(vpos)-1]+1)
					d.uses = append(d.uses, u)
				}
				continue
			}
			d.uses = append(d.uses, d.flagUse(ctx, ln, val, vpos, onbuild))
		}
	}
}

// flagUse makes a use of a --from or from= value v, whose byte v[i] was
// written at ln.b[pos[i]] (flags lose their quotes and escapes to BuildKit).
func (d *dockerfile) flagUse(ctx string, ln dfLine, v []byte, pos []int, onbuild bool) dfUse {
	u := dfUse{ctx: ctx, text: string(v), stages: -1, onbuild: onbuild}
	if len(v) == 0 {
		return u
	}
	i, j := pos[0], pos[len(pos)-1]+1
	u.span, u.split = ln.srcSpan(i, j)
	if j-i != len(v) {
		// Quotes or escape characters inside the value.
		u.split = true
	}
	if bytes.IndexByte(v, '$') >= 0 {
		u.skip = fmt.Sprintf("BuildKit does not expand variables in %s (%s); name the image in a FROM stage instead", ctx, v)
	}
	return u
}

// syntaxDirective records the image of a `# syntax=` parser directive,
// found the way BuildKit's frontend finds it (first lines only, after an
// optional BOM and shebang).
func (d *dockerfile) syntaxDirective() error {
	p, _, loc, ok := parser.ParseDirective("syntax", d.src)
	if !ok || p == "" || len(loc) == 0 {
		return nil
	}
	n := loc[0].Start.Line
	b, off := d.lineBytes(n)
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if n == 1 && bytes.HasPrefix(b, dfBOM) {
		b, off = b[len(dfBOM):], off+len(dfBOM)
	}
	i := dfDirectiveValueStart(b)
	if i < 0 || !bytes.HasPrefix(b[i:], []byte(p)) {
		return dfInternalError(n, "syntax directive %q not found on its line", p)
	}
	d.refs = append(d.refs, Ref{Span: Span{off + i, off + i + len(p)}, Text: p, Context: dfCtxSyntax})
	return nil
}

var (
	dfBOM = []byte{0xEF, 0xBB, 0xBF}
	// BuildKit's directive pattern (parser.directiveRegexp).
	dfDirectiveRe = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)
)

// dfDirectiveValueStart returns where the value of a `#key=value` parser
// directive line starts, or -1. Like BuildKit's DirectiveParser, it drops
// the `#`, then any Unicode white space, then matches the key.
func dfDirectiveValueStart(b []byte) int {
	if len(b) == 0 || b[0] != '#' {
		return -1
	}
	i := len(b) - len(bytes.TrimLeftFunc(b[1:], unicode.IsSpace))
	m := dfDirectiveRe.FindSubmatchIndex(b[i:])
	if m == nil {
		return -1
	}
	return i + m[4]
}

// finish resolves the uses against stage names and meta ARGs and returns
// the references in file order.
func (d *dockerfile) finish() ([]Ref, error) {
	for _, u := range d.uses {
		d.resolve(u)
	}
	sort.SliceStable(d.refs, func(i, j int) bool { return d.refs[i].Span.Start < d.refs[j].Span.Start })
	end := 0
	for i := range d.refs {
		r := &d.refs[i]
		if r.Span.Start < end || r.Span.End < r.Span.Start || r.Span.End > len(d.src) {
			return nil, dfInternalError(0, "overlapping or invalid span for %q", r.Text)
		}
		end = r.Span.End
		r.Text = string(d.src[r.Span.Start:r.Span.End])
		r.Line, r.Column = d.lineCol(r.Span.Start)
	}
	return d.refs, nil
}

func (d *dockerfile) add(u dfUse, skip string) {
	if skip == "" && u.split {
		skip = "the reference is split by a line continuation or escape characters: join it to pin it"
	}
	d.refs = append(d.refs, Ref{Span: u.span, Skip: skip, Context: u.ctx})
}

// notImage reports whether value names no image: scratch, a stage, or a
// stage index.
func (d *dockerfile) notImage(u dfUse, value string) bool {
	if value == "" || strings.EqualFold(value, "scratch") {
		return true
	}
	if u.stages < 0 {
		if _, err := strconv.Atoi(value); err == nil {
			return true
		}
	}
	if u.onbuild && !strings.ContainsAny(value, ":/@") {
		// An ONBUILD trigger runs in a downstream build, whose stage names
		// are unknown here; a bare name may well be one of them.
		return true
	}
	i, ok := d.stageNames[strings.ToLower(value)]
	return ok && (u.stages < 0 || i < u.stages)
}

func (d *dockerfile) resolve(u dfUse) {
	switch {
	case u.skip != "":
		d.add(u, u.skip)
	case u.whole:
		d.resolveWhole(u)
	case u.inline:
		// A non-empty ARG default wins over the inline one, which is then
		// dead text: the use is then a use of the ARG as a whole.
		if decls := d.args[u.varName]; d.defaults[u.varName] > 0 && (len(decls) != 1 || !decls[0].empty) {
			u.span, u.text, u.split, u.whole = u.word, u.wordText, u.wordSplit, true
			d.resolveWhole(u)
			return
		}
		if !d.notImage(u, u.text) {
			d.add(u, "")
		}
	default:
		if !d.notImage(u, u.text) {
			d.add(u, "")
		}
	}
}

// resolveWhole handles FROM $NAME: the image is NAME's default, pinned in
// the ARG line when that is the only thing it can change.
func (d *dockerfile) resolveWhole(u dfUse) {
	name := u.varName
	decls := d.args[name]
	switch {
	case len(decls) == 0:
		d.add(u, fmt.Sprintf("%s is not an ARG declared before the first FROM, so BuildKit leaves it empty", u.text))
		return
	case len(decls) > 1:
		d.add(u, fmt.Sprintf("ARG %s is declared %d times before the first FROM: pin it by hand", name, len(decls)))
		return
	}
	a := decls[0]
	switch {
	case !a.hasDefault:
		d.add(u, fmt.Sprintf("ARG %s has no default: the image comes from --build-arg", name))
	case a.why != "":
		d.add(u, fmt.Sprintf("the default of ARG %s %s", name, a.why))
	case d.notImage(u, a.value):
	case d.composed[name] != "":
		d.add(u, fmt.Sprintf("ARG %s is also used in %s: pinning its default would corrupt that; pin by hand", name, d.composed[name]))
	case !a.emitted:
		a.emitted = true
		d.refs = append(d.refs, Ref{Span: a.span, Context: "ARG " + name})
	}
}
