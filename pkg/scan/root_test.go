package scan

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/config"
)

// PATH "." (the default) and other unclean spellings scan the same files
// as the folder's own name: WalkDir yields cleaned names.
func TestScanUncleanPaths(t *testing.T) {
	root := writeTree(t, map[string]string{"Dockerfile": "FROM node:20\n", "a/compose.yaml": "services:\n  w:\n    image: nginx:1\n"})
	t.Chdir(root) // not parallel: changes the process's folder
	want := []string{"Dockerfile node:20", "a/compose.yaml nginx:1"}
	for _, p := range []string{".", "./", root, root + "/", filepath.Join(root, "a") + "/.."} {
		res, err := Scan(context.Background(), p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := refsOf(res); !reflect.DeepEqual(got, want) {
			t.Errorf("Scan(%q) = %q, want %q", p, got, want)
		}
	}
}

// An empty PATH (a script's unset "$FILE") is refused, not read as the
// current folder: fix "" would otherwise rewrite every file under it.
func TestScanEmptyPath(t *testing.T) {
	t.Parallel()
	if _, err := Scan(context.Background(), "", Options{}); err == nil || !strings.Contains(err.Error(), "empty PATH") {
		t.Fatalf("Scan(\"\") error = %v, want one naming the empty PATH", err)
	}
}

// With Root, a subfolder or a file PATH is named relative to the root and
// the root's excludes apply to it, as in a scan of the whole root.
func TestScanWithRoot(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"k8s/debug/pod.yaml":  "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: redis:7\n",
		"vendor/x/Dockerfile": "FROM excluded:1\n",
		"Dockerfile":          "FROM node:20\n",
	})
	cfg, err := config.Parse([]byte("exclude: [\"vendor/**\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"k8s/debug/pod.yaml", []string{"k8s/debug/pod.yaml redis:7"}},
		{"k8s", []string{"k8s/debug/pod.yaml redis:7"}},
		{"k8s/debug", []string{"k8s/debug/pod.yaml redis:7"}},
		{"Dockerfile", []string{"Dockerfile node:20"}},
		{".", []string{"Dockerfile node:20", "k8s/debug/pod.yaml redis:7"}},
		{"vendor/x/Dockerfile", nil}, // excluded even when named
		{"vendor", nil},
	} {
		res, err := Scan(context.Background(), filepath.Join(root, tc.path), Options{Config: cfg, Root: root})
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if got := refsOf(res); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Scan(%s) = %q, want %q", tc.path, got, tc.want)
		}
		if res.Root != root {
			t.Errorf("Scan(%s).Root = %q", tc.path, res.Root)
		}
		for _, f := range res.Files {
			if f.Root != root {
				t.Errorf("%s: File.Root = %q, want the root (writes stay inside it)", f.Path, f.Root)
			}
		}
	}
	if _, err := Scan(context.Background(), t.TempDir(), Options{Root: root}); err == nil || !strings.Contains(err.Error(), "not inside the root") {
		t.Errorf("PATH outside Root: err = %v", err)
	}
}
