package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// A file or subfolder PATH (what pre-commit and editors pass) gets the
// repository's config and root-relative paths, exactly as a run from the
// root: ignore: holds, registry mirrors are used, a broken config is an
// error, and --dry-run's diff applies at the root.
func TestConfigDiscovery(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	setup := func(t *testing.T) *world {
		w := newWorld(t, reg)
		w.push("index library/node:20")
		w.push("index library/busybox:1")
		if err := os.Mkdir(filepath.Join(w.root, ".git"), 0o755); err != nil {
			t.Fatal(err)
		}
		w.write(map[string]string{
			".digestbot.yaml":       defaultConfig + "ignore: [busybox]\nexclude: [\"vendor/**\"]\n",
			"k8s/debug/pod.yaml":    "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: busybox:1\n  - image: node:20\n",
			"svc/api/Dockerfile":    "FROM node:20\n",
			"vendor/lib/Dockerfile": "FROM node:20\n",
		})
		return w
	}
	for _, tc := range []struct {
		name string
		args []string
		// wantDiff are the diff headers, root-relative.
		wantDiff []string
	}{
		{"file PATH", []string{"$ROOT/k8s/debug/pod.yaml"}, []string{"--- a/k8s/debug/pod.yaml"}},
		{"subfolder PATH", []string{"$ROOT/k8s"}, []string{"--- a/k8s/debug/pod.yaml"}},
		{"pre-commit: several files, one excluded", []string{"$ROOT/k8s/debug/pod.yaml", "$ROOT/svc/api/Dockerfile", "$ROOT/vendor/lib/Dockerfile"},
			[]string{"--- a/k8s/debug/pod.yaml", "--- a/svc/api/Dockerfile"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := setup(t)
			out, errOut := w.mustRun(0, append([]string{"fix", "--dry-run"}, tc.args...)...)
			var heads []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "--- ") {
					heads = append(heads, l)
				}
			}
			if strings.Join(heads, "\n") != strings.Join(tc.wantDiff, "\n") {
				t.Errorf("diff headers = %q, want %q\n%s\n%s", heads, tc.wantDiff, out, errOut)
			}
			if strings.Contains(out, "busybox:1@") {
				t.Errorf("ignored image pinned:\n%s", out)
			}
			// The diff applies at the root (git apply's -p1 view).
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "+++ b/") {
					if _, err := os.Stat(filepath.Join(w.root, strings.TrimPrefix(l, "+++ b/"))); err != nil {
						t.Errorf("diff names %s, not a file under the root", l)
					}
				}
			}
			js, _ := w.mustRun(1, append([]string{"check", "--format", "json"}, tc.args...)...)
			if !strings.Contains(js, `"file": "k8s/debug/pod.yaml"`) || !strings.Contains(js, `"status": "skipped"`) {
				t.Errorf("check --format json:\n%s", js)
			}
		})
	}

	t.Run("a broken config is found from a file PATH", func(t *testing.T) {
		t.Parallel()
		w := setup(t)
		w.write(map[string]string{".digestbot.yaml": "registry:\n  docker.io: {host: HOST}\n"})
		_, errOut := w.mustRun(2, "check", "$ROOT/k8s/debug/pod.yaml")
		if !strings.Contains(errOut, ".digestbot.yaml: invalid config: line 1: unknown key \"registry\" at the top level; did you mean registries?") {
			t.Errorf("stderr:\n%s", errOut)
		}
	})

	t.Run("--config overrides discovery", func(t *testing.T) {
		t.Parallel()
		w := setup(t)
		w.write(map[string]string{"other.yaml": defaultConfig})
		out, _ := w.mustRun(0, "fix", "--dry-run", "--config", "$ROOT/other.yaml", "$ROOT/k8s/debug/pod.yaml")
		if !strings.Contains(out, "busybox:1@") {
			t.Errorf("with --config (no ignore:), busybox is pinned; got\n%s", out)
		}
	})
}

// A single file named as PATH outside any repository (and with no config
// above it) is read as the format its folders make it, as in a scan of the
// whole tree, though the root is the file's own folder: a workflow in
// .github/workflows/, a devcontainer.json in .devcontainer/. It is named
// relative to that folder and fixed in place, nothing else touched. In a
// repository the root stays the repository's.
func TestSingleFileOutsideRepository(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		".github/workflows/ci.yml":        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    container: node:20\n",
		".devcontainer/devcontainer.json": "{\"image\": \"node:20\"}\n",
		"Dockerfile":                      "FROM node:20\n",
	}
	for _, repo := range []bool{false, true} {
		for rel, src := range files {
			t.Run(fmt.Sprintf("repo=%v/%s", repo, rel), func(t *testing.T) {
				t.Parallel()
				// A registry each: every world pushes node:20 anew.
				w := newWorld(t, testregistry.New(t))
				w.push("index library/node:20")
				// The config lives outside the tree (--config), so none is
				// found above the file and the root is its folder.
				cfg := filepath.Join(filepath.Dir(w.root), "cfg.yaml")
				if err := os.WriteFile(cfg, []byte(w.expand(defaultConfig)), 0o644); err != nil {
					t.Fatal(err)
				}
				for dir := filepath.Dir(w.root); dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
					if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
						t.Skip("the temp folder is inside a repository")
					}
				}
				if repo {
					w.write(map[string]string{".git/HEAD": "ref: refs/heads/main\n"})
				}
				w.write(files)
				path := "$ROOT/" + rel
				name := rel
				if !repo {
					name = filepath.Base(rel)
				}

				js, _ := w.mustRun(0, "scan", "--format", "json", path)
				if !strings.Contains(js, `"file": "`+name+`"`) || strings.Count(js, `"ref": "node:20"`) != 1 {
					t.Errorf("scan --format json %s: want one ref in %q\n%s", rel, name, js)
				}
				diff, _ := w.mustRun(0, "fix", "--dry-run", "--config", cfg, path)
				if !strings.Contains(diff, "--- a/"+name+"\n") {
					t.Errorf("fix --dry-run %s: want a diff of %s\n%s", rel, name, diff)
				}
				before := readTree(t, w.root)
				w.mustRun(0, "fix", "--config", cfg, path)
				after := readTree(t, w.root)
				want := strings.Replace(src, "node:20", w.expand("node:20@<node:20>"), 1)
				if after[rel] != want {
					t.Errorf("after fix %s:\n%s\nwant:\n%s", rel, after[rel], want)
				}
				for p, data := range before {
					if p != rel && after[p] != data {
						t.Errorf("fix %s changed %s", rel, p)
					}
				}
				if len(after) != len(before) {
					t.Errorf("fix %s: %d files after, %d before", rel, len(after), len(before))
				}
			})
		}
	}
}
