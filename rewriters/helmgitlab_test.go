package rewriters

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// helmFind runs the Helm format on values with a Chart.yaml (and extra
// files) beside it.
func helmFind(t *testing.T, values string, opts Options, extra fstest.MapFS) []Ref {
	t.Helper()
	tree := fstest.MapFS{"c/Chart.yaml": {Data: []byte("apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: 1.0.0\n")}}
	for k, v := range extra {
		tree[k] = v
	}
	f := &File{Path: "c/values.yaml", Src: []byte(values), Tree: tree, Options: opts}
	if !(helmFormat{}).Claim(f) {
		t.Fatal("not claimed")
	}
	refs, err := helmFormat{}.Find(f)
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func pinOne(t *testing.T, src string, r Ref, digest string) (string, error) {
	t.Helper()
	e, err := r.Pin(digest)
	if err != nil {
		return "", err
	}
	out, err := Splice([]byte(src), e)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), nil
}

// TestHelmDigestForms: the form written into a digest key, for digests the
// fixed golden digest cannot show.
func TestHelmDigestForms(t *testing.T) {
	t.Parallel()
	digits := "sha256:" + strings.Repeat("1", 64)
	sha512 := "sha512:" + strings.Repeat("b", 128)
	tests := []struct {
		name, values, digest, want string
		cannot                     bool
	}{
		{"bare hex that reads as a number is quoted", "image:\n  repository: a\n  tag: \"1\"\n  sha:\n", digits,
			"image:\n  repository: a\n  tag: \"1\"\n  sha: \"" + strings.Repeat("1", 64) + "\"\n", false},
		{"inside quotes it needs none", "image:\n  repository: a\n  tag: \"1\"\n  sha: ''\n", digits,
			"image:\n  repository: a\n  tag: \"1\"\n  sha: '" + strings.Repeat("1", 64) + "'\n", false},
		{"prefixed keys take any valid digest", "image:\n  repository: a\n  tag: \"1\"\n  digest: \"\"\n", sha512,
			"image:\n  repository: a\n  tag: \"1\"\n  digest: \"" + sha512 + "\"\n", false},
		{"bare keys hold sha256 only", "image:\n  repository: a\n  tag: \"1\"\n  sha: \"\"\n", sha512, "", true},
		{"a flow map", "image: {repository: a, tag: \"1\", digest: \"\"}\n", digits,
			"image: {repository: a, tag: \"1\", digest: \"" + digits + "\"}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			refs := helmFind(t, tt.values, Options{}, nil)
			if len(refs) != 1 {
				t.Fatalf("%d refs, want 1", len(refs))
			}
			got, err := pinOne(t, tt.values, refs[0], tt.digest)
			if tt.cannot {
				if !errors.Is(err, ErrCannotPin) {
					t.Fatalf("Pin: %v, want ErrCannotPin", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("pinned:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestHelmNoDigestKeyMessage: the message fix prints names the map, the
// keys looked for, and both ways to make the ref pinnable; the config's
// digest keys are the ones looked for.
func TestHelmNoDigestKeyMessage(t *testing.T) {
	t.Parallel()
	values := "app:\n  image:\n    repository: nginx\n    tag: \"1.27\"\n    hash: \"\"\n"
	refs := helmFind(t, values, Options{}, nil)
	_, err := pinOne(t, values, refs[0], "sha256:"+strings.Repeat("a", 64))
	if !errors.Is(err, ErrCannotPin) {
		t.Fatalf("Pin: %v, want ErrCannotPin", err)
	}
	for _, want := range []string{"no digest key (digest, sha)", "app.image", `digest: ""`, "helm.inline-digest: true", "app.kubernetes.io/version"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if refs[0].Note == "" {
		t.Error("no Note on an unpinnable ref")
	}
	refs = helmFind(t, values, Options{HelmDigestKeys: []string{"hash"}}, nil)
	got, err := pinOne(t, values, refs[0], "sha256:"+strings.Repeat("a", 64))
	if err != nil || !strings.Contains(got, `hash: "sha256:`) {
		t.Errorf("with digest-keys [hash]: %v\n%s", err, got)
	}
}

// TestHelmClaim: only values files beside a Chart.yaml are Helm's.
func TestHelmClaim(t *testing.T) {
	t.Parallel()
	tree := fstest.MapFS{"a/Chart.yaml": {Data: []byte("name: a\n")}, "a/charts/b/Chart.yaml": {Data: []byte("name: b\n")}}
	for _, tt := range []struct {
		path string
		tree bool
		want bool
	}{
		{"a/values.yaml", true, true},
		{"a/values-prod.yml", true, true},
		{"a/charts/b/values.yaml", true, true},
		{"a/other.yaml", true, false},
		{"b/values.yaml", true, false},
		{"a/values.yaml", false, false},
	} {
		f := &File{Path: tt.path, Src: []byte("image: {repository: a, tag: b}\n")}
		if tt.tree {
			f.Tree = tree
		}
		if got := Claim(f); (got != nil && got.Kind() == Helm) != tt.want {
			t.Errorf("%s (tree %v): claimed by %v, want Helm: %v", tt.path, tt.tree, got, tt.want)
		}
	}
}

// TestGitLabGlob: include globs match as GitLab documents them.
func TestGitLabGlob(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		glob, path string
		want       bool
	}{
		{"ci/*.yml", "ci/a.yml", true},
		{"ci/*.yml", "ci/sub/a.yml", false},
		{"ci/**.yml", "ci/sub/a.yml", true},
		{"ci/**/*.yml", "ci/a.yml", true},
		{"ci/**/*.yml", "ci/x/y/a.yml", true},
		{"ci/?.yml", "ci/ab.yml", false},
		{"ci/a+b.yml", "ci/a+b.yml", true},
		{"ci/a+b.yml", "ci/aab.yml", false},
	} {
		re, err := gitlabGlobRe(tt.glob)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tt.path); got != tt.want {
			t.Errorf("%s ~ %s = %v, want %v", tt.glob, tt.path, got, tt.want)
		}
	}
}

// TestGitLabFollowBounds: include paths that leave the root, variables and
// URLs are never followed; a glob without a tree names nothing.
func TestGitLabFollowBounds(t *testing.T) {
	t.Parallel()
	src := "include:\n  - local: ../outside.yml\n  - local: /../../etc/x.yml\n  - local: $CI_DIR/x.yml\n  - https://example.com/x.yml\n  - local: 'ci/*.yml'\n  - local: /ci/ok.yml\n  - local: ci/ok.yml\n"
	f := &File{Path: ".gitlab-ci.yml", Src: []byte(src)}
	if _, err := (gitlabFormat{}).Find(f); err != nil {
		t.Fatal(err)
	}
	if got := f.Followed(); len(got) != 1 || got[0] != "ci/ok.yml" {
		t.Errorf("Followed() = %q, want [ci/ok.yml]", got)
	}
}

// FuzzHelmValues fuzzes a values file beside a fixed Chart.yaml and
// templates (so every input is claimed and read as Helm, which a mutated
// archive in FuzzFormats rarely keeps), with and without
// helm.inline-digest; the shared harness's invariants must hold.
func FuzzHelmValues(f *testing.F) {
	for _, p := range hCases(f) {
		if filepath.Base(filepath.Dir(p)) != string(Helm) {
			continue
		}
		for _, in := range hLoadCase(f, p).files(f) {
			if (helmFormat{}).Candidate(in.path) {
				f.Add(in.data, false)
				f.Add(in.data, true)
			}
		}
	}
	chart := []byte("apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: 1.2.3\ndependencies:\n  - name: sub\n")
	tmpl := []byte(`image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default (printf "v%s" .Chart.AppVersion) }}@sha256:{{ .Values.image.sha }}"` + "\n")
	f.Fuzz(func(t *testing.T, values []byte, inline bool) {
		files := []hFile{
			{"c/Chart.yaml", chart},
			{"c/templates/deploy.yaml", tmpl},
			{"c/charts/sub/Chart.yaml", []byte("name: sub\nappVersion: 9.9.9\n")},
			{"c/values.yaml", values},
		}
		res, _ := hCheck(t, files, Options{HelmInlineDigest: inline}, nil)
		if res[3].format == nil || res[3].format.Kind() != Helm {
			t.Fatalf("values.yaml beside Chart.yaml claimed by %v", res[3].format)
		}
	})
}

// FuzzGitLabCI fuzzes a .gitlab-ci.yml whose includes may name a fixed
// second file; the shared harness's invariants must hold for both.
func FuzzGitLabCI(f *testing.F) {
	for _, p := range hCases(f) {
		if filepath.Base(filepath.Dir(p)) != string(GitLabCI) {
			continue
		}
		for _, in := range hLoadCase(f, p).files(f) {
			if in.path == ".gitlab-ci.yml" {
				f.Add(in.data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		files := []hFile{
			{".gitlab-ci.yml", src},
			{"ci/build.yml", []byte(".build:\n  image: golang:1.23\n  services: [postgres:16]\n")},
		}
		res, _ := hCheck(t, files, Options{}, nil)
		if res[0].format == nil || res[0].format.Kind() != GitLabCI {
			t.Fatalf(".gitlab-ci.yml claimed by %v", res[0].format)
		}
	})
}
