package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// tree creates files (a trailing / makes a folder) under a fresh folder.
func tree(t *testing.T, paths ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, p := range paths {
		full := filepath.Join(root, filepath.FromSlash(p))
		if p[len(p)-1] == '/' {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("exclude: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		tree  []string
		path  string // relative to the tree
		cfg   string // want, relative; "" for none
		root  string // want, relative
		isErr error
	}{
		{"file PATH deep in the repository", []string{".git/", ".digestbot.yaml", "k8s/debug/pod.yaml"}, "k8s/debug/pod.yaml", ".digestbot.yaml", ".", nil},
		{"subfolder PATH", []string{".git/", ".digestbot.yaml", "k8s/debug/pod.yaml"}, "k8s", ".digestbot.yaml", ".", nil},
		{"the root itself", []string{".git/", ".digestbot.yaml"}, ".", ".digestbot.yaml", ".", nil},
		{".yml spelling", []string{".git/", ".digestbot.yml", "a/Dockerfile"}, "a/Dockerfile", ".digestbot.yml", ".", nil},
		{"nearest config wins (a project inside a monorepo)", []string{".git/", ".digestbot.yaml", "svc/.digestbot.yaml", "svc/x/Dockerfile"}, "svc/x/Dockerfile", "svc/.digestbot.yaml", "svc", nil},
		{"no config: root is the repository root", []string{".git/", "a/b/Dockerfile"}, "a/b/Dockerfile", "", ".", nil},
		{"stops at .git: a config above the repository is not read", []string{".digestbot.yaml", "repo/.git/", "repo/a/Dockerfile"}, "repo/a", "", "repo", nil},
		{".git as a file (worktree, submodule)", []string{".digestbot.yaml", "repo/.git", "repo/a/Dockerfile"}, "repo/a/Dockerfile", "", "repo", nil},
		{"both spellings in one folder", []string{".git/", ".digestbot.yaml", ".digestbot.yml", "a/"}, "a", "", "", ErrAmbiguous},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := tree(t, tc.tree...)
			cfg, root, err := Discover(filepath.Join(dir, filepath.FromSlash(tc.path)))
			if tc.isErr != nil {
				if !errors.Is(err, tc.isErr) {
					t.Fatalf("err = %v, want %v", err, tc.isErr)
				}
				// The root is still known (--config runs name files
				// from it): the folder holding both files.
				if want := filepath.Dir(filepath.Join(dir, ".digestbot.yaml")); root != want {
					t.Fatalf("root = %q, want %q", root, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantCfg := ""
			if tc.cfg != "" {
				wantCfg = filepath.Join(dir, filepath.FromSlash(tc.cfg))
			}
			if cfg != wantCfg || root != filepath.Join(dir, tc.root) {
				t.Errorf("Discover = %q, %q; want %q, %q", cfg, root, wantCfg, filepath.Join(dir, tc.root))
			}
		})
	}
}

// Outside any repository, with no config anywhere above, the root is the
// PATH's own folder (what digestbot did before discovery).
func TestDiscoverOutsideRepository(t *testing.T) {
	t.Parallel()
	dir := tree(t, "a/b/Dockerfile")
	_, root, err := Discover(filepath.Join(dir, "a", "b", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// A config or .git above the temp folder would be found; none is
	// expected on a test machine, but do not fail on one.
	if root != filepath.Join(dir, "a", "b") {
		if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
			t.Errorf("root = %q, want %q", root, filepath.Join(dir, "a", "b"))
		}
	}
	if _, _, err := Discover(filepath.Join(dir, "missing")); err == nil {
		t.Error("Discover(missing) = nil error")
	}
}

// A config in a folder above PATH, outside any repository, that another
// user owns is refused (a planted /tmp/.digestbot.yaml); the same file
// owned by the user, or inside a repository, or in PATH's own folder, is
// read.
func TestDiscoverUntrustedOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	const other = 65534 // nobody
	dir := tree(t, ".digestbot.yaml", "a/Dockerfile", "repo/.git/HEAD", "repo/.digestbot.yaml", "repo/a/Dockerfile")
	for _, f := range []string{".digestbot.yaml", "repo/.digestbot.yaml"} {
		if err := os.Lchown(filepath.Join(dir, f), other, other); err != nil {
			t.Fatal(err)
		}
	}
	// Above PATH, outside a repository, another user's: refused.
	if _, root, err := Discover(filepath.Join(dir, "a", "Dockerfile")); !errors.Is(err, ErrUntrusted) || root != filepath.Join(dir, "a") {
		// The root is PATH's own folder, as when nothing is found
		// outside a repository, never the untrusted file's.
		t.Fatalf("err = %v, root = %q; want ErrUntrusted, %q", err, root, filepath.Join(dir, "a"))
	}
	// In PATH's own folder: the user chose that folder.
	if cfg, _, err := Discover(dir); err != nil || cfg != filepath.Join(dir, ".digestbot.yaml") {
		t.Errorf("config in PATH's folder: %q, %v", cfg, err)
	}
	// Inside a repository: the repository's own file, read as before.
	if cfg, _, err := Discover(filepath.Join(dir, "repo", "a", "Dockerfile")); err != nil || cfg != filepath.Join(dir, "repo", ".digestbot.yaml") {
		t.Errorf("config of a repository: %q, %v", cfg, err)
	}
	// The user's own: read.
	if err := os.Lchown(filepath.Join(dir, ".digestbot.yaml"), os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if cfg, _, err := Discover(filepath.Join(dir, "a", "Dockerfile")); err != nil || cfg != filepath.Join(dir, ".digestbot.yaml") {
		t.Errorf("own config above PATH: %q, %v", cfg, err)
	}
}
