package scan

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestParallelWalkOrder: the parallel walk returns files in the order
// filepath.WalkDir visits them, on every run.
func TestParallelWalkOrder(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, p := range []string{"a/Dockerfile", "a-b/Dockerfile", "a/x/Dockerfile", "a.b/Dockerfile", "Dockerfile", "b/c/d/e/Dockerfile", "a/Dockerfile.x", "A/Dockerfile"} {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("FROM alpine:3.20\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			want = append(want, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 5; run++ {
		res, err := Scan(context.Background(), root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range res.Files {
			got = append(got, f.Path)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("run %d: order %q, want WalkDir's %q", run, got, want)
		}
	}
}
