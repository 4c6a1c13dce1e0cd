package rewriters

// devcontainer: the top-level "image" of .devcontainer.json,
// .devcontainer/devcontainer.json and .devcontainer/<name>/devcontainer.json.
//
// The file is JSON with comments and trailing commas (JSONC). It is parsed
// with github.com/tailscale/hujson, which keeps every value's byte offsets;
// nothing is re-serialised. "features" keys are OCI artifacts (feature
// packages), not container images, and are left alone; so are the images
// of build- or compose-based configs, which live in their Dockerfile or
// compose file (scanned as such). A top-level "image" beside a Dockerfile
// (build.dockerfile, dockerFile) is not used by the devcontainer CLI: it
// is reported, skipped with that reason, and never pinned. A value
// holding ${…} (${localEnv:…}, ${templateOption:…}) is substituted by the
// devcontainer tooling: skipped.

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strconv"

	"github.com/tailscale/hujson"
)

// Devcontainer is the kind of devcontainer.json files.
const Devcontainer Kind = "devcontainer"

const (
	skipDevcontainerVariable = "devcontainer variable (${…}): substituted by the devcontainer tooling"

	// maxJSONDepth bounds nesting: the parser recurses once per level, and
	// real devcontainer files nest a handful of levels.
	maxJSONDepth = 1000
)

type devcontainer struct{}

func (devcontainer) Kind() Kind { return Devcontainer }

func (devcontainer) Candidate(p string) bool {
	if path.Base(p) == ".devcontainer.json" {
		return true
	}
	if path.Base(p) != "devcontainer.json" {
		return false
	}
	dir := path.Dir(p)
	return path.Base(dir) == ".devcontainer" || path.Base(path.Dir(dir)) == ".devcontainer"
}

func (devcontainer) Claim(*File) bool { return true }

// Find returns the top-level "image" of f.
func (devcontainer) Find(f *File) (refs []Ref, err error) {
	src := f.Src
	base := 0
	if bytes.HasPrefix(src, yamlBOM) {
		base = len(yamlBOM)
	}
	if jsonDepthExceeds(src[base:], maxJSONDepth) {
		return nil, &ParseError{Msg: "JSON nested deeper than " + strconv.Itoa(maxJSONDepth) + " levels"}
	}
	defer func() {
		if r := recover(); r != nil {
			refs, err = nil, &ParseError{Msg: fmt.Sprintf("invalid JSONC: parser failed: %v", r)}
		}
	}()
	v, err := hujson.Parse(src[base:])
	if err != nil {
		return nil, jsoncParseError(err)
	}
	obj, ok := v.Value.(*hujson.Object)
	if !ok {
		return nil, nil
	}
	unused, note := devcontainerImageUse(obj)
	for _, m := range obj.Members {
		name, ok := m.Name.Value.(hujson.Literal)
		if !ok || name.String() != "image" {
			continue
		}
		lit, ok := m.Value.Value.(hujson.Literal)
		if !ok || lit.Kind() != '"' {
			continue
		}
		val := lit.String()
		if val == "" {
			continue
		}
		sp := Span{base + m.Value.StartOffset + 1, base + m.Value.EndOffset - 1}
		r := Ref{Span: sp, Context: "image", Note: note}
		switch {
		case unused != "":
			r.Skip = unused
		case string(src[sp.Start:sp.End]) != val:
			r.Skip = skipJSONEscapes
		case bytes.Contains([]byte(val), []byte("${")):
			r.Skip = skipDevcontainerVariable
		}
		refs = append(refs, r)
	}
	return yamlSpanPins(yamlFinishRefs(src, refs)), nil
}

// devcontainerImageUse says whether the devcontainer CLI runs the
// top-level image. It picks the kind of config by which keys are there
// (devcontainers/cli: isDockerFileConfig, then "image", then
// "dockerComposeFile"): a Dockerfile (build.dockerfile, or the legacy
// dockerFile) wins over image, so then the image is not used and unused
// says why. With dockerComposeFile beside image, `devcontainer up` runs the
// image but `devcontainer build` builds the compose service: the image is
// used (and pinned) and note says so. As in JavaScript, a key given twice
// counts once and the last "build" is the one read.
func devcontainerImageUse(obj *hujson.Object) (unused, note string) {
	var legacy, build, compose bool
	for _, m := range obj.Members {
		name, ok := m.Name.Value.(hujson.Literal)
		if !ok {
			continue
		}
		switch name.String() {
		case "dockerFile":
			legacy = true
		case "dockerComposeFile":
			compose = true
		case "build":
			build = false
			if b, ok := m.Value.Value.(*hujson.Object); ok {
				for _, bm := range b.Members {
					if n, ok := bm.Name.Value.(hujson.Literal); ok && n.String() == "dockerfile" {
						build = true
					}
				}
			}
		}
	}
	switch {
	case build:
		return "not used: build.dockerfile is set, so the devcontainer CLI builds the image from the Dockerfile (pinned there) and ignores \"image\"; remove \"image\" or the build", ""
	case legacy:
		return "not used: dockerFile is set, so the devcontainer CLI builds the image from the Dockerfile (pinned there) and ignores \"image\"; remove \"image\" or dockerFile", ""
	case compose:
		return "", "dockerComposeFile is set too: `devcontainer up` runs this image, but `devcontainer build` builds the compose service; keep one of them"
	}
	return "", ""
}

var jsoncErrRe = regexp.MustCompile(`^hujson: line (\d+), column \d+: (.*)$`)

func jsoncParseError(err error) *ParseError {
	if m := jsoncErrRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ParseError{Line: line, Msg: "invalid JSONC: " + m[2]}
	}
	return &ParseError{Msg: "invalid JSONC: " + err.Error()}
}

// jsonDepthExceeds reports whether brackets outside strings and comments
// nest deeper than max. It only counts; hujson does the parsing.
func jsonDepthExceeds(src []byte, max int) bool {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"':
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			} else if i+1 < len(src) && src[i+1] == '*' {
				end := bytes.Index(src[i+2:], []byte("*/"))
				if end < 0 {
					return false
				}
				i += end + 3
			}
		case '{', '[':
			if depth++; depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}
