package rewriters

// Tests of the YAML helpers shared by the YAML formats. Golden cases and
// the invariants every format keeps live in harness_test.go.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestYAMLSourceOffset(t *testing.T) {
	t.Parallel()
	// Every value is "v"; the table lists where yaml.v3 says it is and
	// where its byte is.
	tests := []struct {
		name string
		src  string
	}{
		{"ascii", "a: v\n"},
		{"bom", "\ufeffa: v\n"},
		{"unicode key", "é: v\n"},
		{"wide key", "日本語: v\n"},
		{"emoji", "🕓: v\n"},
		{"tab", "a:\tv\n"},
		{"crlf", "x: 1\r\na: v\r\n"},
		{"lone cr", "x: 1\ra: v\n"},
		{"nel", "x: 1\u0085a: v\n"},
		{"line separator in comment", "# c\u2028a: v\n"},
		{"paragraph separator", "x: 1\u2029a: v\n"},
		{"quoted", "a: \"v\"\n"},
		{"single", "a: 'v'\n"},
		{"anchor", "a: &x v\n"},
		{"anchor and tag", "a: &x !!str v\n"},
		{"tag and anchor", "a: !!str &x v\n"},
		{"anchor then comment", "a: &x # c é\n  v\n"},
		{"flow", "a: {b: [x, v]}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := []byte(tt.src)
			docs, err := yamlDecodeStream(src)
			if err != nil {
				t.Fatal(err)
			}
			ys := newYAMLSource(src)
			var found *yaml.Node
			var walk func(n *yaml.Node)
			walk = func(n *yaml.Node) {
				if n.Kind == yaml.ScalarNode && n.Value == "v" {
					found = n
				}
				for _, c := range n.Content {
					walk(c)
				}
			}
			walk(docs[0])
			if found == nil {
				t.Fatal("no scalar v")
			}
			loc := ys.locate(found)
			want := strings.LastIndex(tt.src, "v")
			if loc.skip != "" || loc.span != (Span{want, want + 1}) {
				t.Errorf("locate = %+v, want [%d,%d)", loc, want, want+1)
			}
		})
	}
}

func TestYAMLLocateSkips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src, skip, text string
	}{
		{"a: \"x\\u0041\"\n", skipYAMLEscapes, `x\u0041`},
		{"a: 'it''s'\n", skipYAMLEscapes, "it''s"},
		{"a: \"x\n  y\"\n", skipYAMLNotLocated, "x"},
		{"a: x\n  y\n", skipYAMLNotLocated, "x"},
		{"a: >-\n  nginx:1\n", skipYAMLBlock, "nginx:1"},
		{"a: |\n  nginx:1\n  b\n", skipYAMLBlock, "nginx:1"},
		{"a: &z |\n  nginx:1\n", skipYAMLBlock, "nginx:1"},
	}
	for _, tt := range tests {
		docs, err := yamlDecodeStream([]byte(tt.src))
		if err != nil {
			t.Fatal(err)
		}
		v := yamlDocRoot(docs[0]).Content[1]
		loc := newYAMLSource([]byte(tt.src)).locate(v)
		if loc.skip != tt.skip || tt.src[loc.span.Start:loc.span.End] != tt.text {
			t.Errorf("%q: locate = %q %q, want %q %q", tt.src, loc.skip, tt.src[loc.span.Start:loc.span.End], tt.skip, tt.text)
		}
	}
}

func TestYAMLKeyLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src      string
		any, top bool
	}{
		{"apiVersion: v1\n", true, true},
		{"\ufeffapiVersion: v1\n", true, true},
		{"\"apiVersion\": v1\n", true, true},
		{"  apiVersion: v1\n", true, false},
		{"- apiVersion: v1\n", true, false},
		{"# apiVersion: v1\n", false, false},
		{"apiVersions: v1\n", false, false},
		{"apiVersion:v1\n", false, false},
		{"apiVersion:\r\n", true, true},
		{"x: apiVersion: v1\n", false, false},
	}
	for _, tt := range tests {
		a, top := yamlKeyLine([]byte(tt.src), "apiVersion")
		if a != tt.any || top != tt.top {
			t.Errorf("yamlKeyLine(%q) = %v, %v; want %v, %v", tt.src, a, top, tt.any, tt.top)
		}
	}
}

func TestYAMLClassifyContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      Kind
	}{
		{"k8s", "apiVersion: v1\nkind: Pod\n", Kubernetes},
		{"k8s quoted", "\"apiVersion\": \"v1\"\n\"kind\": \"Pod\"\n", Kubernetes},
		{"k8s only apiVersion", "apiVersion: v1\n", ""},
		{"compose by content", "services:\n  web:\n    image: nginx\n", Compose},
		{"compose build only", "services:\n  web:\n    build: .\n", Compose},
		{"compose embedding a manifest", "services:\n  web:\n    image: nginx\n    configs:\n      - source: c\nconfigs:\n  c:\n    content: |\n      apiVersion: v1\n      kind: Pod\n", Compose},
		{"gitlab ci services list", "services:\n  - docker:dind\nbuild:\n  image: docker\n", ""},
		{"services without image", "services:\n  web:\n    ports: [80]\n", ""},
		{"services not a mapping", "services: []\n", ""},
		{"broken", "services:\n  web: [\n", ""},
		{"plain yaml", "a: 1\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := Classify("x/file.yaml", []byte(tt.src)); got != tt.want {
			t.Errorf("%s: Classify = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestYAMLHostile feeds alias bombs and deep nesting to both rewriters:
// each must return quickly with no panic, and a ParseError or few refs.
func TestYAMLHostile(t *testing.T) {
	t.Parallel()
	laughs := func(key string) string {
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: Pod\n")
		b.WriteString("a0: &a0 {containers: [{image: lol:1, name: x}]}\n")
		for i := 1; i < 40; i++ {
			fmt.Fprintf(&b, "a%d: &a%d {", i, i)
			for j := 0; j < 10; j++ {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "k%d: *a%d", j, i-1)
			}
			b.WriteString("}\n")
		}
		fmt.Fprintf(&b, "spec:\n  %s: *a39\n", key)
		return b.String()
	}
	composeBomb := "x-a0: &a0\n  image: lol:1\n"
	for i := 1; i < 40; i++ {
		composeBomb += fmt.Sprintf("x-a%d: &a%d\n", i, i)
		for j := 0; j < 10; j++ {
			composeBomb += fmt.Sprintf("  k%d: *a%d\n", j, i-1)
		}
		composeBomb += fmt.Sprintf("  <<: [*a%d, *a%d]\n", i-1, i-1)
	}
	composeBomb += "services:\n  web:\n    <<: *a39\n"
	tests := []struct {
		name     string
		kind     Kind
		src      string
		refs     int
		parseErr bool
	}{
		{"k8s billion laughs", Kubernetes, laughs("x"), 1, false},
		{"k8s billion laughs under containers", Kubernetes, laughs("containers"), 1, false},
		{"compose billion laughs", Compose, composeBomb, 1, false},
		{"k8s deep flow", Kubernetes, "apiVersion: v1\nkind: Pod\nspec: " + strings.Repeat("[", 100000), 0, true},
		{"k8s deep flow closed", Kubernetes, "apiVersion: v1\nkind: Pod\nspec: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", 0, true},
		{"k8s deep block", Kubernetes, "apiVersion: v1\nkind: Pod\nspec:\n" + strings.Repeat("- ", 5000) + "x\n", 0, true},
		// It parses, so it is YAML (not a template) and too deep to walk.
		{"k8s deep templated", Kubernetes, "apiVersion: v1\nkind: Pod\nx: {{a}}\nspec: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", 0, true},
		{"compose deep", Compose, "services:\n  web: " + strings.Repeat("{a: ", 9000) + strings.Repeat("}", 9000) + "\n", 0, false},
		{"compose deep templated", Compose, "services:\n  web: {{a}}\nx: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", 0, false},
		{"one long line", Kubernetes, "apiVersion: v1\nkind: Pod\nspec: {containers: [" + strings.Repeat("{image: é:1}, ", 20000) + "{image: x}]}\n", 20001, false},
		// It parses, so every value is walked (not short-cut as a
		// template): half the size of "one long line" keeps it as fast.
		{"one long templated line", Kubernetes, "apiVersion: v1\nkind: Pod\nspec: {containers: [" + strings.Repeat("{image: é:1}, [a], ", 10000) + "{image: {{x}}}]}\n", 10001, false},
		{"compose one long line", Compose, "services: {" + strings.Repeat("a: {image: é:1}, ", 1) + strings.Join(yamlManyServices(20000), ", ") + "}\n", 20001, false},
		{"many aliases", Kubernetes, "apiVersion: v1\nkind: Pod\nspec:\n  containers: &c\n  - image: nginx\n  x: [" + strings.Repeat("*c, ", 100000) + "*c]\n", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			res, _ := hCheck(t, []hFile{{"file.yaml", []byte(tt.src)}}, Options{}, ForKind(tt.kind))
			refs, err := res[0].refs, res[0].err
			// Generous: catches exponential or quadratic work, not load.
			if d := time.Since(start); d > 10*time.Second && !yamlRaceEnabled {
				t.Errorf("took %v", d)
			}
			if len(refs) != tt.refs || (err != nil) != tt.parseErr {
				t.Errorf("got %d refs, err %v; want %d refs, parse error %v", len(refs), err, tt.refs, tt.parseErr)
			}
		})
	}
}

func yamlManyServices(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("s%d: {image: \"é:%d\"}", i, i)
	}
	return out
}

// Rewriter is the pre-plug-in shape of a format (Find over bytes), kept for
