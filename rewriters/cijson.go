package rewriters

// JSON helpers for the CI formats written in JSON (Cloud Build, buildx
// bake). hujson parses JSON (and JSON with comments and trailing commas)
// into a tree that keeps each value's byte offsets; a string's span is its
// bytes between the quotes, used only when those bytes are the value (no
// escapes).

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tailscale/hujson"
)

const skipJSONEscapes = "JSON string uses escapes; edit by hand"

// ciJSONParse parses src. base is the offset the tree's offsets are
// relative to (3 after a UTF-8 byte-order mark, which hujson refuses).
func ciJSONParse(src []byte) (root hujson.Value, base int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &ParseError{Msg: fmt.Sprintf("invalid JSON: parser failed: %v", r)}
		}
	}()
	if bytes.HasPrefix(src, yamlBOM) {
		base = len(yamlBOM)
	}
	if jsonNestedTooDeep(src[base:], maxYAMLDepth) {
		return hujson.Value{}, 0, &ParseError{Msg: fmt.Sprintf("JSON nested deeper than %d levels", maxYAMLDepth)}
	}
	root, err = hujson.Parse(src[base:])
	if err != nil {
		return hujson.Value{}, 0, &ParseError{Line: jsonErrLine(err), Msg: "invalid JSON: " + jsonErrMsg(err)}
	}
	return root, base, nil
}

// jsonNestedTooDeep reports whether brackets outside strings nest deeper
// than limit; hujson recurses once per level and sets no limit itself.
func jsonNestedTooDeep(src []byte, limit int) bool {
	depth := 0
	inStr := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > limit {
				return true
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return false
}

// jsonErrLine and jsonErrMsg split hujson's "hujson: line N, column M: msg".
func jsonErrLine(err error) int {
	var line, col int
	if _, e := fmt.Sscanf(err.Error(), "hujson: line %d, column %d:", &line, &col); e == nil {
		return line
	}
	return 0
}

func jsonErrMsg(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "hujson: line ") && i >= 0 {
		if j := strings.Index(msg[i+2:], ": "); j >= 0 {
			return msg[i+2+j+2:]
		}
	}
	return strings.TrimPrefix(msg, "hujson: ")
}

// ciJSONLookup returns the value of key in object v (the last one, as
// encoding/json keeps), or nil.
func ciJSONLookup(v *hujson.Value, key string) *hujson.Value {
	if v == nil {
		return nil
	}
	obj, ok := v.Value.(*hujson.Object)
	if !ok {
		return nil
	}
	var out *hujson.Value
	for i := range obj.Members {
		if lit, ok := obj.Members[i].Name.Value.(hujson.Literal); ok && lit.String() == key {
			out = &obj.Members[i].Value
		}
	}
	return out
}

// ciJSONMembers lists an object's members as name/value pairs.
func ciJSONMembers(v *hujson.Value) (names []string, vals []*hujson.Value) {
	if v == nil {
		return nil, nil
	}
	obj, ok := v.Value.(*hujson.Object)
	if !ok {
		return nil, nil
	}
	for i := range obj.Members {
		lit, ok := obj.Members[i].Name.Value.(hujson.Literal)
		if !ok {
			continue
		}
		names = append(names, lit.String())
		vals = append(vals, &obj.Members[i].Value)
	}
	return names, vals
}

// ciJSONRef makes a Ref of the string value v found at context; ok is false
// when v is not a string, is empty, or lacks the required prefix.
func ciJSONRef(src []byte, base int, v *hujson.Value, context, prefix, ci string) (Ref, bool) {
	lit, isLit := v.Value.(hujson.Literal)
	if !isLit || lit.Kind() != '"' {
		return Ref{}, false
	}
	val := lit.String()
	if !strings.HasPrefix(val, prefix) || strings.TrimSpace(val[len(prefix):]) == "" {
		return Ref{}, false
	}
	start, end := base+v.StartOffset+1, base+v.EndOffset-1
	if start > end || end > len(src) {
		return Ref{}, false
	}
	r := Ref{Span: Span{start, end}, Context: context}
	if string(src[start:end]) != val {
		r.Skip = skipJSONEscapes
		if bytes.HasPrefix(src[start:end], []byte(prefix)) {
			r.Span.Start += len(prefix)
		}
		return r, true
	}
	r.Span.Start += len(prefix)
	text := val[len(prefix):]
	if r.Skip = ciSkipVariables(text, ci); r.Skip == "" {
		r.pin = spanPin(r.Span, text)
	}
	return r, true
}
