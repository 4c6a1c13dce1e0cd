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

// TestFolderSwappedForSymlink races the write against a folder being
// swapped for a symlink to a folder outside the root, as an attacker with
// write access to the tree could: nothing is ever written outside the root,
// neither the file nor a temporary file.
func TestFolderSwappedForSymlink(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "Dockerfile"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "sub")
	real := filepath.Join(root, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "Dockerfile"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// sub is the real folder, then a symlink out of the root.
			_ = os.Remove(sub)
			if i%2 == 0 {
				_ = os.Symlink(real, sub)
			} else {
				_ = os.Symlink(outside, sub)
			}
		}
	}()
	for range 300 {
		_ = WriteFile(root, filepath.Join(sub, "Dockerfile"), []byte("new"), 0o644)
	}
	close(stop)
	<-done
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("files appeared outside the root: %v", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "Dockerfile")); string(b) != "outside" {
		t.Errorf("the file outside the root was written: %q", b)
	}
}

func TestReplaceChecksContent(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	p := filepath.Join(root, "Dockerfile")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Replace(root, p, []byte("other"), []byte("new")); !errors.Is(err, ErrChanged) {
		t.Errorf("err = %v, want ErrChanged", err)
	}
	if err := Replace(root, p, []byte("old"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("content %q", b)
	}
}
