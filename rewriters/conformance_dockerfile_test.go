package rewriters

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/imgref"
)

// dfRenovateCase is one case of shared/conformance/renovate/*.json (see the
// README there). The data is read from the shared folder, never copied into
// this repository: its licence differs.
type dfRenovateCase struct {
	Name     string          `json:"name"`
	Input    string          `json:"input"`
	Expected []dfRenovateDep `json:"expected"`
}

type dfRenovateDep struct {
	Image  *string `json:"image"`
	Tag    *string `json:"tag"`
	Digest *string `json:"digest"`
	Skip   *string `json:"skip"`
}

func (e dfRenovateDep) String() string {
	s := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	if e.Skip != nil {
		return "skip(" + *e.Skip + ")"
	}
	return s(e.Image) + " " + s(e.Tag) + " " + s(e.Digest)
}

// dockerfileRenovateExceptions lists the Renovate cases where digestbot
// deliberately differs, each with the reason and what digestbot returns
// instead: the text of each ref in order, "skip:" before skipped ones.
var dockerfileRenovateExceptions = map[string]struct {
	reason string
	want   []string
}{
	// A FROM only sees ARGs declared before the first FROM (BuildKit's
	// global scope); an ARG inside a stage does not change a later FROM.
	// digestbot follows BuildKit: the second FROM $base still uses
	// nginx:1.19, which is pinned once, in the ARG line. Renovate uses the
	// latest value before each FROM.
	"handles FROM with overwritten ARG value": {"BuildKit: a stage ARG does not reach a later FROM",
		[]string{"nginx:1.19"}},
	// Same rule: nginx_version is declared after the first FROM, so BuildKit
	// leaves $nginx_version empty in FROM (the build fails); digestbot
	// reports it skipped. The ARG-sourced alpine ref is reported in its ARG
	// line (same image, tag and digest as Renovate's).
	"extracts images from multi-line ARG statements": {"BuildKit: an ARG declared after the first FROM is not visible to FROM",
		[]string{"alpine:3.15.4", "skip:$nginx_version"}},
	"handles an alternative escape character": {"BuildKit: an ARG declared after the first FROM is not visible to FROM",
		[]string{"docker/dockerfile:1", "alpine:3.15.4", "skip:$nginx_version", "image5", "image12"}},
	// BuildKit reads `ARG LINUX_VERSION ubuntu16.04` as two ARGs declared
	// without defaults (it takes several ARGs per line), so LINUX_VERSION
	// has no value in the repository: the ref is skipped, where Renovate
	// reads the whitespace form as a default.
	"handles FROM with multiple ARG values": {"BuildKit: `ARG A b` declares two ARGs without defaults",
		[]string{"skip:nvidia/cuda:${CUDA}-devel-${LINUX_VERSION}"}},
	// BuildKit joins `FROM\` and `nginx:1.20` into the single word
	// `FROMnginx:1.20` (the escape directive is not honoured after a
	// comment, so \ continues the line, and the continuation keeps no
	// space): an unknown instruction, which BuildKit ignores.
	"ignores parser directives in wrong order": {"BuildKit reads FROM\\<newline>nginx:1.20 as one unknown word", nil},
	// digestbot reports the reference as written; imgref rejects upper-case
	// repository paths (as the distribution grammar and Docker do), so the
	// plan reports it as an error to fix. Renovate accepts it.
	"handles empty optional parameters": {"upper-case repository path: found, then rejected by imgref.Parse as Docker rejects it",
		[]string{"quay.io/myName/myPackage:0.6.2"}},
}

// dfRenovateDepName applies the one rule by which Renovate's `image` (its
// display name, depName) differs from the name as written (see the data's
// README): it drops a leading amd64/, arm64/ or library/ path segment and
// the port of quay.io. digestbot keeps and resolves the name as written.
func dfRenovateDepName(name string) string {
	for _, p := range []string{"amd64/", "arm64/", "library/"} {
		name = strings.TrimPrefix(name, p)
	}
	if host, rest, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(host, "quay.io:") {
		name = "quay.io/" + rest
	}
	return name
}

func TestDockerfileRenovateConformance(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "shared", "conformance", "renovate", "dockerfile.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no conformance data: %v", err)
	}
	var cases []dfRenovateCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	pass := 0
	for _, c := range cases {
		seen[c.Name] = true
		refs, err := dfFind([]byte(c.Input))
		if err != nil {
			t.Errorf("%s: Find: %v", c.Name, err)
			continue
		}
		got := make([]dfRenovateDep, 0, len(refs))
		var texts []string
		for _, r := range refs {
			texts = append(texts, dfRefWant(r))
			got = append(got, dfAsRenovate(r))
		}
		matches := dfRenovateEqual(got, c.Expected)
		if ex, ok := dockerfileRenovateExceptions[c.Name]; ok {
			if !slices.Equal(texts, ex.want) {
				t.Errorf("%s (exception: %s):\n got  %q\n want %q", c.Name, ex.reason, texts, ex.want)
			}
			if matches {
				t.Errorf("%s: now matches Renovate; remove its exception", c.Name)
			}
			continue
		}
		if !matches {
			t.Errorf("%s:\n got  %v\n want %v\n refs %q", c.Name, got, c.Expected, texts)
			continue
		}
		pass++
	}
	for name := range dockerfileRenovateExceptions {
		if !seen[name] {
			t.Errorf("exception %q names no case", name)
		}
	}
	t.Logf("%d of %d Renovate Dockerfile cases agree; %d are listed deliberate differences",
		pass, len(cases), len(dockerfileRenovateExceptions))
	if pass+len(dockerfileRenovateExceptions) != len(cases) {
		t.Errorf("%d cases neither agree nor are listed", len(cases)-pass-len(dockerfileRenovateExceptions))
	}
}

func dfRefWant(r Ref) string {
	if r.Skip != "" {
		return "skip:" + r.Text
	}
	return r.Text
}

// dfAsRenovate renders a ref the way Renovate's data does: the name (as
// Renovate displays it), tag and digest, variables expanded (a composed
// ref's Expanded), nil when absent; a skipped ref as contains-variable.
func dfAsRenovate(r Ref) dfRenovateDep {
	skip := "contains-variable"
	if r.Skip != "" {
		return dfRenovateDep{Skip: &skip}
	}
	p, err := imgref.Parse(r.Resolvable())
	if err != nil {
		reason := fmt.Sprintf("unparseable: %v", err)
		return dfRenovateDep{Skip: &reason}
	}
	name := dfRenovateDepName(p.Name)
	e := dfRenovateDep{Image: &name}
	if p.Tag != "" {
		e.Tag = &p.Tag
	}
	if p.Digest != "" {
		e.Digest = &p.Digest
	}
	return e
}

func dfRenovateEqual(got, want []dfRenovateDep) bool {
	if len(got) != len(want) {
		return false
	}
	eq := func(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	for i := range got {
		g, w := got[i], want[i]
		if !eq(g.Skip, w.Skip) {
			return false
		}
		if g.Skip == nil && !(eq(g.Image, w.Image) && eq(g.Tag, w.Tag) && eq(g.Digest, w.Digest)) {
			return false
		}
	}
	return true
}
