package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(`
exclude: ["vendor/**", "**/testdata/**"]
ignore: ["docker.io/library/busybox"]
registries:
  docker.io:
    host: 127.0.0.1:5000
    tls: disabled
  registry.internal:5000:
    tls: insecure
  ghcr.io: {}
platforms: [linux/amd64, linux/arm64/v8]
pins: {platform: keep, tag-search: 20}
pull-request:
  branch: deps/pins
  labels: [dependencies]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Registries["docker.io"]; got.Host != "127.0.0.1:5000" || got.TLS != TLSDisabled {
		t.Errorf("docker.io = %+v", got)
	}
	if got := c.Registries["ghcr.io"].TLS; got != TLSEnabled {
		t.Errorf("default tls = %q", got)
	}
	if c.Pins.Platform != "keep" || c.Pins.TagSearch != 20 || c.PullRequest.Branch != "deps/pins" || c.PullRequest.Title != DefaultTitle {
		t.Errorf("pins/pr = %+v %+v", c.Pins, c.PullRequest)
	}
	if !c.Excluded("vendor/a/Dockerfile") || !c.Excluded("x/testdata/y/compose.yaml") || c.Excluded("src/Dockerfile") {
		t.Error("Excluded")
	}
	if !c.Ignored("docker.io/library/busybox") || c.Ignored("docker.io/library/nginx") {
		t.Error("Ignored")
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"exclude: [\"[\"]\n":                              "bad glob",
		"registries:\n  docker.io:\n    tls: off\n":       "use enabled, insecure or disabled",
		"registries:\n  docker.io:\n    hots: x\n":        `line 3: unknown key "hots" in registries.docker.io; did you mean host? (valid keys: host, tls)`,
		"excludes: []\n":                                  `line 1: unknown key "excludes" at the top level; did you mean exclude?`,
		"platforms: [linux]\n":                            "os/arch",
		"pins: {platform: maybe}\n":                       "use index or keep",
		"registries:\n  docker.io:\n    host: http://x\n": "without a scheme",
		"exclude: 3\n":                                    "line 1: exclude must be a list of strings, not the number 3",
		"pins: {composed: never}\n":                       "use report or skip",
		"helm: {digest-keys: []}\n":                       "helm.digest-keys is empty",
		"helm: {digest-keys: [image.digest]}\n":           "plain key names",
		"helm: {inline-digest: maybe}\n":                  "line 1: helm.inline-digest must be true or false, not the string maybe",
		"helm: {digest-key: [sha]}\n":                     `line 1: unknown key "digest-key" in helm; did you mean digest-keys? (valid keys: digest-keys, inline-digest)`,
	} {
		_, err := Parse([]byte(in))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
}

// TestPinsAndHelm: pins.composed and the helm keys, with their defaults.
func TestPinsAndHelm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		composed string
		keys     string
		inline   bool
	}{
		{"", ComposedReport, "digest,sha", false},
		{"pins: {composed: skip}\n", ComposedSkip, "digest,sha", false},
		{"pins: {composed: report}\nhelm: {digest-keys: [imageDigest], inline-digest: true}\n", ComposedReport, "imageDigest", true},
	}
	for _, tt := range tests {
		c, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if c.Pins.Composed != tt.composed || strings.Join(c.Helm.DigestKeys, ",") != tt.keys || c.Helm.InlineDigest != tt.inline {
			t.Errorf("Parse(%q) = pins %+v helm %+v", tt.in, c.Pins, c.Helm)
		}
	}
	if d := Default(); d.Pins.Composed != ComposedReport || strings.Join(d.Helm.DigestKeys, ",") != "digest,sha" {
		t.Errorf("Default() = pins %+v helm %+v", d.Pins, d.Helm)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := Find(dir)
	if err != nil || c.Path != "" || c.Pins.TagSearch != DefaultTagSearch {
		t.Fatalf("Find(empty) = %+v, %v", c, err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); err == nil || !strings.Contains(err.Error(), FileName) || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("Find(bad) error = %v; want it to name the file and line", err)
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		pat, name string
		want      bool
	}{
		{"vendor/**", "vendor/a/b", true},
		{"vendor/**", "vendor", true},
		{"vendor/**", "src/vendor/a", false},
		{"**/testdata/**", "testdata/x", true},
		{"**/testdata/**", "a/b/testdata/x/y", true},
		{"*.yaml", "a.yaml", true},
		{"*.yaml", "d/a.yaml", false},
		{"**/*.yaml", "d/e/a.yaml", true},
		{"docker.io/library/*", "docker.io/library/busybox", true},
		{"ghcr.io/**", "ghcr.io/a/b", true},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
	} {
		if got := Match(tt.pat, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pat, tt.name, got, tt.want)
		}
	}
}

func TestVerifyRules(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(`
verify:
  - images: ["ghcr.io/acme/**"]
    keys: [cosign.pub]
  - images: ["library/*", "quay.io/x/y"]
    keyless:
      issuer: https://token.actions.githubusercontent.com
      identity: "https://github.com/docker-library/*"
    trusted-root: root.json
  - images: ["**"]
    keys: [k.pub]
    keyless: {issuer-regexp: "^https://", identity-regexp: "^x$"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Verify) != 3 || c.Verify[1].Keyless.Identity != "https://github.com/docker-library/*" || c.Verify[1].TrustedRoot != "root.json" {
		t.Fatalf("verify = %+v", c.Verify)
	}
	for image, want := range map[string]int{
		"ghcr.io/acme/app":          0,
		"ghcr.io/acme/a/b":          0,
		"docker.io/library/nginx":   1, // short form, as ignore reads it
		"quay.io/x/y":               1,
		"ghcr.io/other/app":         2, // the first matching rule decides
		"registry.internal:5000/ab": 2,
	} {
		if got := c.VerifyRuleFor(image); got != want {
			t.Errorf("VerifyRuleFor(%q) = %d, want %d", image, got, want)
		}
	}
	if Default().VerifyRuleFor("docker.io/library/nginx") != -1 {
		t.Error("default config has a verify rule")
	}
	if d := (&Config{Path: filepath.Join("a", "b", FileName)}).Dir(); d != filepath.Join("a", "b") {
		t.Errorf("Dir = %q", d)
	}

	for in, want := range map[string]string{
		"verify:\n  - keys: [k.pub]\n":                                                          "verify[0]: images is empty",
		"verify:\n  - images: [\"[\"]\n    keys: [k.pub]\n":                                     "bad glob",
		"verify:\n  - images: [a]\n":                                                            "give keys (cosign public key files) or keyless",
		"verify:\n  - images: [a]\n    keys: [\"\"]\n":                                          "empty file name",
		"verify:\n  - images: [a]\n    key: [k.pub]\n":                                          "unknown key \"key\" in verify[0]; did you mean keys?",
		"verify:\n  - images: [a]\n    keys: [k]\n    trusted-root: r.json\n":                   "trusted-root is only used by keyless",
		"verify:\n  - images: [a]\n    keyless: {identity: x}\n":                                "keyless needs issuer",
		"verify:\n  - images: [a]\n    keyless: {issuer: x}\n":                                  "keyless needs identity",
		"verify:\n  - images: [a]\n    keyless: {issuer: x, issuer-regexp: y, identity: z}\n":   "both issuer and issuer-regexp",
		"verify:\n  - images: [a]\n    keyless: {issuer: x, identity: z, identity-regexp: z}\n": "both identity and identity-regexp",
		"verify:\n  - images: [a]\n    keyless: {issuer: x, identity-regexp: \"(\"}\n":          "keyless.identity-regexp \"(\"",
		"verify:\n  - images: [a]\n    keyless: {issuer: x, subject: z}\n":                      "unknown key \"subject\" in verify[0].keyless",
		"verify:\n  - images: [a]\n    keys: [k]\n  - images: [b]\n":                            "verify[1]: give keys",
	} {
		_, err := Parse([]byte(in))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
}
