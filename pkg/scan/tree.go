package scan

import (
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/digestbot/digestbot/pkg/config"
)

// tree is the fs.FS formats read other files of the scanned root through
// (rewriters.File.Tree: Chart.yaml beside a values file, a compose .env).
// Formats parse untrusted repositories, so the tree is strict: it never
// leaves the root (os.Root), follows no symlink at any depth, opens only
// regular files and folders, hides excluded paths and .git, and caps reads
// at MaxFileSize.
type tree struct {
	root *os.Root
	cfg  *config.Config
}

var (
	_ fs.FS         = (*tree)(nil)
	_ fs.ReadFileFS = (*tree)(nil)
	_ fs.StatFS     = (*tree)(nil)
)

func newTree(dir string, cfg *config.Config) (*tree, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &tree{root: r, cfg: cfg}, nil
}

// Close releases the root.
func (t *tree) Close() error { return t.root.Close() }

// check refuses invalid, excluded and .git paths, and any symlink or
// special file on the way.
func (t *tree) check(op, name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name != "." && (t.cfg.Excluded(name) || hasGitDir(name)) {
		return nil, &fs.PathError{Op: op, Path: name, Err: errNotAllowed}
	}
	var info fs.FileInfo
	cur := "."
	parts := strings.Split(name, "/")
	if name == "." {
		parts = []string{"."}
	}
	for _, part := range parts {
		if cur == "." {
			cur = part
		} else {
			cur += "/" + part
		}
		i, err := t.root.Lstat(cur)
		if err != nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: unwrapPath(err)}
		}
		if !i.IsDir() && !i.Mode().IsRegular() {
			return nil, &fs.PathError{Op: op, Path: name, Err: errNotAllowed}
		}
		info = i
	}
	return info, nil
}

// Stat implements fs.StatFS.
func (t *tree) Stat(name string) (fs.FileInfo, error) { return t.check("stat", name) }

// Open implements fs.FS.
func (t *tree) Open(name string) (fs.File, error) {
	if _, err := t.check("open", name); err != nil {
		return nil, err
	}
	f, err := t.root.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil || (!info.IsDir() && !info.Mode().IsRegular()) {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotAllowed}
	}
	return &capped{File: f, left: MaxFileSize, name: name, tree: t}, nil
}

// ReadFile implements fs.ReadFileFS with the size cap.
func (t *tree) ReadFile(name string) ([]byte, error) {
	f, err := t.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

// capped is an open file of the tree whose reads stop with an error past
// MaxFileSize.
type capped struct {
	*os.File
	left int64
	name string // the root-relative name it was opened by
	tree *tree
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a file of exactly the cap from a larger one.
		var one [1]byte
		if n, _ := c.File.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.File.Read(p)
	c.left -= int64(n)
	return n, err
}

// ReadDir lists a folder, leaving out what the tree refuses to open:
// symlinks and special files, excluded paths and .git.
func (c *capped) ReadDir(n int) ([]fs.DirEntry, error) {
	es, err := c.File.ReadDir(n)
	out := es[:0]
	for _, e := range es {
		rel := e.Name()
		if c.name != "." {
			rel = c.name + "/" + rel
		}
		if (e.IsDir() || e.Type().IsRegular()) && e.Name() != ".git" && !c.tree.cfg.Excluded(rel) {
			out = append(out, e)
		}
	}
	return out, err
}

// mount shows a tree as the folder at (a '/'-separated path) of an
// otherwise empty tree: the scanned root seen from its repository root,
// which formats classify files from (scanner.context). Names outside at do
// not exist, so nothing outside the scanned root is read.
type mount struct {
	fsys fs.FS
	at   string
}

var (
	_ fs.ReadFileFS = mount{}
	_ fs.StatFS     = mount{}
)

// name maps a name of the mount to the tree's.
func (m mount) name(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == m.at {
		return ".", nil
	}
	if rest, ok := strings.CutPrefix(name, m.at+"/"); ok {
		return rest, nil
	}
	return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

// Open implements fs.FS.
func (m mount) Open(name string) (fs.File, error) {
	n, err := m.name("open", name)
	if err != nil {
		return nil, err
	}
	return m.fsys.Open(n)
}

// Stat implements fs.StatFS.
func (m mount) Stat(name string) (fs.FileInfo, error) {
	n, err := m.name("stat", name)
	if err != nil {
		return nil, err
	}
	return fs.Stat(m.fsys, n)
}

// ReadFile implements fs.ReadFileFS.
func (m mount) ReadFile(name string) ([]byte, error) {
	n, err := m.name("read", name)
	if err != nil {
		return nil, err
	}
	return fs.ReadFile(m.fsys, n)
}
