package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// versionVar is the -X target of every release build (Makefile,
// .goreleaser.yaml, action.yml): renaming the variable breaks them, and
// this test.
const versionVar = "github.com/digestbot/digestbot/internal/cli.Version"

// The version set with -ldflags shows in `digestbot --version`, `digestbot
// version`, SARIF's tool.driver.version and the User-Agent registries see.
func TestVersionFromLdflags(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	const v = "v9.8.7-test"
	bin := filepath.Join(t.TempDir(), "digestbot")
	build := exec.Command("go", "build", "-ldflags", "-X "+versionVar+"="+v, "-o", bin, "github.com/digestbot/digestbot/cmd/digestbot")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, binEnv(t)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("digestbot %s: %v\n%s", strings.Join(args, " "), err, errb.String())
			}
		}
		return out.String()
	}
	lineRe := regexp.MustCompile(`^digestbot ` + regexp.QuoteMeta(v) + ` [a-z0-9]+/[a-z0-9]+ go[0-9.a-z]+\n$`)
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if got := run(t.TempDir(), args...); !lineRe.MatchString(got) {
			t.Errorf("digestbot %s = %q, want %s", args[0], got, lineRe)
		}
	}

	var mu sync.Mutex
	agents := map[string]bool{}
	reg := testregistry.New(t, testregistry.WithHandlerWrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			agents[r.UserAgent()] = true
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}))
	reg.PushIndex(t, "library/node", "20")
	repo := t.TempDir()
	for name, data := range map[string]string{
		".digestbot.yaml": fmt.Sprintf("registries:\n  docker.io: {host: %s, tls: disabled}\n", reg.Host()),
		"Dockerfile":      "FROM node:20\n",
	} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var sarif struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Name, Version string
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(run(repo, "check", "--format", "sarif")), &sarif); err != nil {
		t.Fatal(err)
	}
	if len(sarif.Runs) != 1 || sarif.Runs[0].Tool.Driver.Version != v {
		t.Errorf("SARIF tool.driver = %+v, want version %s", sarif.Runs, v)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for ua := range agents {
		found = found || strings.Contains(ua, "digestbot/"+v)
	}
	if !found {
		t.Errorf("User-Agents seen by the registry = %v, want digestbot/%s", agents, v)
	}
}

// Built from a clone with VCS stamping on, and no -ldflags, the commit Go
// recorded is named (unless the module version already names it).
func TestVersionFromBuildInfo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "digestbot")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "github.com/digestbot/digestbot/cmd/digestbot")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("no VCS stamping here (not a git clone, or git missing): %v\n%s", err, out)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	rev := regexp.MustCompile(`vcs\.revision=([0-9a-f]{12})`).FindStringSubmatch(string(info))
	if rev == nil {
		t.Skip("go recorded no vcs.revision (a git worktree, or -buildvcs unsupported here)")
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), rev[1]) {
		t.Errorf("digestbot --version = %q, want it to name commit %s", out, rev[1])
	}
}

// Every release path sets the version through the same -X target: make
// build, goreleaser, the image and the Action (which builds from a tarball,
// where Go records no VCS information).
func TestReleaseFilesSetTheVersion(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"Makefile", ".goreleaser.yaml", "Dockerfile", "action.yml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "-X "+versionVar+"=") && !strings.Contains(string(b), "-X $(VERSION_VAR)=") {
			t.Errorf("%s does not set -X %s=…", f, versionVar)
		}
	}
	mk, _ := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if !strings.Contains(string(mk), "VERSION_VAR := "+versionVar+"\n") {
		t.Errorf("Makefile: VERSION_VAR is not %s", versionVar)
	}
}

// digestbot's own Dockerfile, scanned by digestbot: the builder is its
// only reference (stage names and scratch are not references), and it is
// reported as it stands — unpinned until someone with registry access
// runs fix on it (see the comment in the Dockerfile).
func TestOwnDockerfile(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testregistry.New(t))
	out, _ := w.mustRun(0, "scan", "--format", "json", filepath.Join("..", "..", "Dockerfile"))
	var got struct {
		Findings []struct{ Ref, Status, Kind string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Findings) != 1 || !strings.HasPrefix(got.Findings[0].Ref, "golang:1.26") || got.Findings[0].Kind != "dockerfile" ||
		(got.Findings[0].Status != "unpinned" && got.Findings[0].Status != "pinned") {
		t.Errorf("findings in Dockerfile = %+v", got.Findings)
	}
}
