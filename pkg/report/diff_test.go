package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteDiff(t *testing.T) {
	t.Parallel()
	old := "l1\nl2\nl3\nl4\nFROM a\nl6\nl7\nl8\nl9\nl10\nl11\nl12\nl13\nFROM b\nl15"
	new := strings.Replace(strings.Replace(old, "FROM a", "FROM a@x", 1), "FROM b", "FROM b@y", 1)
	var buf bytes.Buffer
	if err := WriteDiff(&buf, "d/Dockerfile", []byte(old), []byte(new)); err != nil {
		t.Fatal(err)
	}
	want := `diff --git a/d/Dockerfile b/d/Dockerfile
--- a/d/Dockerfile
+++ b/d/Dockerfile
@@ -2,7 +2,7 @@
 l2
 l3
 l4
-FROM a
+FROM a@x
 l6
 l7
 l8
@@ -11,5 +11,5 @@
 l11
 l12
 l13
-FROM b
+FROM b@y
 l15
\ No newline at end of file
`
	if got := buf.String(); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
}

// TestWriteDiffApplies proves the diff is exact by applying it with git.
func TestWriteDiffApplies(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	cases := map[string][2]string{
		"crlf":      {"FROM a\r\nRUN x\r\n", "FROM a@d\r\nRUN x\r\n"},
		"no eol":    {"x\nFROM a", "x\nFROM a@d"},
		"adjacent":  {"FROM a\nFROM b\n", "FROM a@1\nFROM b@2\n"},
		"far apart": {"FROM a\n" + strings.Repeat("RUN\n", 20) + "FROM b\n", "FROM a@1\n" + strings.Repeat("RUN\n", 20) + "FROM b@2\n"},
		"bom":       {"\ufeffFROM a\n", "\ufeffFROM a@1\n"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := filepath.Join(dir, "Dockerfile")
			if err := os.WriteFile(p, []byte(c[0]), 0o644); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteDiff(&buf, "Dockerfile", []byte(c[0]), []byte(c[1])); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("git", "apply", "--unsafe-paths", "-")
			cmd.Dir = dir
			cmd.Stdin = &buf
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git apply: %v\n%s", err, out)
			}
			got, _ := os.ReadFile(p)
			if string(got) != c[1] {
				t.Errorf("after git apply: %q, want %q", got, c[1])
			}
		})
	}
}

// TestWriteDiffQuotesPaths: file names with a tab, a newline, a quote, a
// backslash or non-ASCII bytes are C-quoted as git quotes them, so the
// patch applies with git apply and a name cannot forge a diff header.
func TestWriteDiffQuotesPaths(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	for _, name := range []string{"a\tb/Dockerfile", "x\n+++ b/evil/Dockerfile", `q"uote\Dockerfile`, "caf\u00e9/Dockerfile", "plain dir/Dockerfile"} {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("FROM a\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteDiff(&buf, name, []byte("FROM a\n"), []byte("FROM a@1\n")); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(buf.String(), "\n"); n != 6 {
				t.Errorf("diff has %d lines, want 6 (a name broke a header):\n%s", n, buf.String())
			}
			cmd := exec.Command("git", "apply", "-")
			cmd.Dir = dir
			cmd.Stdin = bytes.NewReader(buf.Bytes())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git apply: %v\n%s\n%s", err, out, buf.String())
			}
			if got, _ := os.ReadFile(p); string(got) != "FROM a@1\n" {
				t.Errorf("after git apply: %q", got)
			}
		})
	}
}

func TestGitQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a/Dockerfile":  "a/Dockerfile",
		"a/x\ty":        `"a/x\ty"`,
		"a/x\ny":        `"a/x\ny"`,
		`a/q"\`:         `"a/q\"\\"`,
		"a/caf\u00e9":   `"a/caf\303\251"`,
		"a/esc\x1b[31m": `"a/esc\033[31m"`,
	} {
		if got := gitQuote(in); got != want {
			t.Errorf("gitQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
