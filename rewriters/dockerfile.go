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

	"github.com/digestbot/digestbot/pkg/imgref"
)

// dockerfileFormat is the Dockerfile format (DESIGN.md "What is an image
// reference": Dockerfile).
type dockerfileFormat struct{}

func (dockerfileFormat) Kind() Kind                 { return Dockerfile }
func (dockerfileFormat) Candidate(path string) bool { return isDockerfileName(path) }
func (dockerfileFormat) Claim(*File) bool           { return true }

// Find returns the image references of a Dockerfile: FROM images,
// COPY --from and RUN --mount=…,from= images, the `# syntax=` directive's
// image, and ARG defaults that a FROM uses as its whole image. A FROM
// composed from ARGs is a composed ref (Composed, Expanded, Note), expanded
// as BuildKit expands it for FROM: with the ARGs declared before the first
// FROM only.
//
// BuildKit's parser decides what the instructions are (continuations,
// comments inside them, the escape directive, heredocs); it gives no
// columns, so each instruction BuildKit reports is joined again from the
// raw lines here, keeping the source offset of every byte (dockerfile_lex.go).
// The joined text must equal the parser's Node.Original and the words must
// equal the parser's, so a disagreement is reported as an error instead of
// becoming a wrong span.
func (dockerfileFormat) Find(f *File) ([]Ref, error) {
	src := f.Src
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
// or mount from= value. It is resolved in finish, once every stage name is
// known.
type dfUse struct {
	ctx string
	// text is the value as written (logical: continuations joined), offs
	// the file offset of each of its bytes; offs is nil when the value
	// cannot be located byte for byte (quotes or escapes inside it).
	text string
	offs []int
	span Span // the value's bytes in src
	// skip, when set, is already decided.
	skip string
	// stages is how many stages precede the use, for FROM, which can only
	// name earlier stages; -1 for --from and mounts, which BuildKit looks up
	// among all stages.
	stages  int
	onbuild bool
	// For FROM: the word expanded with the global ARGs.
	from bool
	exp  dfExpansion
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
	env        *dfEnv
}

func newDockerfile(src []byte, esc rune) *dockerfile {
	d := &dockerfile{
		src:        src,
		esc:        byte(esc),
		stageNames: map[string]int{},
		env:        newDFEnv(byte(esc)),
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

// dfStageName is BuildKit's rule for stage names (instructions.validStageName).
var dfStageName = regexp.MustCompile(`^[a-z][a-z0-9-_.]*$`)

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
	sp := Span{off + i, off + i + len(p)}
	d.refs = append(d.refs, Ref{Span: sp, Text: p, Context: dfCtxSyntax, pin: spanPin(sp, p)})
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
	i, j := words[0][0], words[0][1]
	u := dfUse{ctx: dfCtxFrom, stages: before, from: true}
	// The ref as written: the word without wrapping quotes.
	if j-i >= 2 && (ln.b[i] == '"' || ln.b[i] == '\'') && ln.b[j-1] == ln.b[i] {
		u.text, u.span = string(ln.b[i+1:j-1]), dfRawSpan(ln, i+1, j-1)
	} else {
		u.text, u.span = string(ln.b[i:j]), dfRawSpan(ln, i, j)
	}
	u.exp, _ = d.env.fromWord(ln.slice(i, j))
	d.uses = append(d.uses, u)
	return nil
}

// dfRawSpan is the file span of ln.b[i:j] (which may run over line
// continuations); an empty span at its position when i >= j.
func dfRawSpan(ln dfLine, i, j int) Span {
	if i >= j {
		if i < len(ln.off) {
			return Span{ln.off[i], ln.off[i]}
		}
		if len(ln.off) > 0 {
			e := ln.off[len(ln.off)-1] + 1
			return Span{e, e}
		}
		return Span{}
	}
	return Span{ln.off[i], ln.off[j-1] + 1}
}

// metaArg records ARG declarations before the first FROM: the global
// scope every FROM is expanded with.
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
		name, value, hasDefault := strings.Cut(w.check, "=")
		if !hasDefault {
			d.env.declare(name, nil, n.StartLine)
			continue
		}
		raw := ln.b[w.start:w.end]
		eq := bytes.IndexByte(raw, '=')
		if string(raw) != w.check || eq < 0 {
			// BuildKit read other bytes than the file holds (invalid
			// UTF-8): the value is known, its bytes are not.
			v := dfLine{b: []byte(value), off: make([]int, len(value))}
			for k := range v.off {
				v.off[k] = -1
			}
			d.env.declare(name, &v, n.StartLine)
			continue
		}
		v := ln.slice(w.start+eq+1, w.end)
		d.env.declare(name, &v, n.StartLine)
	}
	return nil
}

