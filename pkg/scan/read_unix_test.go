//go:build unix

package scan

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestReadCandidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, n int, mode fs.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), n), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const limit = 100
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(write("target", 5, 0o644), link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantLen int
		regular bool
		mode    fs.FileMode
		err     bool
	}{
		{"empty", write("empty", 0, 0o644), 0, true, 0o644, false},
		{"small", write("small", 10, 0o640), 10, true, 0o640, false},
		{"at the limit", write("at", limit, 0o644), limit, true, 0o644, false},
		{"over the limit reads limit+1", write("over", 5*limit, 0o644), limit + 1, true, 0o644, false},
		{"setgid and sticky kept", write("special", 3, 0o644|fs.ModeSetgid|fs.ModeSticky), 3, true, 0o644 | fs.ModeSetgid | fs.ModeSticky, false},
		{"fifo is not read and does not block", fifo, 0, false, 0, false},
		{"symlink refused", link, 0, false, 0, true},
		{"missing", filepath.Join(dir, "nope"), 0, false, 0, true},
	}
	if src, _, regular, err := readCandidate(link, limit, true); err != nil || !regular || len(src) != 5 {
		t.Errorf("symlink followed: %d bytes, regular %v, err %v; want 5, true, nil", len(src), regular, err)
	}
	for _, tt := range tests {
		src, mode, regular, err := readCandidate(tt.path, limit, false)
		if (err != nil) != tt.err {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.err)
			continue
		}
		if len(src) != tt.wantLen || regular != tt.regular || mode != tt.mode {
			t.Errorf("%s: %d bytes, regular %v, mode %v; want %d, %v, %v", tt.name, len(src), regular, mode, tt.wantLen, tt.regular, tt.mode)
		}
	}
}
