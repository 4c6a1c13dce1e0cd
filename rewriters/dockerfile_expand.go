package rewriters

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Variable expansion in FROM, the way BuildKit's shell lexer does it, but
// keeping for every byte of the result where in the file it came from: a
// FROM word's own bytes, or the default of an ARG. BuildKit's own lexer
// (frontend/dockerfile/shell) gives the authoritative result; this mirror
// only adds the byte origins, and when the two disagree the origins are
// dropped (the ref is then read, but fix does not edit it).

// dfOrigin is one source of text: a FROM word or an ARG default, as a
// slice of an instruction joined over its continuation lines.
type dfOrigin struct {
	ln   dfLine
	decl int // index of the ARG declaration in dfEnv.decls; -1 for a FROM word
}

// dfText is expanded text with the origin of every byte: org[i] indexes
// dfEnv.origins (-1: unknown) and idx[i] is the byte's index in that
// origin's line.
type dfText struct {
	s   []byte
	org []int32
	idx []int32
}

func (t *dfText) add(o dfText) {
	t.s = append(t.s, o.s...)
	t.org = append(t.org, o.org...)
	t.idx = append(t.idx, o.idx...)
}

func (t *dfText) addByte(c byte, org, idx int) {
	t.s = append(t.s, c)
	t.org = append(t.org, int32(org))
	t.idx = append(t.idx, int32(idx))
}

func dfUnknown(s string) dfText {
	t := dfText{s: []byte(s), org: make([]int32, len(s)), idx: make([]int32, len(s))}
	for i := range t.org {
		t.org[i] = -1
	}
	return t
}

// home reports whether every byte of t[i:j] comes from one origin, in
// order and contiguous there (no quote or escape character skipped).
func (t dfText) home(i, j int) (org int, ok bool) {
	if i >= j || t.org[i] < 0 {
		return -1, false
	}
	for k := i + 1; k < j; k++ {
		if t.org[k] != t.org[i] || t.idx[k] != t.idx[k-1]+1 {
			return -1, false
		}
	}
	return int(t.org[i]), true
}

// dfValue is the value of a variable for FROM.
type dfValue struct {
	text dfText
	// whole: the value is one piece of text written in one place (an ARG
	// default with no variable, or a chain of whole references to one).
	whole bool
	decl  int   // the ARG declaration that set it; -1 for a platform ARG
	deps  []int // every ARG declaration its value was read from
	// external: set by BuildKit from the build (BUILDPLATFORM, TARGETARCH…),
	// not by the repository.
	external bool
}

// dfDecl is one ARG declaration before the first FROM.
type dfDecl struct {
	name       string
	hasDefault bool
	origin     int // index in dfEnv.origins of its default; -1 without one
	line       int
	// users are the refs (by key) whose expansion read this declaration;
	// otherDefault is set when another ARG's default reads it.
	users        map[string]bool
	otherDefault string
}

// dfEnv is the global scope of a Dockerfile as BuildKit builds it for
// FROM: BuildKit's platform ARGs, then the ARGs before the first FROM in
// order, each default expanded with the ones before it.
type dfEnv struct {
	esc     byte
	lex     *shell.Lex // BuildKit's lexer, reused: one per file
	vals    map[string]*dfValue
	decls   []*dfDecl
	origins []dfOrigin
}

// dfPlatformArgs are the ARGs BuildKit sets from the build's platforms.
var dfPlatformArgs = []string{"BUILDPLATFORM", "BUILDOS", "BUILDOSVERSION", "BUILDARCH", "BUILDVARIANT",
	"TARGETPLATFORM", "TARGETOS", "TARGETOSVERSION", "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE"}

func newDFEnv(esc byte) *dfEnv {
	return &dfEnv{esc: esc, vals: map[string]*dfValue{}}
}

// dfPlatformValue stands for a platform ARG the Dockerfile does not set.
var dfPlatformValue = &dfValue{decl: -1, external: true}

// val is the value of a variable for FROM: a global ARG's, or BuildKit's
// for a platform ARG (made only when read, to keep plain files cheap).
func (e *dfEnv) val(name string) (*dfValue, bool) {
	if v, ok := e.vals[name]; ok {
		return v, true
	}
	for _, p := range dfPlatformArgs {
		if p == name {
			return dfPlatformValue, true
		}
	}
	return nil, false
}