// flagUse makes a use of a --from or from= value v, whose byte v[i] was
// written at ln.b[pos[i]] (flags lose their quotes and escapes to BuildKit).
func (d *dockerfile) flagUse(ctx string, ln dfLine, v []byte, pos []int, onbuild bool) dfUse {
	u := dfUse{ctx: ctx, text: string(v), stages: -1, onbuild: onbuild}
	if len(v) == 0 {
		return u
	}
	u.span = dfRawSpan(ln, pos[0], pos[len(pos)-1]+1)
	located := true
	for k := 1; k < len(pos); k++ {
		if pos[k] != pos[k-1]+1 {
			located = false // a quote or escape character was removed
		}
	}
	if located {
		u.offs = make([]int, len(pos))
		for k, p := range pos {
			u.offs[k] = ln.off[p]
		}
	} else {
		// The ref as written, quotes and escapes included.
		u.text = string(ln.b[pos[0] : pos[len(pos)-1]+1])
	}
	if bytes.IndexByte(v, '$') >= 0 {
		u.skip = fmt.Sprintf("BuildKit does not expand variables in %s (%s); name the image in a FROM stage instead", ctx, v)
	}
	return u
}

// finish resolves the uses against stage names and the global ARGs and
// returns the references in file order.
func (d *dockerfile) finish() ([]Ref, error) {
	// Every use of a FROM reads some ARG declarations; an edit to an ARG's
	// default is safe only when all of them are the same ref.
	for k, u := range d.uses {
		if !u.from {
			continue
		}
		for _, dep := range u.exp.deps {
			d.env.decls[dep].users[d.useKey(k)] = true
		}
	}
	var argRefs map[Span]bool // made only when a ref is homed in an ARG
	for k, u := range d.uses {
		r, ok := d.resolve(k, u)
		if !ok {
			continue
		}
		if r.Context != u.ctx {
			// Only a ref homed in an ARG can be reached twice (FROM $B
			// in two stages): it is returned once.
			if argRefs == nil {
				argRefs = map[Span]bool{}
			}
			if argRefs[r.Span] {
				continue
			}
			argRefs[r.Span] = true
		}
		d.refs = append(d.refs, r)
	}
	sort.SliceStable(d.refs, func(i, j int) bool { return d.refs[i].Span.Start < d.refs[j].Span.Start })
	end := 0
	for i := range d.refs {
		r := &d.refs[i]
		if r.Span.Start < end || r.Span.End < r.Span.Start || r.Span.End > len(d.src) {
			return nil, dfInternalError(0, "overlapping or invalid span for %q", r.Text)
		}
		end = r.Span.End
		r.Line, r.Column = d.lineCol(r.Span.Start)
	}
	return d.refs, nil
}

// useKey names the ref a use becomes, for the users of ARG declarations:
// uses that end up as the same ref (FROM $B twice) share a key.
func (d *dockerfile) useKey(k int) string {
	u := d.uses[k]
	if o, a, b, ok := d.home(u); ok {
		ln := d.env.origins[o].ln
		s := dfRawSpan(ln, a, b)
		return fmt.Sprintf("%d-%d", s.Start, s.End)
	}
	return fmt.Sprintf("%d-%d", u.span.Start, u.span.End)
}

