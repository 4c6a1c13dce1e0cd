// Package rewriters finds container image references in files as exact byte
// spans and splices replacements into those spans, changing no other byte.
//
// Each supported format lives in its own file behind the Rewriter interface.
// Parsers are used only to locate spans; nothing is ever re-serialised. This
// package must not import network code (enforced by depcheck_test.go), so it
// can run on untrusted input with no side effects.
package rewriters

import (
	"fmt"
	"path"
	"strings"
)

// Kind names a file format. The values are part of the JSON contract.
type Kind string

// The formats digestbot understands.
const (
	Dockerfile Kind = "dockerfile"
	Compose    Kind = "compose"
	Kubernetes Kind = "kubernetes"
)

// Span is a half-open byte range [Start, End) in a file.
type Span struct {
	Start, End int
}

// Ref is one image reference found in a file.
type Ref struct {
	// Span locates Text in the file; replacing exactly these bytes pins the
	// reference. For a reference that comes from a default (a Dockerfile ARG,
	// a compose ${VAR:-default}) the span is the default's text.
	Span Span
	// Line and Column are 1-based and point at Span.Start; Column counts bytes.
	Line, Column int
	// Text is the reference exactly as written: src[Span.Start:Span.End].
	Text string
	// Skip, when not empty, says why this reference cannot be resolved or
	// must not be rewritten (a variable, built locally, a template…).
	Skip string
	// Context says where the reference was found, for messages: "FROM",
	// "COPY --from", "syntax", "ARG BASE", "services.web.image", "containers[0].image"…
	Context string
}

// Rewriter finds image references in one file format.
type Rewriter interface {
	// Kind names the format.
	Kind() Kind
	// Find returns the references in src ordered by Span.Start, with
	// non-overlapping spans. A reference reached more than once (a YAML
	// alias, an ARG used by two FROMs) is returned once. An error means the
	// file could not be parsed; such a file must be left untouched.
	Find(src []byte) ([]Ref, error)
}

// ForKind returns the rewriter for a format, or nil.
func ForKind(k Kind) Rewriter {
	switch k {
	case Dockerfile:
		return dockerfileRewriter{}
	case Compose:
		return composeRewriter{}
	case Kubernetes:
		return kubernetesRewriter{}
	}
	return nil
}

// Candidate reports whether a file's name alone makes it worth reading: a
// Dockerfile by name, or YAML that may be compose or Kubernetes. Only
// candidates are ever opened, which keeps scans of large trees cheap.
func Candidate(name string) bool {
	return isDockerfileName(name) || isYAMLName(name)
}

// Classify tells which format a candidate file is, from its name and, for
// YAML, its content. It returns "" when the file holds nothing digestbot
// understands (plain YAML that is neither compose nor Kubernetes).
func Classify(name string, src []byte) Kind {
	switch {
	case isDockerfileName(name):
		return Dockerfile
	case isComposeName(name):
		return Compose
	case isYAMLName(name):
		if looksLikeKubernetes(src) {
			return Kubernetes
		}
		if looksLikeCompose(src) {
			return Compose
		}
	}
	return ""
}

func isDockerfileName(name string) bool {
	base := path.Base(name)
	lower := strings.ToLower(base)
	switch {
	case lower == "dockerfile", lower == "containerfile":
		return true
	case strings.HasSuffix(lower, ".dockerfile"), strings.HasSuffix(lower, ".containerfile"):
		return true
	case strings.HasPrefix(lower, "dockerfile."), strings.HasPrefix(lower, "containerfile."):
		return true
	}
	return false
}

func isYAMLName(name string) bool {
	lower := strings.ToLower(path.Base(name))
	return strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml")
}

func isComposeName(name string) bool {
	lower := strings.ToLower(path.Base(name))
	if !isYAMLName(lower) {
		return false
	}
	return lower == "compose.yaml" || lower == "compose.yml" ||
		strings.HasPrefix(lower, "compose.") || strings.HasPrefix(lower, "docker-compose")
}

// ParseError is returned by Find when a file cannot be parsed.
type ParseError struct {
	Line int // 1-based; 0 when unknown
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}
