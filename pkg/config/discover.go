package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileNames are the names a config file may have, in the order Discover
// looks for them.
var FileNames = []string{FileName, ".digestbot.yml"}

// Discover finds the config that applies to path (a file or a folder) the
// way git finds its repository: it walks up from path's folder and stops at
// the first folder holding .digestbot.yaml or .digestbot.yml, or at the
// repository root (the folder holding .git), whichever comes first.
//
// It returns the config file's path ("" when there is none) and the root
// that findings are reported relative to: the config's folder, else the
// repository root, else path's own folder (path outside any repository).
// Both are absolute. Editors and pre-commit pass single files from deep in
// a tree; they get the same config, exclusions and paths as a run from
// the root.
func Discover(path string) (cfgPath, root string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("find config for %s: %w", path, err)
	}
	start := abs
	info, err := os.Stat(abs)
	if err != nil {
		return "", "", fmt.Errorf("find config for %s: %w", path, err)
	}
	if !info.IsDir() {
		start = filepath.Dir(abs)
	}
	for dir := start; ; {
		found, err := configIn(dir)
		if err != nil {
			// The root stays known: a run given --config still names
			// files from it.
			return "", dir, err
		}
		if found != "" {
			if dir != start && !inRepository(dir) {
				// Outside a repository, the walk up can reach shared
				// folders (/tmp); like git's safe.directory, a config
				// there must be the user's own (or root's).
				if uid, ok := fileOwner(found); ok && uid != os.Geteuid() && uid != 0 {
					return "", start, fmt.Errorf("%w: %s belongs to uid %d and sits above %s, outside any repository, where another user could have put it; pass --config %s to use it, or run from a folder of your own", ErrUntrusted, found, uid, path, found)
				}
			}
			return found, dir, nil
		}
		// .git is a folder in a clone and a file in a worktree or
		// submodule; either marks the repository root.
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return "", dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", start, nil
		}
		dir = parent
	}
}

// configIn returns the config file in dir, "" when there is none.
func configIn(dir string) (string, error) {
	var found []string
	for _, name := range FileNames {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err == nil {
			found = append(found, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read config: %w", err)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: %s and %s; keep one", ErrAmbiguous, found[0], filepath.Base(found[1]))
}

// inRepository reports whether dir or a folder above it holds .git.
func inRepository(dir string) bool {
	_, ok := RepoRoot(dir)
	return ok
}

// RepoRoot returns the repository root of the absolute folder dir: the
// nearest folder from dir up (dir included) holding .git, a folder in a
// clone and a file in a worktree or submodule; ok is false outside any
// repository.
func RepoRoot(dir string) (root string, ok bool) {
	for {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
