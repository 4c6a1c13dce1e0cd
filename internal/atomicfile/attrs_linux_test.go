//go:build linux

package atomicfile

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// posixACL encodes a POSIX access ACL as the kernel stores it in
// system.posix_acl_access: user::rw- user:65534:r-- group::r-- mask::r-- other::---.
func posixACL() []byte {
	type entry struct {
		tag, perm uint16
		id        uint32
	}
	es := []entry{{0x01, 6, ^uint32(0)}, {0x02, 4, 65534}, {0x04, 4, ^uint32(0)}, {0x10, 4, ^uint32(0)}, {0x20, 0, ^uint32(0)}}
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range es {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}

// TestKeepsOwnerModeAndXattrs: the replacement has the replaced file's
// owner and group, special bits and extended attributes. CI runs tests as
// root, so the owner case runs there; elsewhere it is skipped.
func TestKeepsOwnerModeAndXattrs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	p := filepath.Join(root, "Dockerfile")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	mode := fs.FileMode(0o640) | fs.ModeSetgid
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	asRoot := os.Geteuid() == 0
	if asRoot {
		if err := os.Chown(p, 65534, 65534); err != nil { // nobody:nogroup
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // chown cleared setgid
			t.Fatal(err)
		}
	}
	xattrs := map[string][]byte{"user.origin": []byte("kept"), "system.posix_acl_access": posixACL()}
	for name, val := range xattrs {
		if err := unix.Setxattr(p, name, val, 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
				delete(xattrs, name)
				t.Logf("%s not supported here: %v", name, err)
				continue
			}
			t.Fatalf("setxattr %s: %v", name, err)
		}
	}
	before, _ := os.Stat(p)
	if err := WriteFile(root, p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	if after.Mode() != before.Mode() {
		t.Errorf("mode %v, want %v", after.Mode(), before.Mode())
	}
	bs, as := before.Sys().(*syscall.Stat_t), after.Sys().(*syscall.Stat_t)
	if bs.Uid != as.Uid || bs.Gid != as.Gid {
		t.Errorf("owner %d:%d, want %d:%d", as.Uid, as.Gid, bs.Uid, bs.Gid)
	}
	if asRoot && (as.Uid != 65534 || as.Gid != 65534) {
		t.Errorf("owner %d:%d, want nobody:nogroup", as.Uid, as.Gid)
	}
	for name, want := range xattrs {
		buf := make([]byte, 1024)
		n, err := unix.Getxattr(p, name, buf)
		if err != nil || string(buf[:n]) != string(want) {
			t.Errorf("xattr %s = %q, %v; want %q", name, buf[:max(n, 0)], err, want)
		}
	}
	if len(xattrs) == 0 {
		t.Log("no extended attributes supported on this filesystem: only owner and mode checked")
	}

	// The sticky bit too.
	q := filepath.Join(root, "compose.yaml")
	if err := os.WriteFile(q, []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(q, 0o644|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(root, q, []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(q); info.Mode() != 0o644|fs.ModeSticky {
		t.Errorf("sticky file mode %v", info.Mode())
	}
}
