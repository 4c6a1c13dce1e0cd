//go:build unix

package scan

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/rewriters"
)

// TestTree: the tree formats read other files through never leaves the
// root, follows no symlink, opens only regular files and folders, hides
// excluded paths and .git, and caps reads.
func TestTree(t *testing.T) {
	t.Parallel()
	outside := writeTree(t, map[string]string{"secret": "outside\n"})
	root := writeTree(t, map[string]string{
		"chart/Chart.yaml":    "appVersion: 1.2.3\n",
		"chart/values.yaml":   "image: x\n",
		"vendor/Chart.yaml":   "excluded\n",
		".git/config":         "git\n",
		"big/file":            strings.Repeat("x", MaxFileSize+1),
		"exact/file":          strings.Repeat("y", 10),
		"dir/link-target.txt": "target\n",
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "out-file")))
	must(os.Symlink(outside, filepath.Join(root, "out-dir")))
	must(os.Symlink("link-target.txt", filepath.Join(root, "dir", "in-link")))
	cfg, err := config.Parse([]byte("exclude: [vendor]\n"))
	must(err)
	tr, err := newTree(root, cfg)
	must(err)
	defer tr.Close()

	if b, err := fs.ReadFile(tr, "chart/Chart.yaml"); err != nil || string(b) != "appVersion: 1.2.3\n" {
		t.Errorf("Chart.yaml = %q, %v", b, err)
	}
	if b, err := fs.ReadFile(tr, "exact/file"); err != nil || len(b) != 10 {
		t.Errorf("exact = %d bytes, %v", len(b), err)
	}
	for _, name := range []string{"out-file", "out-dir/secret", "dir/in-link", "vendor/Chart.yaml", ".git/config", "chart/nope"} {
		if _, err := fs.ReadFile(tr, name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: err = %v, want not exist", name, err)
		}
	}
	for _, name := range []string{"../secret", "/etc/passwd", "chart/../../x", ""} {
		if _, err := tr.Open(name); err == nil {
			t.Errorf("%s opened", name)
		}
	}
	if _, err := fs.ReadFile(tr, "big/file"); !errors.Is(err, errTooLarge) {
		t.Errorf("big: err = %v, want too large", err)
	}
	es, err := fs.ReadDir(tr, "dir")
	if err != nil || len(es) != 1 || es[0].Name() != "link-target.txt" {
		t.Errorf("ReadDir(dir) = %v, %v; want the regular file only", es, err)
	}
	// Not .git, vendor (excluded), out-file or out-dir (symlinks).
	es, err = fs.ReadDir(tr, ".")
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if err != nil || strings.Join(names, " ") != "big chart dir exact" {
		t.Errorf("ReadDir(.) = %v, %v", names, err)
	}
	if err := fstestCheck(tr); err != nil {
		t.Error(err)
	}
}

// fstestCheck: the tree behaves as an fs.FS for a plain file.
func fstestCheck(tr fs.FS) error {
	info, err := fs.Stat(tr, "chart/values.yaml")
	if err != nil || info.Size() != int64(len("image: x\n")) || !info.Mode().IsRegular() {
		return errors.New("Stat(chart/values.yaml) wrong")
	}
	return nil
}

// TestFollow: files a format asks to follow are read with that format,
// once, only inside the root, not excluded, regular, and not claimed by
// another format already.
func TestFollow(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"ci/build":          "FROM followed:1\n",
		"ci/again":          "FROM again:1\n",
		"vendor/x":          "FROM excluded:1\n",
		"compose.yaml":      "services:\n  web:\n    image: nginx:1\n",
		"Dockerfile":        "FROM claimed:1\n",
		"dir/sub/real-file": "FROM deep:1\n",
	})
	if err := os.Symlink(filepath.Join(root, "ci", "build"), filepath.Join(root, "ci", "link")); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte("exclude: [vendor]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := &scanner{root: root, cfg: cfg}
	done := []scanned{
		{rel: "Dockerfile", kind: rewriters.Dockerfile, follow: []string{
			"ci/build", "./ci/build", "ci/link", "vendor/x", "compose.yaml", "Dockerfile",
			"../outside", "/etc/passwd", "nope", "dir/sub/real-file", ".git/x",
		}},
		{rel: "compose.yaml", kind: rewriters.Compose},
	}
	got := s.follow(context.Background(), done)
	var names []string
	for _, r := range got {
		names = append(names, r.rel)
		if r.kind != rewriters.Dockerfile || r.file == nil || len(r.file.Refs) != 1 {
			t.Errorf("%s: kind %s file %+v", r.rel, r.kind, r.file)
		}
	}
	if strings.Join(names, ",") != "ci/build,dir/sub/real-file" {
		t.Errorf("followed %v", names)
	}
}
