package scan

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/config"
)

// tree writes files (path → content) under a new temp folder.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// refsOf lists "file ref" for each ref found, "file ref (skip: why)" for a
// ref its format skips.
func refsOf(res *Result) []string {
	var out []string
	for _, f := range res.Files {
		for _, r := range f.Refs {
			s := f.Path + " " + r.Text
			if r.Skip != "" {
				s += " (skip: " + r.Skip + ")"
			}
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func TestScanWalk(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"Dockerfile":            "FROM node:20\n",
		"svc/api.Dockerfile":    "FROM golang:1.23 AS build\nFROM scratch\n",
		"vendor/x/Dockerfile":   "FROM excluded:1\n",
		"a/testdata/Dockerfile": "FROM excluded:2\n",
		".git/Dockerfile":       "FROM git:1\n",
		"main.go":               "package main // FROM not:this\n",
		"README.md":             "FROM not:this\n",
		"compose.yaml":          "services:\n  web:\n    image: nginx:1.27\n  bb:\n    image: busybox:1\n",
		"deploy/app.yaml":       "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: redis:7\n",
		"deploy/values.yaml":    "image: not-a-ref:1\n",
		"pinned/Dockerfile":     "FROM alpine:3@sha256:" + strings.Repeat("a", 64) + "\n",
	})
	cfg, err := config.Parse([]byte("exclude: [\"vendor/**\", \"**/testdata/**\"]\nignore: [busybox]\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), root, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(refsOf(res), "\n")
	want := strings.Join([]string{
		"Dockerfile node:20",
		"compose.yaml busybox:1", // ignoring is the plan's decision
		"compose.yaml nginx:1.27",
		"deploy/app.yaml redis:7",
		"pinned/Dockerfile alpine:3@sha256:" + strings.Repeat("a", 64),
		"svc/api.Dockerfile golang:1.23",
	}, "\n")
	if got != want {
		t.Errorf("refs:\n%s\nwant:\n%s", got, want)
	}
	if len(res.Problems) != 0 {
		t.Errorf("problems: %v", res.Problems)
	}
	for _, f := range res.Files {
		if f.Root != root || !strings.HasPrefix(f.Abs, root) {
			t.Errorf("%s: root %q abs %q", f.Path, f.Root, f.Abs)
		}
	}
}

func TestScanSingleFile(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{"d/Dockerfile.dev": "FROM node:20\n"})
	res, err := Scan(context.Background(), filepath.Join(root, "d", "Dockerfile.dev"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := refsOf(res); len(got) != 1 || got[0] != "Dockerfile.dev node:20" {
		t.Errorf("refs = %v", got)
	}
	if _, err := Scan(context.Background(), filepath.Join(root, "nope"), Options{}); err == nil {
		t.Error("scanning a missing path succeeded")
	}
}
