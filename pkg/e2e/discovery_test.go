package e2e

import (
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