// lexer is BuildKit's lexer, made when a word first needs it.
func (e *dfEnv) lexer() *shell.Lex {
	if e.lex == nil {
		e.lex = shell.NewLex(rune(e.esc))
	}
	return e.lex
}

// Get and Keys make dfEnv a shell.EnvGetter for BuildKit's lexer. The
// platform ARGs get a placeholder value: a ref that uses one is skipped.
func (e *dfEnv) Get(name string) (string, bool) {
	v, ok := e.val(name)
	if !ok {
		return "", false
	}
	if v.external {
		return "${" + name + "}", true
	}
	return string(v.text.s), true
}

func (e *dfEnv) Keys() []string {
	keys := make([]string, 0, len(e.vals)+len(dfPlatformArgs))
	for k := range e.vals {
		keys = append(keys, k)
	}
	for _, p := range dfPlatformArgs {
		if _, ok := e.vals[p]; !ok {
			keys = append(keys, p)
		}
	}
	return keys
}

// dfExpansion is the result of expanding one word.
type dfExpansion struct {
	text  dfText
	whole bool
	deps  []int // ARG declarations read, in order, without repeats
	vars  []dfVarUse
	// external names a platform ARG the word uses; unset names a variable
	// used plainly ($X, ${X}) that has no value.
	external, unset string
	err             error
}

// dfVarUse is a variable a word reads, for the message.
type dfVarUse struct {
	name  string
	value string
	set   bool
}

// declare records an ARG before the first FROM. value is the default's
// bytes (nil: no default), as a slice of the instruction's line.
func (e *dfEnv) declare(name string, value *dfLine, line int) {
	d := &dfDecl{name: name, origin: -1, line: line, users: map[string]bool{}}
	e.decls = append(e.decls, d)
	di := len(e.decls) - 1
	if value == nil {
		// BuildKit keeps the value a variable already has.
		return
	}
	d.hasDefault = true
	d.origin = len(e.origins)
	e.origins = append(e.origins, dfOrigin{ln: *value, decl: di})
	x := e.expand(d.origin)
	for _, dep := range x.deps {
		if e.decls[dep].otherDefault == "" {
			e.decls[dep].otherDefault = "ARG " + name
		}
	}
	v := &dfValue{text: x.text, whole: x.whole, decl: di, deps: append(x.deps, di)}
	if x.err != nil || x.external != "" {
		// The value is not known from the repository.
		v.text = dfUnknown(string(x.text.s))
		v.whole = false
		v.external = x.external != "" || x.err != nil
	}
	e.vals[name] = v
}

// fromWord adds a FROM word as an origin and expands it.
func (e *dfEnv) fromWord(ln dfLine) (dfExpansion, int) {
	o := len(e.origins)
	e.origins = append(e.origins, dfOrigin{ln: ln, decl: -1})
	return e.expand(o), o
}

// expand expands origin o and checks the result against BuildKit's lexer.
func (e *dfEnv) expand(o int) dfExpansion {
	src := e.origins[o].ln.b
	if !utf8.Valid(src) {
		// BuildKit's lexer (text/scanner) complains on stderr and reads
		// replacement characters; no image name holds such bytes anyway.
		return dfExpansion{text: dfUnknown(""), err: dfErr("not valid UTF-8")}
	}
	if dfPlain(src, e.esc) {
		// Nothing to expand (most FROM words): the text is the word.
		both := make([]int32, 2*len(src))
		t := dfText{s: src, org: both[:len(src):len(src)], idx: both[len(src):]}
		for i := range src {
			t.org[i], t.idx[i] = int32(o), int32(i)
		}
		return dfExpansion{text: t, whole: len(src) > 0}
	}
	x := &dfExpander{env: e, src: src, org: o}
	text, whole, err := x.word(-1)
	exp := dfExpansion{text: text, whole: whole, deps: x.deps, vars: x.vars, external: x.external, unset: x.unset}
	res, lexErr := e.lexer().ProcessWordWithMatches(string(src), e)
	switch {
	case lexErr != nil:
		exp.err = lexErr
		exp.text = dfUnknown("")
		exp.whole = false
	case err != nil || res.Result != string(text.s):
		// The mirror disagrees with BuildKit: keep BuildKit's answer and
		// forget where the bytes came from.
		exp.text = dfUnknown(res.Result)
		exp.whole = false
	}
	return exp
}

