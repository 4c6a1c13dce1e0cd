// Package atomicfile replaces files so that a reader, a crash or a signal
// sees either the old content or the new, never a mix, and so that nothing
// is ever written outside the scanned root.
//
// Every step goes through an os.Root opened on the scanned root (Go's
// openat-based API): the folder of the file is opened relative to the root,
// and the temporary file, the rename and the folder sync are relative to
// that folder's descriptor. A folder swapped for a symlink to elsewhere
// while fix runs cannot redirect any of them: os.Root refuses to leave the
// root, and the folder, once open, is the folder written in.
//
// The replacement keeps what the file it replaces had besides its bytes:
// owner and group, permission bits including setuid, setgid and sticky,
// and extended attributes (user.* attributes and POSIX ACLs, which are
// stored as system.posix_acl_* attributes).
package atomicfile

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrOutsideRoot is returned when the target resolves outside the root.
var ErrOutsideRoot = errors.New("outside the scanned root")

// ErrNotRegular is returned when the target is a symlink or not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrChanged is returned by Replace when the file no longer holds the
// content it was expected to hold.
var ErrChanged = errors.New("changed since it was read")

// ErrKeepOwner is returned when the replacement cannot be given the
// original file's owner or group (digestbot does not run as root and the
// file belongs to someone else): the file is left as it was.
var ErrKeepOwner = errors.New("cannot keep the file's owner")

// WriteFile replaces the regular file at path with data. root, when not
// empty, is the scanned root, which path must lie inside; when empty, the
// file's own folder is the root. mode is ignored: the replacement keeps the
// mode (and owner, and extended attributes) of the file it replaces.
func WriteFile(root, path string, data []byte, mode fs.FileMode) error {
	return replace(root, path, nil, data)
}

// Replace is WriteFile that first checks the file still holds old, read
// through the same open folder the write uses (no window for a swap
// between the check and the write). A mismatch returns ErrChanged.
func Replace(root, path string, old, data []byte) error {
	if old == nil {
		old = []byte{}
	}
	return replace(root, path, old, data)
}

func replace(root, p string, old, data []byte) error {
	if root == "" {
		root = filepath.Dir(p)
	}
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return fmt.Errorf("%s: %w", p, ErrOutsideRoot)
	}
	rel = filepath.ToSlash(rel)
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	dirName, base := path.Split(rel)
	dir := r
	if dirName != "" {
		dir, err = r.OpenRoot(strings.TrimSuffix(dirName, "/"))
		if err != nil {
			if isEscape(err) {
				return fmt.Errorf("%s: %w", p, ErrOutsideRoot)
			}
			return err
		}
		defer dir.Close()
	}
	return replaceIn(dir, base, p, old, data)
}

// isEscape reports os.Root's "path escapes from parent" error.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "escapes from parent")
}

// replaceIn replaces base inside dir (display is the path for messages).
func replaceIn(dir *os.Root, base, display string, old, data []byte) error {
	info, err := dir.Lstat(base)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", display, ErrNotRegular)
	}
	// Open the original (never through a symlink: Lstat said regular, and
	// SameFile below catches a swap) to read its content and attributes.
	orig, err := dir.OpenFile(base, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return err
	}
	defer orig.Close()
	oinfo, err := orig.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(info, oinfo) || !oinfo.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", display, ErrChanged)
	}
	if old != nil {
		cur, err := io.ReadAll(io.LimitReader(orig, int64(len(old))+1))
		if err != nil {
			return fmt.Errorf("cannot read before writing: %w", err)
		}
		if !bytes.Equal(cur, old) {
			return ErrChanged
		}
	}

	tmpName := "." + base + ".digestbot-" + randSuffix()
	tmp, err := dir.OpenFile(tmpName, os.O_RDWR|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			_ = dir.Remove(tmpName)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	// Owner first (chown clears setuid/setgid), then extended attributes
	// (ACLs), then the mode, which also sets the ACL mask as it was.
	if err := keepOwner(tmp, oinfo); err != nil {
		return fmt.Errorf("%s: %w", display, err)
	}
	if err := copyXattrs(orig, tmp); err != nil {
		return fmt.Errorf("%s: cannot keep its extended attributes: %w", display, err)
	}
	if err := tmp.Chmod(oinfo.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// The target must still be the file read above.
	if now, err := dir.Lstat(base); err != nil || !os.SameFile(now, oinfo) {
		return fmt.Errorf("%s: %w", display, ErrChanged)
	}
	if err := dir.Rename(tmpName, base); err != nil {
		return err
	}
	ok = true
	// Make the rename durable; failure here does not undo the write.
	if d, err := dir.Open("."); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func randSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
