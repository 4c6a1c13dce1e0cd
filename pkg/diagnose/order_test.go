package diagnose

import (
	"strings"
	"testing"
)

func TestOrderTags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		written string
		tags    string
		want    string
	}{
		// The classic: nearest versions of the same shape first, ties to
		// the older one, then other shapes, then names.
		{"20.04", "14.04 16.04 18.04 19.10 20.04 20.10 21.04 22.04 24.04 latest rolling focal jammy-20240101 20.04.1 20",
			"20.10 21.04 19.10 18.04 22.04 16.04 24.04 14.04 20.04.1 20 jammy-20240101 focal latest rolling"},
		// Suffix variants come after the plain line, before other prefixes.
		{"3.20", "3.19 3.20 3.21 3.20-slim 3.19-slim edge latest v3.20",
			"3.19 3.21 3.20-slim 3.19-slim v3.20 edge latest"},
		{"3.20-alpine", "3.19 3.20 3.19-alpine 3.21-alpine 3.20.3-alpine latest",
			"3.19-alpine 3.21-alpine 3.20.3-alpine 3.20 3.19 latest"},
		{"v1.2.3", "v1.2.4 v1.2.2 v1.3.0 v2.0.0 1.2.3 v1.2 main",
			"v1.2.2 v1.2.4 v1.3.0 v2.0.0 v1.2 1.2.3 main"},
		// Unversioned written tag: latest first, then newest versions, then names.
		{"latest", "1.0 2.0 1.10 stable latest edge", "2.0 1.10 1.0 edge stable"},
		{"", "1.0 2.0 latest stable", "latest 2.0 1.0 stable"},
		// Signature tags are never candidates; duplicates collapse.
		{"1", "sha256-" + strings.Repeat("a", 64) + ".sig 2 2 0", "0 2"},
		// Large numbers (dates) do not overflow.
		{"20240101", "20231231 20240102 99999999999999999999999", "20240102 20231231 99999999999999999999999"},
	}
	for _, c := range cases {
		got := strings.Join(OrderTags(c.written, strings.Fields(c.tags)), " ")
		if got != c.want {
			t.Errorf("OrderTags(%q):\n got %s\nwant %s", c.written, got, c.want)
		}
	}
}

func TestCoversAndContradicts(t *testing.T) {
	t.Parallel()
	covers := []struct {
		a, b string
		want bool
	}{
		{"20", "20.11.1", true},
		{"20", "20", true},
		{"3.20-alpine", "3.20.3-alpine", true},
		{"v1", "1.2.3", true},
		{"20.04", "16.04", false},
		{"20.11.1", "20", false},
		{"3.20", "3.20.3-alpine", false},
		{"latest", "20.04", false},
		{"jammy-20240101", "jammy-20240101.1", false},
	}
	for _, c := range covers {
		if got := shapeOf(c.a).covers(shapeOf(c.b)); got != c.want {
			t.Errorf("%q covers %q = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	contra := []struct {
		tag, version string
		want         bool
	}{
		{"20.04", "16.04", true},
		{"20.04", "20.04", false},
		{"20", "20.11.1", false},
		{"20.04.1", "20.04", false},
		{"v2", "1.9.0", true},
		{"2-alpine", "2.1.0", false},
		{"latest", "16.04", false},
		{"20.04", "", false},
		{"20.04", "focal", false},
		{"jammy-20240101", "22.04", false},
	}
	for _, c := range contra {
		if got := contradicts(c.tag, c.version); got != c.want {
			t.Errorf("contradicts(%q, %q) = %v, want %v", c.tag, c.version, got, c.want)
		}
	}
	cons := []struct {
		tag, version string
		want         bool
	}{
		{"20.04", "20.04", true},
		{"20", "20.11.1", true},
		{"3.20-alpine", "3.20.3", true},
		{"v2", "2.1.0", true},
		{"20.04.1", "20.04", false},
		{"20.04", "16.04", false},
		{"latest", "1.0", false},
		{"20.04", "", false},
		{"jammy-20240101", "22.04", false},
	}
	for _, c := range cons {
		if got := consistent(c.tag, c.version); got != c.want {
			t.Errorf("consistent(%q, %q) = %v, want %v", c.tag, c.version, got, c.want)
		}
	}
}

func TestRefNameTag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"16.04":                          "16.04",
		"docker.io/library/ubuntu:16.04": "16.04",
		"localhost:5000/app":             "",
		"not a tag":                      "",
		"":                               "",
	} {
		if got := refNameTag(in); got != want {
			t.Errorf("refNameTag(%q) = %q, want %q", in, got, want)
		}
	}
}
