package plan_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/plan"
)

// TestRunAsALibrary: the run is a library call with no command line: scan,
// resolve against a registry, decide, write atomically; a second run finds
// nothing to change.
func TestRunAsALibrary(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	idx := reg.PushIndex(t, "library/nginx", "1.27", "linux/amd64", "linux/arm64")
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".digestbot.yaml", "registries:\n  docker.io: {host: "+reg.Host()+", tls: disabled}\n")
	write("Dockerfile", "FROM nginx:1.27 AS web\n")
	write("compose.yaml", "services:\n  web:\n    image: nginx:1.27\n  db:\n    image: ${DB_IMAGE}\n")

	ctx := context.Background()
	out, err := plan.Run(ctx, plan.Options{Paths: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range out.Findings {
		got = append(got, f.File+" "+string(f.Status))
	}
	if len(out.Findings) != 3 || out.Findings[0].Status != finding.Unpinned || finding.Deref(out.Findings[0].Resolved) != idx.Digest ||
		out.Findings[1].Status != finding.Unpinned || out.Findings[2].Status != finding.Skipped {
		t.Fatalf("findings = %v", got)
	}
	if len(out.Files) != 2 || len(out.Problems) != 0 || len(out.Unpinnable) != 0 {
		t.Fatalf("files %d, problems %v, unpinnable %v", len(out.Files), out.Problems, out.Unpinnable)
	}
	errs, err := plan.Write(ctx, out.Files)
	if err != nil || errors.Join(errs...) != nil {
		t.Fatalf("write: %v %v", err, errs)
	}
	b, _ := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if string(b) != "FROM nginx:1.27@"+idx.Digest+" AS web\n" {
		t.Errorf("Dockerfile = %q", b)
	}

	again, err := plan.Run(ctx, plan.Options{Paths: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Files) != 0 || again.Findings[0].Status != finding.OK {
		t.Errorf("second run: %d files, %+v", len(again.Files), again.Findings[0])
	}

	// The offline run decides the offline statuses from the same refs.
	off, err := plan.Scan(ctx, plan.Options{Paths: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	if off.Findings[0].Status != finding.Pinned || off.Findings[1].Status != finding.Pinned || off.Findings[2].Status != finding.Skipped {
		t.Errorf("scan: %+v", off.Findings)
	}
}

// TestRunErrors: bad options and configs are errors the caller can tell
// apart, with messages that say what to do.
func TestRunErrors(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if _, err := plan.Run(context.Background(), plan.Options{Paths: []string{root}, Concurrency: -1}); !errors.Is(err, plan.ErrUsage) {
		t.Errorf("concurrency -1: %v", err)
	}
	if err := os.WriteFile(filepath.Join(root, ".digestbot.yaml"), []byte("bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := plan.Run(context.Background(), plan.Options{Paths: []string{root}})
	if !errors.Is(err, plan.ErrConfig) || err.Error() == "" {
		t.Errorf("bad config: %v", err)
	}
}

// TestRunRelativePath: the quick start's `digestbot fix` (PATH ".") and
// `fix sub/dir` from inside the repository write the files. The discovered
// root is absolute while the walk yields names relative to the working
// folder; the writer must get a path it can place inside the root.
func TestRunRelativePath(t *testing.T) {
	reg := testregistry.New(t)
	idx := reg.PushIndex(t, "library/nginx", "1.27", "linux/amd64")
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		".digestbot.yaml": "registries:\n  docker.io: {host: " + reg.Host() + ", tls: disabled}\n",
		"Dockerfile":      "FROM nginx:1.27\n",
		"sub/Dockerfile":  "FROM nginx:1.27 AS sub\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(root) // not parallel: changes the process's folder
	ctx := context.Background()
	for _, tc := range []struct{ path, file, want string }{
		{"sub", "sub/Dockerfile", "FROM nginx:1.27@" + idx.Digest + " AS sub\n"},
		{".", "Dockerfile", "FROM nginx:1.27@" + idx.Digest + "\n"},
	} {
		out, err := plan.Run(ctx, plan.Options{Paths: []string{tc.path}})
		if err != nil {
			t.Fatal(err)
		}
		errs, err := plan.Write(ctx, out.Files)
		if err != nil || errors.Join(errs...) != nil {
			t.Fatalf("fix %s: write: %v %v", tc.path, err, errs)
		}
		if b, _ := os.ReadFile(filepath.Join(root, tc.file)); string(b) != tc.want {
			t.Errorf("fix %s: %s = %q, want %q", tc.path, tc.file, b, tc.want)
		}
	}
}