// dfExpander mirrors BuildKit's shellWord (processStopOn, processDollar,
// processSingleQuote, processDoubleQuote) over one origin.
type dfExpander struct {
	env      *dfEnv
	src      []byte
	org      int
	pos      int
	deps     []int
	vars     []dfVarUse
	external string
	unset    string
}

func (x *dfExpander) peek() (rune, int) {
	if x.pos >= len(x.src) {
		return -1, 0
	}
	return utf8.DecodeRune(x.src[x.pos:])
}

// lit appends the bytes of the rune at x.pos to t and moves past it.
func (x *dfExpander) lit(t *dfText) {
	_, w := x.peek()
	for k := 0; k < w; k++ {
		t.addByte(x.src[x.pos+k], x.org, x.pos+k)
	}
	x.pos += w
}

type dfErr string

func (e dfErr) Error() string { return string(e) }

// word reads up to stop (-1: the end) and returns the text, and whether it
// is one piece written in one place (whole).
func (x *dfExpander) word(stop rune) (dfText, bool, error) {
	var t dfText
	parts, whole := 0, true
	literal := false // the last part is a literal run
	esc := rune(x.env.esc)
	for {
		ch, _ := x.peek()
		if ch < 0 {
			break
		}
		if stop >= 0 && ch == stop {
			x.pos++
			return t, parts == 1 && whole, nil
		}
		switch ch {
		case '$':
			v, w, err := x.dollar()
			if err != nil {
				return t, false, err
			}
			t.add(v)
			parts++
			whole = whole && w
			literal = false
		case '\'', '"':
			q, err := x.quoted(byte(ch))
			if err != nil {
				return t, false, err
			}
			// A quoted piece joins the literal run it follows; byte
			// contiguity (dfText.home) catches the skipped quotes.
			t.add(q.text)
			if !literal {
				parts++
				literal = true
			}
			whole = whole && q.whole
		case '<':
			// BuildKit looks for a heredoc here; leave that to it.
			return t, false, dfErr("heredoc syntax")
		default:
			if ch == esc {
				x.pos += utf8.RuneLen(esc)
				if c, _ := x.peek(); c < 0 {
					continue // an escape at the end is dropped
				}
			}
			x.lit(&t)
			if !literal {
				parts++
				literal = true
			}
		}
	}
	if stop >= 0 {
		return t, false, dfErr("missing " + string(stop))
	}
	return t, parts == 1 && whole, nil
}

type dfQuoted struct {
	text  dfText
	whole bool
}

func (x *dfExpander) quoted(q byte) (dfQuoted, error) {
	var r dfQuoted
	r.whole = true
	x.pos++ // the opening quote
	esc := rune(x.env.esc)
	for {
		ch, _ := x.peek()
		switch {
		case ch < 0:
			return r, dfErr("unterminated quote")
		case ch == rune(q):
			x.pos++
			return r, nil
		case q == '"' && ch == '$':
			v, _, err := x.dollar()
			if err != nil {
				return r, err
			}
			r.text.add(v)
			r.whole = false
		case q == '"' && ch == esc:
			next := x.pos + utf8.RuneLen(esc)
			if next >= len(x.src) {
				x.pos = next
				continue
			}
			if c, _ := utf8.DecodeRune(x.src[next:]); c == '"' || c == '$' || c == esc {
				x.pos = next
			}
			x.lit(&r.text)
		default:
			x.lit(&r.text)
		}
	}
}

// name mirrors processName.
func (x *dfExpander) name() string {
	start := x.pos
	for {
		ch, w := x.peek()
		if ch < 0 {
			break
		}
		if x.pos == start && unicode.IsDigit(ch) {
			for ch >= 0 && unicode.IsDigit(ch) {
				x.pos += w
				ch, w = x.peek()
			}
			break
		}
		if x.pos == start && strings.ContainsRune("@*#?-$!0", ch) {
			x.pos += w
			break
		}
		if !unicode.IsLetter(ch) && !unicode.IsDigit(ch) && ch != '_' {
			break
		}
		x.pos += w
	}
	return string(x.src[start:x.pos])
}

