//go:build unix

package scan

import (
	"io/fs"
	"syscall"
)

// readCandidate reads a candidate file in four system calls — open, fstat,
// one read sized from the stat, close — bypassing os.File, whose Open also
// tries (and, for a regular file, fails) to register the descriptor with the
// network poller. It reads at most limit+1 bytes, so a caller can tell a
// file over the limit, and the file's permission and special mode bits. A file that is not regular (replaced by a FIFO or a
// device since the walk saw it) returns regular=false and no bytes; a
// symlink swapped in at the last component is refused (O_NOFOLLOW) unless
// follow is set (the file the user named).
func readCandidate(path string, limit int, follow bool) (src []byte, mode fs.FileMode, regular bool, err error) {
	var fd int
	flags := syscall.O_RDONLY | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	for {
		// O_NONBLOCK: opening a FIFO must not wait for a writer.
		fd, err = syscall.Open(path, flags, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, 0, false, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, 0, false, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, 0, false, nil
	}
	mode = fs.FileMode(st.Mode & 0o777)
	if st.Mode&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if st.Mode&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if st.Mode&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	size := int(st.Size)
	if size > limit {
		size = limit
	}
	// One byte more than the stat said, so a file that grew past the limit
	// since the stat is still caught; a file read whole in one call needs
	// no second read to see EOF.
	buf := make([]byte, size+1)
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, 0, true, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		n += m
		if n == size && size < limit {
			// The whole file as stat'ed: stop without a read for EOF.
			break
		}
	}
	return buf[:n], mode, true, nil
}
