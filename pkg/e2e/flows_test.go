package e2e

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// write puts files (placeholders expanded) into the world's tree.
func (w *world) write(files map[string]string) {
	w.t.Helper()
	for rel, data := range files {
		p := filepath.Join(w.root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(w.expand(data)), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) read(rel string) string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.root, filepath.FromSlash(rel)))
	if err != nil {
		w.t.Fatal(err)
	}
	return w.normalize(string(b))
}

func (w *world) mustRun(wantCode int, args ...string) (string, string) {
	w.t.Helper()
	stdout, stderr, code := w.run(args...)
	if code != wantCode {
		w.t.Fatalf("digestbot %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, stdout, stderr)
	}
	return w.normalize(stdout), w.normalize(stderr)
}

// TestFixTwiceAndRefresh pins, proves a second fix changes nothing, moves
// the tag, sees check report it stale, and refreshes it.
func TestFixTwiceAndRefresh(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		w := newWorld(t, newRegistry(t))
		w.push("index library/node:20 as=v1")
		w.write(map[string]string{
			".digestbot.yaml": defaultConfig,
			"Dockerfile":      "FROM node:20\r\nRUN true\r\n",
			"compose.yaml":    "services:\n  a:\n    image: node:20 # pinned by digestbot\n",
		})
		if err := os.Chmod(filepath.Join(w.root, "Dockerfile"), 0o750); err != nil {
			t.Fatal(err)
		}
		w.mustRun(0, "fix", "$ROOT")
		if got, want := w.read("Dockerfile"), "FROM node:20@<v1>\r\nRUN true\r\n"; got != want {
			t.Fatalf("after fix: %q, want %q", got, want)
		}
		info, _ := os.Stat(filepath.Join(w.root, "Dockerfile"))
		if info.Mode().Perm() != 0o750 {
			t.Errorf("mode after fix = %v, want 0750", info.Mode().Perm())
		}
		before := readTree(t, w.root)
		out, _ := w.mustRun(0, "fix", "$ROOT")
		if !strings.Contains(out, "pinned 0, refreshed 0") {
			t.Errorf("second fix: %s", out)
		}
		if after := readTree(t, w.root); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("second fix changed the tree")
		}
		w.mustRun(0, "check", "$ROOT")

		w.push("index library/node:20 as=v2")
		out, _ = w.mustRun(1, "check", "$ROOT")
		if !strings.Contains(out, "stale") {
			t.Errorf("check after the tag moved:\n%s", out)
		}
		w.mustRun(0, "fix", "$ROOT")
		if got := w.read("compose.yaml"); got != "services:\n  a:\n    image: node:20@<v2> # pinned by digestbot\n" {
			t.Errorf("after refresh: %q", got)
		}
		w.mustRun(0, "check", "$ROOT")
	})
}

// TestDedupe: one HEAD per unique tag across the whole tree and no
// manifest GET, however many files name the tag.
func TestDedupe(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		w := newWorld(t, reg)
		w.push("index library/node:20")
		w.push("image library/alpine:3")
		files := map[string]string{".digestbot.yaml": defaultConfig}
		for i := 0; i < 30; i++ {
			files[fmt.Sprintf("svc%d/Dockerfile", i)] = "FROM node:20\nFROM alpine:3\nFROM docker.io/library/node:20\n"
			files[fmt.Sprintf("svc%d/compose.yaml", i)] = "services:\n  a:\n    image: index.docker.io/library/alpine:3\n"
		}
		w.write(files)
		reg.ResetCounts()
		w.mustRun(0, "fix", "$ROOT")
		c := reg.Counts()
		want := map[string]int{"library/node:20": 1, "library/alpine:3": 1}
		if fmt.Sprint(c.ManifestHead) != fmt.Sprint(want) || c.Gets() != 0 {
			t.Errorf("HEADs %v, GETs %v; want one HEAD per tag and no GET", c.ManifestHead, c.ManifestGet)
		}
	})
}