// lookup reads a variable, recording it for messages and for the
// declarations it depends on.
func (x *dfExpander) lookup(name string) (*dfValue, bool) {
	v, ok := x.env.val(name)
	use := dfVarUse{name: name, set: ok}
	if ok {
		use.value = string(v.text.s)
		if v.external && x.external == "" {
			x.external = name
		}
		for _, d := range v.deps {
			if !containsInt(x.deps, d) {
				x.deps = append(x.deps, d)
			}
		}
	}
	for _, u := range x.vars {
		if u.name == name {
			return v, ok
		}
	}
	x.vars = append(x.vars, use)
	return v, ok
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// dollar mirrors processDollar for $X, ${X}, ${X:-w}, ${X-w}, ${X:+w},
// ${X+w}, ${X:?w} and ${X?w}; other forms (${X#p}, ${X%p}, ${X/p/r}) are
// left to BuildKit (their bytes have no known origin).
func (x *dfExpander) dollar() (dfText, bool, error) {
	start := x.pos
	x.pos++ // $
	if c, _ := x.peek(); c != '{' {
		name := x.name()
		if name == "" {
			t := dfText{}
			t.addByte('$', x.org, start)
			return t, false, nil
		}
		return x.plain(name), x.wholeVar(name), nil
	}
	x.pos++ // {
	switch c, _ := x.peek(); c {
	case -1, '{', '}', ':':
		return dfText{}, false, dfErr("bad substitution")
	}
	name := x.name()
	op, _ := x.peek()
	if op < 0 {
		return dfText{}, false, dfErr("missing }")
	}
	x.pos++
	nullIsUnset := false
	if op == '}' {
		return x.plain(name), x.wholeVar(name), nil
	}
	if op == ':' {
		nullIsUnset = true
		op, _ = x.peek()
		x.pos++
	}
	switch op {
	case '-', '+', '?':
	default:
		// Leave the pattern forms to BuildKit: find the closing brace and
		// let its lexer evaluate this piece.
		depth := 1
		for x.pos < len(x.src) && depth > 0 {
			switch x.src[x.pos] {
			case '{':
				depth++
			case '}':
				depth--
			}
			x.pos++
		}
		piece := string(x.src[start:x.pos])
		if !utf8.ValidString(piece) {
			return dfText{}, false, dfErr("not valid UTF-8")
		}
		res, err := x.env.lexer().ProcessWordWithMatches(piece, x.env)
		if err != nil {
			return dfText{}, false, err
		}
		x.lookup(name)
		return dfUnknown(res.Result), false, nil
	}
	w, wWhole, err := x.word('}')
	if err != nil {
		return dfText{}, false, err
	}
	v, set := x.lookup(name)
	empty := set && len(v.text.s) == 0
	switch op {
	case '-':
		if !set || (nullIsUnset && empty) {
			return w, wWhole, nil
		}
		return v.text, v.whole, nil
	case '+':
		if !set || (nullIsUnset && empty) {
			return dfText{}, false, nil
		}
		return w, false, nil
	default: // '?'
		if !set || (nullIsUnset && empty) {
			return dfText{}, false, dfErr(name + ": " + string(w.s))
		}
		return v.text, v.whole, nil
	}
}

// plain is $X or ${X}: its value, or nothing when it has none.
func (x *dfExpander) plain(name string) dfText {
	v, ok := x.lookup(name)
	if !ok {
		if x.unset == "" {
			x.unset = name
		}
		return dfText{}
	}
	return v.text
}

func (x *dfExpander) wholeVar(name string) bool {
	v, ok := x.env.val(name)
	return ok && v.whole
}

// dfNote names the variables a composed ref reads and their values.
func dfNote(vars []dfVarUse) string {
	var b strings.Builder
	b.WriteString("ARG ")
	for i, v := range vars {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.name)
		if !v.set {
			b.WriteString(" unset")
			continue
		}
		b.WriteByte('=')
		if v.value == "" || strings.ContainsAny(v.value, " \t\"'\\") || !isPrintableASCII(v.value) {
			b.WriteString(strconv.Quote(v.value))
		} else {
			b.WriteString(v.value)
		}
	}
	return b.String()
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// dfPlain reports whether BuildKit's lexer would return src unchanged: no
// variable, quote, escape character or heredoc marker in it.
func dfPlain(src []byte, esc byte) bool {
	for _, c := range src {
		switch c {
		case '$', '\'', '"', '<', esc:
			return false
		}
	}
	return true
}
