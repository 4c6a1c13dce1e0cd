//go:build linux

package atomicfile

import (
	"bytes"
	"errors"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// copyXattrs copies every extended attribute of src to dst: user.*
// attributes and POSIX ACLs (system.posix_acl_access/default) must
// survive; security.* and trusted.* ones are copied when the kernel lets
// digestbot, and skipped otherwise (an SELinux label is set by policy on
// the new file anyway).
func copyXattrs(src, dst *os.File) error {
	names, err := listXattrs(int(src.Fd()))
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil // the filesystem has none
		}
		return err
	}
	for _, name := range names {
		val, err := getXattr(int(src.Fd()), name)
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue // removed meanwhile
			}
			return err
		}
		if err := unix.Fsetxattr(int(dst.Fd()), name, val, 0); err != nil {
			if strings.HasPrefix(name, "security.") || strings.HasPrefix(name, "trusted.") {
				continue
			}
			return &os.PathError{Op: "setxattr " + name, Path: dst.Name(), Err: err}
		}
	}
	return nil
}

func listXattrs(fd int) ([]string, error) {
	size := 1024
	for {
		buf := make([]byte, size)
		n, err := unix.Flistxattr(fd, buf)
		if errors.Is(err, unix.ERANGE) && size < 1<<20 {
			size *= 4
			continue
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, b := range bytes.Split(buf[:n], []byte{0}) {
			if len(b) > 0 {
				names = append(names, string(b))
			}
		}
		return names, nil
	}
}

func getXattr(fd int, name string) ([]byte, error) {
	size := 256
	for {
		buf := make([]byte, size)
		n, err := unix.Fgetxattr(fd, name, buf)
		if errors.Is(err, unix.ERANGE) && size < 1<<20 {
			size *= 4
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
