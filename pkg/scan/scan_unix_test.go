//go:build unix

package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/digestbot/digestbot/pkg/finding"
)

func TestScanHostileFiles(t *testing.T) {
	t.Parallel()
	outside := writeTree(t, map[string]string{"Dockerfile": "FROM outside:1\n"})
	root := writeTree(t, map[string]string{
		"ok/Dockerfile":     "FROM node:20\n",
		"bin/Dockerfile":    "FROM a\x00\x01\x02",
		"bad/compose.yaml":  "services:\n  web:\n    image: [unclosed\n",
		"huge/Dockerfile":   "FROM node:20\n" + strings.Repeat("#", MaxFileSize),
		"locked/Dockerfile": "FROM locked:1\n",
		"fifo/README":       "a named pipe called Dockerfile lives here\n",
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Symlinks are never followed: not to a file outside, not to a folder
	// outside, not in a loop.
	must(os.Symlink(filepath.Join(outside, "Dockerfile"), filepath.Join(root, "Dockerfile")))
	must(os.Symlink(outside, filepath.Join(root, "out")))
	must(os.Symlink(root, filepath.Join(root, "loop")))
	must(syscall.Mkfifo(filepath.Join(root, "fifo", "Dockerfile"), 0o644))
	must(os.Chmod(filepath.Join(root, "locked", "Dockerfile"), 0))
	res, err := Scan(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := refsOf(res); strings.Join(got, ",") != "ok/Dockerfile node:20" && !(os.Geteuid() == 0 && len(got) == 2) {
		t.Errorf("refs = %v", got)
	}
	want := map[string]string{
		"bin/Dockerfile":   "not a text file",
		"bad/compose.yaml": "cannot parse as compose",
		"huge/Dockerfile":  "larger than",
	}
	if os.Geteuid() != 0 {
		want["locked/Dockerfile"] = "permission denied"
	}
	got := map[string]finding.Problem{}
	for _, p := range res.Problems {
		got[p.File] = p
	}
	for f, msg := range want {
		if !strings.Contains(got[f].String(), msg) {
			t.Errorf("problem for %s = %q, want it to mention %q", f, got[f].String(), msg)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems = %v", res.Problems)
	}
}