// TestNoDigestHeader: a registry that omits Docker-Content-Digest still
// gets the right digest (regclient falls back to GET and hashes the body).
func TestNoDigestHeader(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		w := newWorld(t, newRegistry(t, testregistry.WithoutDigestHeader()))
		w.push("index library/node:20")
		w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": "FROM node:20\n"})
		w.mustRun(0, "fix", "$ROOT")
		if got := w.read("Dockerfile"); got != "FROM node:20@<node:20>\n" {
			t.Errorf("got %q", got)
		}
	})
}

// TestUnreachableHost: a registry that refuses connections fails its refs
// with one line each, quickly, leaves them untouched and fixes the rest.
func TestUnreachableHost(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testregistry.New(t))
	w.push("index library/node:20")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	w.write(map[string]string{
		".digestbot.yaml": defaultConfig + "  dead.example:\n    host: " + dead + "\n    tls: disabled\n",
		"Dockerfile":      "FROM node:20\nFROM dead.example/a:1\nFROM dead.example/b:2\n",
	})
	_, stderr := w.mustRun(2, "fix", "$ROOT")
	if got := w.read("Dockerfile"); got != "FROM node:20@<node:20>\nFROM dead.example/a:1\nFROM dead.example/b:2\n" {
		t.Errorf("got %q", got)
	}
	// A dead host is said once, with the refs it cost.
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(stderr, dead+": connection to ") || !strings.Contains(stderr, "refused") ||
		!strings.Contains(stderr, ": 2 refs not checked (Dockerfile:2 dead.example/a:1, Dockerfile:3 dead.example/b:2)") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// dockerConfig writes a Docker config folder and points DOCKER_CONFIG at it.
func dockerConfig(t *testing.T, json string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(json), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

// TestBasicAuth: credentials from the Docker config reach the registry;
// without them the error says 401 and how to log in, and no secret leaks.
// Not parallel: it sets DOCKER_CONFIG.
func TestBasicAuth(t *testing.T) {
	reg := testregistry.New(t, testregistry.WithBasicAuth("robot", "s3cret-pass"))
	w := newWorld(t, reg)
	w.push("index library/node:20")
	w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": "FROM node:20\n"})

	dockerConfig(t, `{"auths": {}}`)
	stdout, stderr := w.mustRun(2, "check", "$ROOT")
	if strings.Contains(stdout+stderr, "s3cret") {
		t.Error("secret in output")
	}
	if !strings.Contains(stderr, "unauthorized") || !strings.Contains(stderr, "docker login") {
		t.Errorf("without credentials: %s", stderr)
	}

	auth := base64.StdEncoding.EncodeToString([]byte("robot:s3cret-pass"))
	dockerConfig(t, `{"auths": {"`+reg.Host()+`": {"auth": "`+auth+`"}}}`)
	stdout, stderr = w.mustRun(0, "fix", "$ROOT")
	if got := w.read("Dockerfile"); got != "FROM node:20@<node:20>\n" {
		t.Errorf("with credentials: %q\n%s%s", got, stdout, stderr)
	}
	for _, out := range []string{stdout, stderr} {
		if strings.Contains(out, "s3cret") || strings.Contains(out, auth) {
			t.Errorf("secret in output: %s", out)
		}
	}
}

// TestCredentialHelper: a docker-credential-* helper on PATH supplies the
// credentials, through credHelpers and through credsStore.
// Not parallel: it sets PATH and DOCKER_CONFIG.
func TestCredentialHelper(t *testing.T) {
	reg := testregistry.New(t, testregistry.WithBasicAuth("helper-user", "helper-secret"))
	bin := t.TempDir()
	// Like real helpers it answers get (for one server) and list (which
	// servers it holds: how credsStore entries are discovered).
	script := "#!/bin/sh\ncase \"$1\" in\n" +
		"get) read host; printf '{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"helper-secret\"}' \"$host\" ;;\n" +
		"list) printf '{\"" + reg.Host() + "\":\"helper-user\"}' ;;\n" +
		"*) exit 1 ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-fake"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for name, cfg := range map[string]string{
		"credHelpers": `{"credHelpers": {"` + reg.Host() + `": "fake"}}`,
		"credsStore":  `{"credsStore": "fake"}`,
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, reg)
			w.push("index library/node:20 as=" + name)
			w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": "FROM node:20\n"})
			dockerConfig(t, cfg)
			stdout, stderr := w.mustRun(0, "fix", "$ROOT")
			if got := w.read("Dockerfile"); got != "FROM node:20@<"+name+">\n" {
				t.Errorf("got %q\n%s%s", got, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, "helper-secret") {
				t.Error("secret in output")
			}
		})
	}
}

