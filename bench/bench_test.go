//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	maybeLaunch() // the benchmark's launcher re-executes this binary
	os.Exit(m.Run())
}

// TestBenchSmall runs the whole benchmark on a small tree, so the driver
// keeps working and its request-count claims keep holding in CI: exactly one
// manifest HEAD per unique tag and no GET, for check and for fix, and a
// check after fix finds everything pinned (Run fails otherwise).
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds digestbot; skipped with -short")
	}
	t.Parallel()
	o := Options{
		Shape:       Shape{Files: 2000, ImageFiles: 120, Tags: 40, Seed: 7, PerFolder: 3, YAMLPermil: 200},
		Concurrency: 8,
		Runs:        1,
		Registry:    os.Getenv("DIGESTBOT_E2E_REGISTRY"),
		Dir:         t.TempDir(),
		Commands:    []string{"scan", "check", "fix"},
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	res.Print(&out)
	t.Log("\n" + out.String())
	if res.UsedTags != o.Shape.Tags {
		t.Errorf("%d tags referenced, want all %d", res.UsedTags, o.Shape.Tags)
	}
	if res.WalkFloor == nil || res.WalkFloor.Wall <= 0 {
		t.Errorf("no walk floor measured")
	}
	if res.HeadFloor == nil || res.HeadFloor.Heads != int64(res.UsedTags) {
		t.Errorf("HEAD loop: %+v, want %d HEADs", res.HeadFloor, res.UsedTags)
	}
	for _, m := range res.Cmds {
		if m.Command == "scan" {
			continue
		}
		if m.Heads != int64(res.UsedTags) || m.Gets != 0 {
			t.Errorf("%s: %d HEADs and %d GETs, want %d and 0", m.Command, m.Heads, m.Gets, res.UsedTags)
		}
		if m.RSSKiB > 150<<10 {
			t.Errorf("%s: peak RSS %d MiB", m.Command, m.RSSKiB>>10)
		}
	}
}

// TestGenerateDeterministic: the same shape gives the same tree.
func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	s := Shape{Files: 300, ImageFiles: 15, Tags: 10, Seed: 3}
	a, err := Generate(filepath.Join(t.TempDir(), "a"), s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(filepath.Join(t.TempDir(), "b"), s)
	if err != nil {
		t.Fatal(err)
	}
	if a.Bytes != b.Bytes || a.Refs != b.Refs || len(a.images) != len(b.images) || len(a.images) != s.ImageFiles {
		t.Fatalf("trees differ: %d/%d bytes, %d/%d refs, %d/%d image files", a.Bytes, b.Bytes, a.Refs, b.Refs, len(a.images), len(b.images))
	}
	for i := range a.images {
		if a.images[i].rel != b.images[i].rel || string(a.images[i].data) != string(b.images[i].data) {
			t.Fatalf("image file %d differs", i)
		}
	}
}
