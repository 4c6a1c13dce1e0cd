// Package atomicfile replaces files so that a reader, a crash or a signal
// sees either the old content or the new, never a mix.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutsideRoot is returned when the target resolves outside the root.
var ErrOutsideRoot = errors.New("outside the scanned root")

// ErrNotRegular is returned when the target is a symlink or not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// WriteFile replaces the regular file at path with data, keeping mode. It
// writes a temporary file in the same folder, syncs it, and renames it over
// the target. root, when not empty, must contain the file's real location.
func WriteFile(root, path string, data []byte, mode fs.FileMode) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	dir := filepath.Dir(path)
	if root != "" {
		realRoot, err := filepath.EvalSymlinks(root)
		if err != nil {
			return err
		}
		realDir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(realRoot, realDir)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s: %w", path, ErrOutsideRoot)
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".digestbot-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(mode.Perm()); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	ok = true
	// Make the rename durable; failure here does not undo the write.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