// TestForbidden: 403 is an error with what to do, and nothing is written.
func TestForbidden(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t, testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/private/") {
				http.Error(rw, `{"errors":[{"code":"DENIED","message":"access denied"}]}`, http.StatusForbidden)
				return
			}
			next.ServeHTTP(rw, r)
		})
	}))
	w := newWorld(t, reg)
	w.push("index library/node:20")
	w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": "FROM node:20\nFROM private/app:1\n"})
	_, stderr := w.mustRun(2, "fix", "$ROOT")
	if got := w.read("Dockerfile"); got != "FROM node:20@<node:20>\nFROM private/app:1\n" {
		t.Errorf("got %q", got)
	}
	if !strings.Contains(stderr, "Dockerfile:2: private/app:1:") {
		t.Errorf("stderr: %s", stderr)
	}
}

// TestActionOutputs: check and fix write their counts to $GITHUB_OUTPUT for
// the Action's outputs.
func TestActionOutputs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testregistry.New(t))
	w.push("index library/node:20")
	w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": "FROM node:20\nFROM node:20\nFROM scratch\nFROM x:${V}\n"})
	out := filepath.Join(t.TempDir(), "output")
	w.env = map[string]string{"GITHUB_OUTPUT": out}
	w.mustRun(1, "check", "$ROOT")
	w.mustRun(0, "fix", "$ROOT")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"unpinned=2\n", "needs-action=2\n", "skipped=1\n", "findings=3\n", "pinned=2\n", "refreshed=0\n", "files=1\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("GITHUB_OUTPUT lacks %q:\n%s", want, b)
		}
	}
}

// TestProgress: progress goes to stderr only when it is a terminal, and
// never into JSON on stdout.
func TestProgress(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testregistry.New(t))
	w.push("index library/node:20")
	w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": "FROM node:20\n"})
	stdout, stderr := w.mustRun(1, "check", "$ROOT", "--format", "json")
	if stderr != "" {
		t.Errorf("not a terminal, yet stderr = %q", stderr)
	}
	w.terminal = true
	stdout2, stderr := w.mustRun(1, "check", "$ROOT", "--format", "json")
	if !strings.Contains(stderr, "resolved 1/1 tags") {
		t.Errorf("terminal stderr = %q, want progress", stderr)
	}
	if stdout2 != stdout {
		t.Errorf("progress changed stdout:\n%s", stdout2)
	}
}

// TestLoopbackPlainHTTP: like Docker, a registry on loopback that the config
// does not mention is tried with HTTPS, then plain HTTP.
func TestLoopbackPlainHTTP(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		w := newWorld(t, reg)
		w.push("index library/node:20")
		_, port, _ := net.SplitHostPort(reg.Host())
		w.write(map[string]string{
			".digestbot.yaml": "exclude: []\n",
			"Dockerfile":      "FROM HOST/library/node:20\nFROM localhost:" + port + "/library/node:20\n",
		})
		w.mustRun(0, "fix", "$ROOT")
		if got := w.read("Dockerfile"); got != "FROM HOST/library/node:20@<node:20>\nFROM localhost:"+port+"/library/node:20@<node:20>\n" {
			t.Errorf("got %q", got)
		}
	})
}
