package scan

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/rewriters"
)

// contextTree holds one file of each format claimed by the folders it sits
// in, and some claimed by name or content, each with one ref.
var contextTree = map[string]string{
	".github/workflows/ci.yml":           "on: push\njobs:\n  a:\n    runs-on: x\n    container: node:20\n",
	".devcontainer/devcontainer.json":    `{"image": "mcr.microsoft.com/devcontainers/go:1"}` + "\n",
	".devcontainer/py/devcontainer.json": `{"image": "python:3.12"}` + "\n",
	".circleci/config.yml":               "version: 2.1\njobs:\n  a:\n    docker:\n      - image: cimg/go:1.22\n",
	".woodpecker/build.yml":              "steps:\n  - name: b\n    image: golang:1.22\n",
	".azure-pipelines/ci.yml":            "resources:\n  containers:\n  - container: l\n    image: ubuntu:22.04\n",
	"Dockerfile":                         "FROM alpine:3\n",
	"k8s/pod.yaml":                       "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: redis:7\n",
	// Claimed through the tree (Chart.yaml, a compose file beside them).
	"chart/Chart.yaml":  "apiVersion: v2\nname: c\nversion: 1.0.0\n",
	"chart/values.yaml": "image:\n  repository: nginx\n  tag: \"1.27\"\n",
	"app/compose.yaml":  "services:\n  w:\n    image: ${IMG}\n",
	"app/.env":          "IMG=busybox:1\n",
}

// contextKinds is the format of each file of contextTree in a scan of the
// whole tree.
var contextKinds = map[string]rewriters.Kind{
	".github/workflows/ci.yml":           rewriters.GitHubActions,
	".devcontainer/devcontainer.json":    rewriters.Devcontainer,
	".devcontainer/py/devcontainer.json": rewriters.Devcontainer,
	".circleci/config.yml":               rewriters.CircleCI,
	".woodpecker/build.yml":              rewriters.Woodpecker,
	".azure-pipelines/ci.yml":            rewriters.Azure,
	"Dockerfile":                         rewriters.Dockerfile,
	"k8s/pod.yaml":                       rewriters.Kubernetes,
	"chart/values.yaml":                  rewriters.Helm,
	"app/.env":                           rewriters.Compose, // the .env format reports as compose
}

// kindsOf maps each file of res holding refs to its format.
func kindsOf(res *Result) map[string]rewriters.Kind {
	out := map[string]rewriters.Kind{}
	for _, f := range res.Files {
		out[f.Path] = f.Kind
	}
	return out
}

