//go:build unix

package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// oNoFollow makes opening a symlink fail instead of following it.
const oNoFollow = syscall.O_NOFOLLOW

// keepOwner gives tmp the owner and group of the file it replaces. Not
// being allowed to (a file of another user, digestbot not root) is
// ErrKeepOwner: silently handing the file to digestbot's user would lock its
// owner out of a 0640 file.
func keepOwner(tmp *os.File, orig fs.FileInfo) error {
	want, ok := orig.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	have, err := tmp.Stat()
	if err != nil {
		return err
	}
	got, ok := have.Sys().(*syscall.Stat_t)
	if !ok || (got.Uid == want.Uid && got.Gid == want.Gid) {
		return nil
	}
	if err := tmp.Chown(int(want.Uid), int(want.Gid)); err != nil {
		return fmt.Errorf("%w %d:%d (%v); run digestbot as that user", ErrKeepOwner, want.Uid, want.Gid, err)
	}
	return nil
}
