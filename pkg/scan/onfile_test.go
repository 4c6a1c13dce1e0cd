package scan

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// TestOnFile: OnFile sees every file that holds references, once each and
// by the pointer the Result holds (walked files and files a format
// followed), and no file without references.
func TestOnFile(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		".gitlab-ci.yml":     "include:\n  - local: ci/build.yml\njob:\n  image: golang:1.23\n",
		"ci/build.yml":       "build:\n  image: alpine:3.20\n",
		"deploy/app.yaml":    "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.27\n",
		"deploy/config.yaml": "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n",
		"notes.md":           "FROM nginx:1.27\n",
		"Dockerfile.empty":   "# nothing\n",
		"go/Dockerfile":      "FROM golang:1.23\n",
	}
	for i := range 40 {
		files["svc/"+string(rune('a'+i%26))+"/"+string(rune('a'+i/26))+"/Dockerfile"] = "FROM node:20\n"
	}
	root := writeTree(t, files)
	var mu sync.Mutex
	seen := map[*File]int{}
	res, err := Scan(context.Background(), root, Options{OnFile: func(f *File) {
		mu.Lock()
		seen[f]++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 44 {
		t.Fatalf("%d files with refs, want 44: %v", len(res.Files), refsOf(res))
	}
	var paths []string
	for _, f := range res.Files {
		if n := seen[f]; n != 1 {
			t.Errorf("OnFile saw %s %d times, want once", f.Path, n)
		}
		paths = append(paths, f.Path)
	}
	if len(seen) != len(res.Files) {
		t.Errorf("OnFile saw %d files, the result holds %d", len(seen), len(res.Files))
	}
	if !slices.Contains(paths, "ci/build.yml") {
		t.Errorf("the followed include is missing: %v", paths)
	}
}