// A file, or a folder, named as PATH is classified as in a scan of its
// repository even when the root (its own folder, outside any repository)
// cuts through the folders its format is claimed by; its path stays
// relative to that root, which is where it is written.
func TestScanExplicitFileContext(t *testing.T) {
	t.Parallel()
	for _, repo := range []bool{false, true} {
		files := map[string]string{}
		for p, c := range contextTree {
			files[p] = c
		}
		if repo {
			files[".git/HEAD"] = "ref: refs/heads/main\n"
		}
		root := writeTree(t, files)

		whole, err := Scan(context.Background(), root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		gotWhole := kindsOf(whole)
		delete(gotWhole, "app/compose.yaml") // its ref is the .env's
		if !reflect.DeepEqual(gotWhole, contextKinds) {
			t.Fatalf("repo=%v: whole tree: kinds %v, want %v", repo, gotWhole, contextKinds)
		}

		for rel, want := range contextKinds {
			abs := filepath.Join(root, filepath.FromSlash(rel))
			// Without Root the PATH's folder is the root (config.Discover
			// outside a repository); with Root, the repository's.
			for _, withRoot := range []bool{false, true} {
				opts, wantPath, wantRoot := Options{}, filepath.Base(abs), filepath.Dir(abs)
				if withRoot {
					opts.Root, wantPath, wantRoot = root, rel, root
				}
				res, err := Scan(context.Background(), abs, opts)
				if err != nil {
					t.Fatalf("repo=%v root=%v %s: %v", repo, withRoot, rel, err)
				}
				if len(res.Files) != 1 || len(res.Problems) != 0 {
					t.Errorf("repo=%v root=%v %s: files %v, problems %v; want it as %s", repo, withRoot, rel, kindsOf(res), res.Problems, want)
					continue
				}
				f := res.Files[0]
				if f.Kind != want || f.Path != wantPath || f.Root != wantRoot || f.Abs != abs {
					t.Errorf("repo=%v root=%v %s: got %s %q root %q abs %q, want %s %q root %q", repo, withRoot, rel, f.Kind, f.Path, f.Root, f.Abs, want, wantPath, wantRoot)
				}
			}
		}

		// A folder PATH below the folders a format is claimed by.
		for _, tc := range []struct{ dir, rel string }{
			{".github", "workflows/ci.yml"},
			{".github/workflows", "ci.yml"},
			{".devcontainer", "devcontainer.json"},
			{".circleci", "config.yml"},
		} {
			res, err := Scan(context.Background(), filepath.Join(root, tc.dir), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := kindsOf(res); got[tc.rel] != contextKinds[tc.dir+"/"+tc.rel] {
				t.Errorf("repo=%v: folder %s: kinds %v, want %s as %s", repo, tc.dir, got, tc.rel, contextKinds[tc.dir+"/"+tc.rel])
			}
		}
	}
}

// A repository root ends the context: a repository that sits in a folder
// named .circleci is not a CircleCI config folder, while the same folder
// outside any repository is.
func TestScanContextStopsAtRepository(t *testing.T) {
	t.Parallel()
	cfg := "version: 2.1\njobs:\n  a:\n    docker:\n      - image: cimg/go:1.22\n"
	top := writeTree(t, map[string]string{
		".circleci/repo/.git/HEAD": "ref: refs/heads/main\n",
		".circleci/repo/ci.yml":    cfg,
		".circleci/loose.yml":      cfg,
	})
	for _, tc := range []struct {
		path string
		want map[string]rewriters.Kind
	}{
		{".circleci/repo/ci.yml", map[string]rewriters.Kind{}},
		{".circleci/repo", map[string]rewriters.Kind{}},
		{".circleci/loose.yml", map[string]rewriters.Kind{"loose.yml": rewriters.CircleCI}},
	} {
		res, err := Scan(context.Background(), filepath.Join(top, tc.path), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := kindsOf(res); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: kinds %v, want %v", tc.path, got, tc.want)
		}
	}
}

// classifyPrefix names the root from the nearest folder holding .git (a
// folder in a clone, a file in a worktree), else from the file system's
// root.
func TestClassifyPrefix(t *testing.T) {
	t.Parallel()
	top := writeTree(t, map[string]string{
		"clone/.git/HEAD":  "x",
		"clone/a/b/x":      "x",
		"worktree/.git":    "gitdir: /elsewhere\n",
		"worktree/sub/x":   "x",
		"loose/.github/ww": "x",
	})
	abs, err := filepath.Abs(top)
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.ToSlash(abs[len(filepath.VolumeName(abs)):])
	if _, err := os.Lstat(filepath.Join(filepath.Dir(abs), ".git")); err == nil {
		t.Skip("the temp folder is inside a repository")
	}
	for _, tc := range []struct{ dir, want string }{
		{"clone", ""},
		{"clone/a/b", "a/b/"},
		{"worktree", ""},
		{"worktree/sub", "sub/"},
		{"loose/.github", outside[1:] + "/loose/.github/"},
	} {
		if got := classifyPrefix(filepath.Join(top, filepath.FromSlash(tc.dir))); got != tc.want {
			t.Errorf("classifyPrefix(%s) = %q, want %q", tc.dir, got, tc.want)
		}
	}
}

// The brief's command line: a relative PATH from the tree's top, which is
// no repository, as `digestbot scan .github/workflows/ci.yml` passes it.
func TestScanRelativeFileContext(t *testing.T) {
	root := writeTree(t, contextTree)
	t.Chdir(root) // not parallel: changes the process's folder
	for _, rel := range []string{".github/workflows/ci.yml", ".devcontainer/py/devcontainer.json", "Dockerfile"} {
		res, err := Scan(context.Background(), rel, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := kindsOf(res), map[string]rewriters.Kind{filepath.Base(rel): contextKinds[rel]}; !reflect.DeepEqual(got, want) {
			t.Errorf("Scan(%s): kinds %v, want %v", rel, got, want)
		}
	}
}

// The mount shows the tree only below its folder: names elsewhere do not
// exist, bad names are refused.
func TestMount(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{"Chart.yaml": "name: c\n", "sub/x": "x\n"})
	tr, err := newTree(root, config.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	m := mount{fsys: tr, at: "a/chart"}
	for _, tc := range []struct {
		name string
		want string // content; "" for an error
	}{
		{"a/chart/Chart.yaml", "name: c\n"},
		{"a/chart/sub/x", "x\n"},
		{"Chart.yaml", ""},
		{"a/Chart.yaml", ""},
		{"a/chartX/Chart.yaml", ""},
		{"a/chart/../chart/Chart.yaml", ""},
		{"/a/chart/Chart.yaml", ""},
	} {
		b, err := fs.ReadFile(m, tc.name)
		if string(b) != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", tc.name, b, err, tc.want)
		}
	}
	if es, err := fs.ReadDir(m, "a/chart"); err != nil || len(es) != 2 {
		t.Errorf("ReadDir(a/chart) = %v, %v; want Chart.yaml and sub", es, err)
	}
	if _, err := fs.Stat(m, "a"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(a) = %v, want not exist", err)
	}
}
