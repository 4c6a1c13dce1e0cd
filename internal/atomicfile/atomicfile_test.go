package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	p := filepath.Join(root, "Dockerfile")
	if err := os.WriteFile(p, []byte("old"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(root, p, []byte("new"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	info, _ := os.Stat(p)
	if string(b) != "new" || info.Mode().Perm() != 0o755 {
		t.Errorf("got %q mode %v", b, info.Mode())
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestWriteFileRefusesSymlinks(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	root := t.TempDir()
	target := filepath.Join(outside, "Dockerfile")
	if err := os.WriteFile(target, []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "Dockerfile")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(root, link, []byte("x"), 0o644); !errors.Is(err, ErrNotRegular) {
		t.Errorf("symlinked file: err = %v", err)
	}
	// A folder symlink that leads out of the root.
	if err := os.Symlink(outside, filepath.Join(root, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(root, filepath.Join(root, "sub", "Dockerfile"), []byte("x"), 0o644); !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("through a folder symlink: err = %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "outside" {
		t.Errorf("file outside the root was written: %q", b)
	}
}
