package fakegithub

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The fake's object names must be git's, so that clients comparing blob
// SHAs computed locally see what they would on GitHub.
func TestObjectNamesMatchGit(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	files := map[string]string{
		"Dockerfile":          "FROM node:20\n",
		"deploy/app.yaml":     "image: nginx:1.27\n",
		"deploy/sub/x.yaml":   "x: 1",
		"deploy-a.yaml":       "sorted before deploy/ in git order\n",
		"compose.yaml":        "",
		"a/b/c/d/e/deep.txt":  "deep\n",
		"z_script.sh":         "#!/bin/sh\n",
		"unicode-ä/straße.md": "ü\n",
	}
	s := New(t, "o", "r")
	var fs []File
	for p, c := range files {
		mode := ModeFile
		if strings.HasSuffix(p, ".sh") {
			mode = ModeExec
		}
		fs = append(fs, File{Path: p, Content: c, Mode: mode})
	}
	head := s.Commit("main", "seed", fs...)
	info, _ := s.GetCommit(head)

	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
	}
	git("add", "-A")
	if got := git("write-tree"); got != info.Tree {
		t.Errorf("tree: fake %s, git %s", info.Tree, got)
	}
	if got := git("hash-object", "Dockerfile"); got != BlobSHA([]byte(files["Dockerfile"])) {
		t.Errorf("blob: fake %s, git %s", BlobSHA([]byte(files["Dockerfile"])), got)
	}
	if got := s.Files("main"); len(got) != len(files) || got["deploy/app.yaml"] != files["deploy/app.yaml"] {
		t.Errorf("Files = %v", got)
	}
}

// The patch GitHub shows is git's unified diff with three lines of context.
func TestPatchMatchesGitDiff(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	var old, new strings.Builder
	for i := 1; i <= 30; i++ {
		line := "line " + string(rune('a'+i%26)) + "\n"
		old.WriteString(line)
		switch i {
		case 3:
			new.WriteString("changed 3\n")
		case 10:
			new.WriteString(line + "inserted after 10\n")
		case 20:
			// deleted
		case 28:
			new.WriteString("changed 28\nand another\n")
		default:
			new.WriteString(line)
		}
	}
	cases := []struct{ name, old, new string }{
		{"mixed", old.String(), new.String()},
		{"added", "", "a\nb\n"},
		{"no newline", "a\nb", "a\nc"},
		{"adjacent hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\nX\n3\n4\n5\n6\n7\n8\nY\n10\n11\n12\n"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		_ = os.WriteFile(a, []byte(c.old), 0o644)
		_ = os.WriteFile(b, []byte(c.new), 0o644)
		out, _ := exec.Command("git", "diff", "--no-index", "--no-color", "--diff-algorithm=minimal", a, b).Output()
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		i := 0
		for i < len(lines) && !strings.HasPrefix(lines[i], "@@") {
			i++
		}
		var want []string
		for _, l := range lines[i:] {
			// git prints the function context after the second @@.
			if strings.HasPrefix(l, "@@") {
				l = l[:strings.LastIndex(l, "@@")+2]
			}
			want = append(want, l)
		}
		got, _, _, ok := patch(c.old, c.new)
		if !ok || got != strings.Join(want, "\n") {
			t.Errorf("%s: patch\n%s\nwant (git)\n%s", c.name, got, strings.Join(want, "\n"))
		}
	}
}

func TestRightLines(t *testing.T) {
	t.Parallel()
	p, _, _, _ := patch("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nE\nf\ng\nh\n")
	got := rightLines(p)
	for _, n := range []int{2, 3, 4, 5, 6, 7, 8} {
		if !got[n] {
			t.Errorf("line %d not in diff %v", n, got)
		}
	}
	if got[1] {
		t.Errorf("line 1 outside the hunk is in %v", got)
	}
}
