package imgref

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	d := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		in                       string
		name, tag, digest, image string
		pinned                   string
	}{
		{"node", "node", "", "", "docker.io/library/node", "node:latest@" + d},
		{"node:20", "node", "20", "", "docker.io/library/node", "node:20@" + d},
		{"node:20@" + d, "node", "20", d, "docker.io/library/node", "node:20@" + d},
		{"node@" + d, "node", "", d, "docker.io/library/node", "node:latest@" + d},
		{"bitnami/redis:7", "bitnami/redis", "7", "", "docker.io/bitnami/redis", "bitnami/redis:7@" + d},
		{"docker.io/library/ubuntu:20.04", "docker.io/library/ubuntu", "20.04", "", "docker.io/library/ubuntu", "docker.io/library/ubuntu:20.04@" + d},
		{"index.docker.io/nginx", "index.docker.io/nginx", "", "", "docker.io/library/nginx", "index.docker.io/nginx:latest@" + d},
		{"localhost:5000/app:v1", "localhost:5000/app", "v1", "", "localhost:5000/app", "localhost:5000/app:v1@" + d},
		{"localhost/app", "localhost/app", "", "", "localhost/app", "localhost/app:latest@" + d},
		{"ghcr.io/org/team/app:1.2.3-rc_1", "ghcr.io/org/team/app", "1.2.3-rc_1", "", "ghcr.io/org/team/app", "ghcr.io/org/team/app:1.2.3-rc_1@" + d},
		{"127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b", "", "", "127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest@" + d},
		{"[::1]:5000/a:t", "[::1]:5000/a", "t", "", "[::1]:5000/a", "[::1]:5000/a:t@" + d},
		{"quay.io:1234/node", "quay.io:1234/node", "", "", "quay.io:1234/node", "quay.io:1234/node:latest@" + d},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if r.Name != tt.name || r.Tag != tt.tag || r.Digest != tt.digest || r.Image() != tt.image {
			t.Errorf("Parse(%q) = name %q tag %q digest %q image %q; want %q %q %q %q", tt.in, r.Name, r.Tag, r.Digest, r.Image(), tt.name, tt.tag, tt.digest, tt.image)
		}
		// What a format writes when it pins (name as written, tag made
		// explicit): rewriters' Ref.Pin builds it, this checks the parts.
		if got := r.Name + ":" + r.TagOrLatest() + "@" + d; got != tt.pinned {
			t.Errorf("pinned form of %q = %q, want %q", tt.in, got, tt.pinned)
		}
		if r.Text != tt.in {
			t.Errorf("Text = %q, want %q", r.Text, tt.in)
		}
	}
}

// The messages name the bad part as docker users see it.
func TestParseErrorTexts(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Nginx:1.27":              `invalid image name: "Nginx" in "Nginx:1.27" has upper-case letters; repository names are lower-case (nginx)`,
		"library/Nginx":           `"Nginx" in "library/Nginx" has upper-case letters; repository names are lower-case (nginx)`,
		"nginx:1.27:extra":        `invalid tag: "nginx:1.27:extra" has more than one ':' after the name (tag "1.27" then "extra"); a reference has one tag`,
		"nginx::1.27":             `invalid tag: "nginx::1.27" has an empty tag between "::"; write nginx:1.27`,
		"nginx:":                  `invalid tag: "nginx:" ends in ':' with no tag after it`,
		"reg.io:5000/a:1:2":       `has more than one ':' after the name (tag "1" then "2")`,
		"node:-20":                `invalid tag "-20" in "node:-20"`,
		"my_host.io:5000/a/b:1.0": `invalid image name: bad registry host`,
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error =\n  %v\nwant it to contain\n  %s", in, err, want)
		}
	}
	// A port is not a second colon.
	if r, err := Parse("reg.io:5000/a:1"); err != nil || r.Tag != "1" || r.Registry != "reg.io:5000" {
		t.Errorf("Parse(reg.io:5000/a:1) = %+v, %v", r, err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrEmpty},
		{"Node:20", ErrInvalidName},
		{"node:", ErrInvalidTag},
		{"node:a b", ErrInvalidTag},
		{"node@sha256", ErrBadDigest},
		{"node@", ErrBadDigest},
		{"$BASE", ErrInvalidName},
		{"node:${V}", ErrInvalidTag},
		{"a//b", ErrInvalidName},
		{":tag", ErrInvalidName},
		{"bad_host.io:x/y", ErrInvalidName},
		{"nginx:1.27:extra", ErrInvalidTag},
		{"nginx::1.27", ErrInvalidTag},
		{"Nginx:1.27", ErrInvalidName},
	}
	for _, tt := range tests {
		if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) error = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestValidDigest(t *testing.T) {
	t.Parallel()
	for d, want := range map[string]bool{
		"sha256:" + strings.Repeat("0f", 32): true,
		"sha512:" + strings.Repeat("ab", 64): true,
		"sha256:" + strings.Repeat("0F", 32): false,
		"sha256:abc":                         false,
		"md5:" + strings.Repeat("a", 32):     false,
		strings.Repeat("a", 64):              false,
		"sha256:" + strings.Repeat("g", 64):  false,
	} {
		if got := ValidDigest(d); got != want {
			t.Errorf("ValidDigest(%q) = %v, want %v", d, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"node", "node:20", "ghcr.io/a/b:c@sha256:" + strings.Repeat("a", 64), "localhost:5000/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		// The parts are substrings of the text, in order: name, tag, digest.
		rebuilt := r.Name
		if r.Tag != "" {
			rebuilt += ":" + r.Tag
		}
		if r.Digest != "" {
			rebuilt += "@" + r.Digest
		}
		if rebuilt != s {
			t.Fatalf("parts of %q rebuild to %q", s, rebuilt)
		}
		p := r.Name + ":" + r.TagOrLatest() + "@sha256:" + strings.Repeat("b", 64)
		r2, err := Parse(p)
		if err != nil || r2.Image() != r.Image() || r2.TagOrLatest() != r.TagOrLatest() {
			t.Fatalf("the pinned form of %q, %q, does not parse back to the same image and tag: %v", s, p, err)
		}
	})
}
