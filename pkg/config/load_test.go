//go:build unix

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadOnlyBoundedRegularFiles: a config that is /dev/zero, a FIFO, a
// folder or too large is refused at once; a repository's own config that
// leads outside the repository is refused without reading (or showing) its
// target.
func TestLoadOnlyBoundedRegularFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("TOP-SECRET-CONTENT: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{"zero.yaml": "/dev/zero", "out.yaml": outside}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.yaml"), []byte("exclude: []\n#"+strings.Repeat("x", MaxFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "folder.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"zero.yaml", "fifo.yaml", "big.yaml", "folder.yaml", "out.yaml"} {
		done := make(chan error, 1)
		go func() {
			_, err := LoadInRoot(dir, name)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: loaded", name)
			} else if strings.Contains(err.Error(), "TOP-SECRET") {
				t.Errorf("%s: error shows the target's content: %v", name, err)
			}
			if name == "out.yaml" && !errors.Is(err, ErrNotRegular) {
				t.Errorf("out.yaml: err = %v, want ErrNotRegular", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still reading after 5 s", name)
		}
	}
	// An explicit --config may point anywhere, but must still be a
	// bounded regular file.
	if _, err := Load("/dev/zero"); err == nil {
		t.Error("Load(/dev/zero) loaded")
	}
	if _, err := Load(filepath.Join(dir, "fifo.yaml")); err == nil {
		t.Error("Load(fifo) loaded")
	}
}

func TestHostWithLoginRefused(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("registries:\n  docker.io: {host: 'robot:pa55word@evil.example'}\n"))
	if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "pa55word") {
		t.Errorf("err = %v", err)
	}
}
