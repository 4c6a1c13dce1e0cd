package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// hook is an entry of .pre-commit-hooks.yaml.
type hook struct {
	ID       string `yaml:"id"`
	Entry    string `yaml:"entry"`
	Language string `yaml:"language"`
	Files    string `yaml:"files"`
}

func readHooks(t *testing.T) map[string]hook {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var hs []hook
	if err := yaml.Unmarshal(b, &hs); err != nil {
		t.Fatal(err)
	}
	m := map[string]hook{}
	for _, h := range hs {
		m[h.ID] = h
	}
	for _, id := range []string{"digestbot-check", "digestbot-fix"} {
		if h, ok := m[id]; !ok || h.Language != "golang" || !strings.HasPrefix(h.Entry, "digestbot ") {
			t.Fatalf("hook %s = %+v; want language golang, entry digestbot …", id, h)
		}
	}
	return m
}

// precommitRepo is a repository as a pre-commit user has it: a .git root,
// the config at the root (registries sent to the test registry, an image
// ignored), files in subfolders, one excluded.
func precommitRepo(t *testing.T, reg *testregistry.Registry) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		".digestbot.yaml":       fmt.Sprintf("registries:\n  docker.io: {host: %s, tls: disabled}\nignore: [busybox]\nexclude: [\"vendor/**\"]\n", reg.Host()),
		"k8s/debug/pod.yaml":    "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: busybox:1\n  - image: node:20\n",
		"svc/api/Dockerfile":    "FROM node:20\n",
		"vendor/lib/Dockerfile": "FROM node:20\n",
		"docs/README.md":        "FROM node:20 is not a reference here\n",
	}
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, []string{"k8s/debug/pod.yaml", "svc/api/Dockerfile", "vendor/lib/Dockerfile", "docs/README.md"}
}

// The hooks run exactly as pre-commit runs them: the entry split on
// spaces, then the staged files that match `files`, as arguments, from the
// repository root. Several files of one repository share its config.
func TestPreCommitHooksAsPreCommitRunsThem(t *testing.T) {
	t.Parallel()
	hooks := readHooks(t)
	bin := buildDigestbot(t)
	reg := testregistry.New(t)
	idx := reg.PushIndex(t, "library/node", "20")
	dir, staged := precommitRepo(t, reg)
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(h hook) (int, string) {
		re := regexp.MustCompile(h.Files)
		args := strings.Fields(h.Entry)[1:]
		for _, f := range staged {
			if re.MatchString(f) {
				args = append(args, f)
			}
		}
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, binEnv(t)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String()
	}
	code, out := run(hooks["digestbot-check"])
	want := "k8s/debug/pod.yaml:6:12  unpinned  node:20\nsvc/api/Dockerfile:1:6   unpinned  node:20\n"
	if code != 1 || !strings.HasPrefix(out, want) || strings.Contains(out, "busybox") || strings.Contains(out, "vendor") {
		t.Errorf("digestbot-check: exit %d, output:\n%s\nwant exit 1 and, first:\n%s", code, out, want)
	}
	code, out = run(hooks["digestbot-fix"])
	if code != 0 || !strings.Contains(out, "changed k8s/debug/pod.yaml (1 ref)") || !strings.Contains(out, "changed svc/api/Dockerfile (1 ref)") {
		t.Errorf("digestbot-fix: exit %d, output:\n%s", code, out)
	}
	for p, want := range map[string]string{
		"svc/api/Dockerfile":    "FROM node:20@" + idx.Digest + "\n",
		"vendor/lib/Dockerfile": "FROM node:20\n",
		"k8s/debug/pod.yaml":    "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: busybox:1\n  - image: node:20@" + idx.Digest + "\n",
	} {
		if b, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p))); string(b) != want {
			t.Errorf("%s after digestbot-fix = %q, want %q", p, b, want)
		}
	}
	if code, out = run(hooks["digestbot-check"]); code != 0 {
		t.Errorf("digestbot-check after fix: exit %d\n%s", code, out)
	}
}

// With pre-commit installed (Debian's pre-commit package; .ci/run installs
// it when apt can), the hooks run through pre-commit itself: try-repo
// builds them from this checkout with language golang (offline: the
// module cache and build cache of this machine, GOPROXY=off).
func TestPreCommitItself(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds digestbot inside pre-commit; skipped with -short")
	}
	for _, tool := range []string{"pre-commit", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the hooks are tested as pre-commit runs them instead", tool)
		}
	}
	readHooks(t)
	reg := testregistry.New(t)
	idx := reg.PushIndex(t, "library/node", "20")
	dir, staged := precommitRepo(t, reg)
	goEnv := func(k string) string {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	home := t.TempDir()
	env := append(binEnv(t),
		"HOME="+home, "PRE_COMMIT_HOME="+filepath.Join(home, "pre-commit"),
		"GOMODCACHE="+goEnv("GOMODCACHE"), "GOCACHE="+goEnv("GOCACHE"),
		"GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", "-A")
	src, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	try := func(id string) (int, string) {
		args := append([]string{"try-repo", src, id, "--verbose", "--files"}, staged...)
		cmd := exec.Command("pre-commit", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	code, out := try("digestbot-check")
	if code != 1 || !strings.Contains(out, "svc/api/Dockerfile:1:6   unpinned  node:20") || !strings.Contains(out, "k8s/debug/pod.yaml:6:12  unpinned  node:20") {
		t.Fatalf("pre-commit digestbot-check: exit %d\n%s", code, out)
	}
	// fix changes files, which pre-commit reports as a failure (exit 1).
	if code, out = try("digestbot-fix"); code != 1 {
		t.Fatalf("pre-commit digestbot-fix: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "svc", "api", "Dockerfile")); string(b) != "FROM node:20@"+idx.Digest+"\n" {
		t.Errorf("after pre-commit digestbot-fix: %q", b)
	}
}
