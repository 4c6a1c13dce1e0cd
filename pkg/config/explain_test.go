package config

import (
	"errors"
	"strings"
	"testing"
)

// Config errors are read by people who never saw Config's Go type: they
// name the key path, what was expected, and the nearest valid key.
func TestParseErrorTexts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"registry:\n  docker.io: {host: x}\n", []string{
			`line 1: unknown key "registry" at the top level; did you mean registries?`,
			"(valid keys: exclude, ", ", ignore, ", ", registries, verify)",
		}},
		{"pull_request:\n  branch: x\n", []string{`unknown key "pull_request" at the top level; did you mean pull-request?`}},
		{"Exclude: [a]\n", []string{`did you mean exclude?`}},
		{"pins:\n  platfrom: keep\n", []string{`line 2: unknown key "platfrom" in pins; did you mean platform?`, "platform, tag-search)"}},
		{"colour: blue\n", []string{`unknown key "colour" at the top level (valid keys:`}},
		{"exclude: vendor/**\n", []string{`line 1: exclude must be a list of strings, not the string "vendor/**"; write exclude: ["vendor/**"]`}},
		{"ignore:\n  busybox: true\n", []string{"line 2: ignore must be a list of strings, not a map"}},
		{"registries: [docker.io]\n", []string{"line 1: registries must be a map of names to map with the keys host, tls, not a list"}},
		{"registries:\n  docker.io: mirror:5000\n", []string{"line 2: registries.docker.io must be a map with the keys host, tls, not the string \"mirror:5000\""}},
		{"pins:\n  tag-search: many\n", []string{"line 2: pins.tag-search must be a whole number, not the string many"}},
		{"pull-request:\n  labels: [a, [b]]\n", []string{"pull-request.labels[1] must be a string, not a list"}},
		{"- exclude\n", []string{"line 1: the file must be a map with the keys exclude, "}},
		// Several problems are all named, each with its line.
		{"registry: {}\nexclude: x\n", []string{"line 1: unknown key \"registry\"", "; line 2: exclude must be"}},
		// platforms: entries are checked against the names registries use.
		{"platforms: [linux/amd46]\n", []string{`platforms[0]: unknown architecture "amd46" in "linux/amd46"; did you mean amd64?`}},
		{"platforms: [linux/x86_64]\n", []string{`unknown architecture "x86_64"`, "registries call it linux/amd64"}},
		{"platforms: [linx/arm64]\n", []string{`unknown OS "linx" in "linx/arm64"; did you mean linux?`}},
		{"platforms: [linux/arm64/]\n", []string{`"linux/arm64/" is not os/arch[/variant]`}},
		{"platforms: [linux/amd64, amd64]\n", []string{`platforms[1]: "amd64" is not os/arch[/variant]`}},
	} {
		_, err := Parse([]byte(tc.in))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", tc.in, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%q) =\n  %v\nwant it to contain\n  %s", tc.in, err, w)
			}
		}
		// Never Go's words.
		for _, goWord := range []string{"config.Config", "!!str", "unmarshal", "[]string", "struct"} {
			if strings.Contains(err.Error(), goWord) {
				t.Errorf("Parse(%q) = %v: speaks Go (%q)", tc.in, err, goWord)
			}
		}
	}
}

// Valid shapes stay valid: anchors, merge keys, empty values.
func TestParseShapesAccepted(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"exclude:\n",
		"registries:\n  docker.io: {}\n  ghcr.io:\n",
		"registries:\n  a.io: &b {tls: disabled}\n  b.io: *b\n",
		"platforms: [linux/amd64, linux/arm64/v8, windows/amd64, linux/arm/v7]\n",
		"pins: {tag-search: -1}\n",
	} {
		if _, err := Parse([]byte(in)); err != nil {
			t.Errorf("Parse(%q) = %v", in, err)
		}
	}
}

func TestNearest(t *testing.T) {
	t.Parallel()
	keys := []string{"exclude", "ignore", "registries", "platforms", "pins", "pull-request"}
	for in, want := range map[string]string{
		"registry": "registries", "registires": "registries", "excludes": "exclude", "ingore": "ignore",
		"platform": "platforms", "PINS": "pins", "pull_request": "pull-request", "zzz": "", "colour": "",
	} {
		if got := Nearest(in, keys); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", in, got, want)
		}
	}
}
