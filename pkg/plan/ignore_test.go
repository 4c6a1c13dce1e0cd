package plan

import "testing"

func TestInlineIgnore(t *testing.T) {
	t.Parallel()
	src := "# digestbot:ignore built from source in CI\n" + // 1
		"FROM node:20\n" + // 2: ignored, reason from line 1
		"    image: nginx:1.27 # digestbot:ignore\n" + // 3: ignored, no reason
		"    image: redis:7  #digestbot:ignore: vendor pins it \r\n" + // 4: reason, CRLF
		"FROM busybox:1\n" + // 5: not ignored (line 4's comment is not alone on its line)
		"  // digestbot:ignore managed upstream\n" + // 6
		`  "image": "mcr.microsoft.com/devcontainers/base:ubuntu"` + "\n" + // 7: ignored (JSONC)
		"# digestbot: ignore\n" + // 8: not the marker
		"FROM alpine:3\n" + // 9
		"FROM x:1 # see digestbot:ignored-things\n" + // 10: not the marker
		"RUN echo '# digestbot:ignore' # digestbot:ignore\n" // 11: ignored (trailing comment)
	for line, want := range map[int]struct {
		ok     bool
		reason string
	}{
		2:  {true, ": built from source in CI"},
		3:  {true, ""},
		4:  {true, ": vendor pins it"},
		5:  {false, ""},
		7:  {true, ": managed upstream"},
		9:  {false, ""},
		10: {false, ""},
		11: {true, ""},
		0:  {false, ""},
		99: {false, ""},
	} {
		reason, ok := inlineIgnore([]byte(src), line)
		if ok != want.ok || reason != want.reason {
			t.Errorf("line %d: (%q, %v), want (%q, %v)", line, reason, ok, want.reason, want.ok)
		}
	}
}
