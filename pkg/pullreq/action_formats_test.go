package pullreq

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/internal/fakegithub"
)

// TestActionPRSplitRef runs the Action's pr command over a workflow and a
// kustomization: the branch holds both pinned files, and the PR table has a
// row for the kustomize entry at its newTag line (a ref split over keys,
// handled by the same code as every other format).
func TestActionPRSplitRef(t *testing.T) {
	t.Parallel()
	needBash(t)
	a := readAction(t)
	files := map[string]string{
		".github/workflows/ci.yml":  "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: nginx:1.27\n",
		"deploy/kustomization.yaml": "images:\n- name: nginx\n  newTag: \"1.27\"\n",
	}
	w := newActionWorld(t, files)
	idx := w.reg.PushIndex(t, "library/nginx", "1.27")
	var seed []fakegithub.File
	for p, c := range files {
		seed = append(seed, fakegithub.File{Path: p, Content: c})
	}
	w.fake.Commit("main", "initial", seed...)

	res := runAction(t, a, actionRun{inputs: map[string]string{"command": "pr"}, workspace: w.workspace, env: w.env})
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.output)
	}
	got := w.fake.Files("digestbot/pin-digests")
	if got[".github/workflows/ci.yml"] != strings.Replace(files[".github/workflows/ci.yml"], "nginx:1.27", "nginx:1.27@"+idx.Digest, 1) ||
		got["deploy/kustomization.yaml"] != "images:\n- name: nginx\n  newTag: \"1.27@"+idx.Digest+"\"\n" {
		t.Errorf("branch files = %q", got)
	}
	prs := w.fake.PRs()
	if len(prs) != 1 || !strings.Contains(prs[0].Body, "`deploy/kustomization.yaml:3`") || !strings.Contains(prs[0].Body, "`.github/workflows/ci.yml:5`") {
		t.Fatalf("pull requests = %+v", prs)
	}
}

// TestActionCommentWorkflowLine runs the Action's comment command on a pull
// request that adds a workflow: the review comment suggests the pinned
// container line, exactly as for a Dockerfile line.
func TestActionCommentWorkflowLine(t *testing.T) {
	t.Parallel()
	needBash(t)
	a := readAction(t)
	wf := "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: nginx:1.27 # build image\n"
	w := newActionWorld(t, map[string]string{".github/workflows/ci.yml": wf})
	idx := w.reg.PushIndex(t, "library/nginx", "1.27")
	// The base holds the config: comment takes registries from it.
	cfg, err := os.ReadFile(filepath.Join(w.workspace, ".digestbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w.fake.Seed("main", map[string]string{"README.md": "# shop\n", ".digestbot.yaml": string(cfg)})
	w.fake.Branch("feature", "main")
	headSHA := w.fake.Commit("feature", "add ci", fakegithub.File{Path: ".github/workflows/ci.yml", Content: wf})
	n := w.fake.OpenPR("feature", "main", "Add CI", "", "alice")
	event := filepath.Join(t.TempDir(), "event.json")
	ev, _ := json.Marshal(map[string]any{"number": n, "pull_request": map[string]any{"number": n, "head": map[string]any{"sha": headSHA}}})
	if err := os.WriteFile(event, ev, 0o644); err != nil {
		t.Fatal(err)
	}
	w.env["GITHUB_EVENT_PATH"] = event

	res := runAction(t, a, actionRun{inputs: map[string]string{"command": "comment"}, workspace: w.workspace, env: w.env})
	if res.code != 1 {
		t.Fatalf("exit %d, outputs %v\n%s", res.code, res.outputs, res.output)
	}
	rc := w.fake.ReviewComments(n)
	want := "```suggestion\n    container: nginx:1.27@" + idx.Digest + " # build image\n```"
	if len(rc) != 1 || rc[0].Path != ".github/workflows/ci.yml" || rc[0].Line != 5 || !strings.Contains(rc[0].Body, want) {
		t.Fatalf("review comments = %+v", rc)
	}
}
