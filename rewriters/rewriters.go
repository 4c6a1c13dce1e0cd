// Package rewriters finds container image references in files as exact byte
// spans and gives, for each, the byte edits that pin it, changing no other
// byte.
//
// Each supported format lives in its own file behind the Format interface
// (format.go), listed once in formats.
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
	// Expanded, when set, is the reference to parse and resolve instead of
	// Text: a composed ref with its variables expanded, or the parts of a
	// ref split over keys (kustomize, Helm) composed as image:tag[@digest].
	Expanded string
	// Composed is true when Text holds variables whose values the
	// repository gives (ARG defaults, ${VAR:-d}, .env); Expanded holds the
	// result. pins.composed: skip turns such refs into skipped.
	Composed bool
	// Note is added to the finding's message: the variables and their
	// values, a tag named in a comment, "the chart has no digest key"…
	Note string
	// Overrides, when set, is the image name whose tag this ref replaces in
	// other files of the tree (a kustomization's images[].name).
	Overrides string
	// OverridesKinds are the kinds of files the override reaches (a
	// kustomization rewrites Kubernetes manifests, never a Dockerfile);
	// empty means every kind.
	OverridesKinds []Kind

	// pin returns the edits that pin this ref at an already validated
	// digest; nil means the ref cannot be pinned (see Pin).
	pin func(digest string) ([]Edit, error)
}

// formats is the claim order: the first format to claim a file wins.
// Adding a format is one line here.
var formats = []Format{
	dockerfileFormat{},
	helmFormat{},
	gitlabFormat{},
	// CI formats are claimed by their specific paths, before compose: a
	// Woodpecker or Drone 0.8 file has a services: mapping of images.
	circleciFormat{},
	cloudbuildFormat{},
	bitbucketFormat{},
	droneFormat{},
	woodpeckerFormat{},
	azureFormat{},
	bakeFormat{},
	githubActions{}, // before compose and Kubernetes: a workflow can embed either's keys
	kustomize{},     // before Kubernetes: a kustomization has apiVersion and kind
	devcontainer{},
	composeFormat{},
	dotenvFormat{},
	kubernetesFormat{},
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