// home reports whether a FROM use's image is one piece of text written in
// one place (the FROM word, or one ARG default): origin o, bytes [a, b) of
// its line.
func (d *dockerfile) home(u dfUse) (o, a, b int, ok bool) {
	t := u.exp.text
	if !u.exp.whole || len(t.s) == 0 {
		return 0, 0, 0, false
	}
	o, ok = t.home(0, len(t.s))
	if !ok {
		return 0, 0, 0, false
	}
	a, b = int(t.idx[0]), int(t.idx[len(t.idx)-1])+1
	for _, off := range d.env.origins[o].ln.off[a:b] {
		if off < 0 {
			return 0, 0, 0, false
		}
	}
	return o, a, b, true
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

// resolve turns use k into its ref; false when it names no image.
func (d *dockerfile) resolve(k int, u dfUse) (Ref, bool) {
	r := Ref{Span: u.span, Text: u.text, Context: u.ctx}
	if !u.from {
		switch {
		case u.skip != "":
			r.Skip = u.skip
		case d.notImage(u, u.text):
			return r, false
		case u.offs == nil:
			r.Skip = "quotes or escape characters inside the reference: pin it by hand"
		default:
			offs := u.offs
			r.pin = mappedPin(u.text, func(i int) int { return offs[i] })
		}
		return r, true
	}
	x := u.exp
	value := string(x.text.s)
	switch {
	case x.err != nil:
		r.Skip = fmt.Sprintf("BuildKit cannot expand it: %v", x.err)
		return r, true
	case x.external != "":
		r.Skip = fmt.Sprintf("uses %s, which BuildKit sets from the build's platform: the image depends on the build", x.external)
		return r, true
	case x.unset != "":
		r.Skip = d.unsetReason(x.unset)
		return r, true
	case value == "":
		r.Skip = "expands to an empty name, which BuildKit refuses"
		return r, true
	case d.notImage(u, value):
		return r, false
	}
	if o, a, b, ok := d.home(u); ok {
		org := d.env.origins[o]
		ln := org.ln
		r.Text, r.Span = string(ln.b[a:b]), dfRawSpan(ln, a, b)
		if len(x.vars) == 0 && strings.Contains(r.Text, "$") {
			r.Skip = "'$' inside single quotes is not expanded, so this is not a valid reference"
			return r, true
		}
		off := func(i int) int { return ln.off[a+i] }
		if org.decl < 0 {
			r.pin = mappedPin(r.Text, off)
			return r, true
		}
		decl := d.env.decls[org.decl]
		r.Context = "ARG " + decl.name
		key := d.useKey(k)
		pin := mappedPin(r.Text, off)
		r.pin = func(digest string) ([]Edit, error) {
			if why := d.shared(decl, key); why != "" {
				return nil, fmt.Errorf("%w: %s", ErrCannotPin, why)
			}
			return pin(digest)
		}
		return r, true
	}
	if len(x.vars) == 0 {
		r.Skip = "quotes or escape characters inside the reference: pin it by hand"
		return r, true
	}
	r.Expanded, r.Composed, r.Note = value, true, dfNote(x.vars)
	key := d.useKey(k)
	text := r.Text
	r.pin = func(digest string) ([]Edit, error) { return d.composedPin(x, text, key, digest) }
	return r, true
}

// unsetReason says why a FROM that reads a variable with no value is
// skipped.
func (d *dockerfile) unsetReason(name string) string {
	for _, decl := range d.env.decls {
		if decl.name == name {
			return fmt.Sprintf("ARG %s has no default: the image comes from --build-arg", name)
		}
	}
	return fmt.Sprintf("%s is not an ARG declared before the first FROM, so BuildKit leaves it empty", name)
}

// shared says why the default of decl cannot be edited for the ref key:
// another ref or another ARG's default reads it too.
func (d *dockerfile) shared(decl *dfDecl, key string) string {
	if decl.otherDefault != "" {
		return fmt.Sprintf("ARG %s (line %d) is also read by %s: a digest in its default would change that too; give this image an ARG of its own", decl.name, decl.line, decl.otherDefault)
	}
	for k := range decl.users {
		if k != key {
			return fmt.Sprintf("ARG %s (line %d) is read by more than one FROM: a digest in its default would change all of them; give each image an ARG of its own", decl.name, decl.line)
		}
	}
	return ""
}

// composedPin refreshes the digest of a composed ref where the file gives
// the digest a home of its own: a literal @sha256:… after the variables,
// or an ARG whose default holds the digest. A composed tag without a
// digest is not pinnable: a digest appended to it would override every
// --build-arg.
func (d *dockerfile) composedPin(x dfExpansion, text, key, digest string) ([]Edit, error) {
	exp := string(x.text.s)
	p, err := imgref.Parse(exp)
	if err != nil {
		return nil, fmt.Errorf("%w: %s expands to %s: %v", ErrCannotPin, text, exp, err)
	}
	names := make([]string, 0, len(x.vars))
	for _, v := range x.vars {
		names = append(names, v.name)
	}
	if p.Digest == "" {
		return nil, fmt.Errorf("%w: %s is composed from ARG %s and has no digest of its own to refresh; a digest written after it would override every --build-arg %s=…; "+
			"to pin it, let one ARG hold the whole reference (ARG IMAGE=%s, then FROM ${IMAGE})",
			ErrCannotPin, text, strings.Join(names, ", "), names[0], exp)
	}
	if p.Tag == "" {
		return nil, fmt.Errorf("%w: %s has a digest and no tag to refresh", ErrCannotPin, text)
	}
	at := strings.LastIndexByte(exp, '@')
	o, ok := x.text.home(at+1, len(exp))
	if !ok {
		return nil, fmt.Errorf("%w: the digest of %s is not written in one place; write it as a literal @sha256:… after the variables, or in an ARG of its own", ErrCannotPin, text)
	}
	ln := d.env.origins[o].ln
	a, b := int(x.text.idx[at+1]), int(x.text.idx[len(exp)-1])+1
	start, end := ln.off[a], ln.off[b-1]+1
	if start < 0 || end-start != b-a {
		return nil, fmt.Errorf("%w: the digest of %s is split across lines; join it onto one line", ErrCannotPin, text)
	}
	if decl := d.env.origins[o].decl; decl >= 0 {
		if why := d.shared(d.env.decls[decl], key); why != "" {
			return nil, fmt.Errorf("%w: %s", ErrCannotPin, why)
		}
	}
	return []Edit{{Span: Span{start, end}, New: digest}}, nil
}
