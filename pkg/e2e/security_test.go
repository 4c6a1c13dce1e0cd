package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/digestbot/digestbot/internal/cli"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// runEnv runs the CLI in-process with environment variables.
func (w *world) runEnv(env map[string]string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "$ROOT", w.root)
	}
	code = cli.Main(context.Background(), args, cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	})
	return out.String(), errb.String(), code
}

// echoAuth answers every authenticated manifest request with an error
// whose body (and a header) repeat the request's Authorization header, as
// a careless registry or proxy might.
func echoAuth(code int) testregistry.Opt {
	return testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			if auth == "" || !strings.Contains(r.URL.Path, "/manifests/") {
				next.ServeHTTP(w, r)
				return
			}
			_, cred, _ := strings.Cut(auth, " ")
			raw, _ := base64.StdEncoding.DecodeString(cred)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Debug-Auth", auth)
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":"rejected %s (%s) decoded %s","detail":{"authorization":%q}}]}`, auth, cred, raw, auth)
		})
	})
}

// TestSecretsNeverPrinted runs every command and format with credentials
// from every source — the workflow token in Actions mode, Docker config
// auths, a credential helper — once with good credentials and once with
// rejected ones, next to registries that echo the Authorization header in
// their error answers, and checks that no secret (nor its base64 form)
// reaches stdout, stderr, $GITHUB_OUTPUT or the job summary.
// Not parallel: it sets DOCKER_CONFIG and PATH.
func TestSecretsNeverPrinted(t *testing.T) {
	const (
		ghToken      = "ghs_WorkflowT0kenSecret1234567890"
		dockerPass   = "docker-Pa55-secret-4567"
		helperSecret = "helper-S3cret-8910"
		echoPass     = "echo-Pa55-secret-1112"
	)
	for _, good := range []bool{true, false} {
		name := "rejected-credentials"
		if good {
			name = "good-credentials"
		}
		t.Run(name, func(t *testing.T) {
			basic := testregistry.New(t, testregistry.WithBasicAuth("robot", dockerPass))
			// ghcr.io is mapped to gh by the repository's config: the
			// workflow token must never reach it (checked at its listener).
			var ghAuth atomic.Value
			gh := testregistry.New(t, testregistry.WithBasicAuth("x-access-token", ghToken), testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if a := r.Header.Get("Authorization"); a != "" {
						ghAuth.Store(a)
					}
					next.ServeHTTP(w, r)
				})
			}))
			helper := testregistry.New(t, testregistry.WithBasicAuth("helper-user", helperSecret))
			echo400 := testregistry.New(t, testregistry.WithBasicAuth("echo-user", echoPass), echoAuth(400))
			echo500 := testregistry.New(t, testregistry.WithBasicAuth("echo-user", echoPass), echoAuth(500))
			w := newWorld(t, basic)
			basic.PushIndex(t, "library/node", "20")
			gh.PushIndex(t, "acme/app", "1")
			helper.PushIndex(t, "acme/tool", "1")
			echo400.PushIndex(t, "echo/app", "1")
			echo500.PushIndex(t, "echo/app", "1")

			// What the client holds: the right secrets, or wrong ones
			// (which are just as secret).
			dp, tok, hs, ep := dockerPass, ghToken, helperSecret, echoPass
			if !good {
				dp, tok, hs, ep = "wrong-"+dp, "ghs_wrong"+tok[4:], "wrong-"+hs, "wrong-"+ep
			}
			secrets := []string{dockerPass, ghToken, helperSecret, echoPass, dp, tok, hs, ep}
			for _, pair := range []string{"robot:" + dp, "x-access-token:" + tok, "helper-user:" + hs, "echo-user:" + ep} {
				secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(pair)))
			}

			bin := t.TempDir()
			script := "#!/bin/sh\ncase \"$1\" in\n" +
				"get) read host; printf '{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"" + hs + "\"}' \"$host\" ;;\n" +
				"*) exit 1 ;;\nesac\n"
			if err := os.WriteFile(filepath.Join(bin, "docker-credential-sectest"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			auth := func(user, pass string) string {
				return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
			}
			dockerConfig(t, fmt.Sprintf(`{"auths": {%q: {"auth": %q}, %q: {"auth": %q}, %q: {"auth": %q}}, "credHelpers": {%q: "sectest"}}`,
				basic.Host(), auth("robot", dp), echo400.Host(), auth("echo-user", ep), echo500.Host(), auth("echo-user", ep), helper.Host()))

			w.write(map[string]string{
				".digestbot.yaml": fmt.Sprintf("registries:\n"+
					"  docker.io: {host: %q, tls: disabled}\n"+
					"  ghcr.io: {host: %q, tls: disabled}\n"+
					"  quay.io: {host: %q, tls: disabled}\n"+
					"  registry.example.com: {host: %q, tls: disabled}\n"+
					"  registry2.example.com: {host: %q, tls: disabled}\n",
					basic.Host(), gh.Host(), helper.Host(), echo400.Host(), echo500.Host()),
				"Dockerfile":   "FROM node:20\nFROM ghcr.io/acme/app:1\nFROM quay.io/acme/tool:1\n",
				"compose.yaml": "services:\n  a:\n    image: registry.example.com/echo/app:1\n  b:\n    image: registry2.example.com/echo/app:1\n",
			})
			ghOutput := filepath.Join(t.TempDir(), "output")
			summary := filepath.Join(t.TempDir(), "summary")
			env := map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": tok, "GITHUB_OUTPUT": ghOutput,
				"GITHUB_STEP_SUMMARY": summary, "GITHUB_REPOSITORY": "acme/repo",
			}
			runs := [][]string{
				{"scan", "$ROOT"}, {"scan", "--format", "json", "$ROOT"},
				{"check", "$ROOT"}, {"check", "--format", "json", "$ROOT"}, {"check", "--format", "sarif", "$ROOT"},
				{"fix", "--dry-run", "$ROOT"}, {"fix", "$ROOT"},
			}
			errorsSeen := 0
			for _, args := range runs {
				cmdline := strings.Join(args, " ")
				stdout, stderr, code := w.runEnv(env, args...)
				files := ""
				for _, f := range []string{ghOutput, summary} {
					b, _ := os.ReadFile(f)
					files += string(b)
				}
				for _, s := range secrets {
					for where, text := range map[string]string{"stdout": stdout, "stderr": stderr, "GITHUB_OUTPUT and summary": files} {
						if strings.Contains(text, s) {
							t.Errorf("%s: secret %q in %s:\n%s", cmdline, s, where, text)
						}
					}
				}
				if args[0] != "scan" && code != 2 {
					t.Errorf("%s: exit %d, want 2 (the echoing registries fail)\n%s", cmdline, code, stderr)
				}
				errorsSeen += strings.Count(stderr, "\n")
			}
			if errorsSeen == 0 {
				t.Error("no error line at all: the error paths were not exercised")
			}
			df := w.read("Dockerfile")
			if good && (strings.Count(df, "@sha256:") != 2 || !strings.Contains(df, "FROM ghcr.io/acme/app:1\n")) {
				t.Errorf("with good credentials, Dockerfile = %q (node and tool pinned, the remapped ghcr.io not)", df)
			}
			if a, _ := ghAuth.Load().(string); a != "" {
				t.Errorf("the host ghcr.io is remapped to received credentials: %q", a)
			}
			if !good && df != "FROM node:20\nFROM ghcr.io/acme/app:1\nFROM quay.io/acme/tool:1\n" {
				t.Errorf("with rejected credentials, Dockerfile = %q", df)
			}
		})
	}
}

// tlsFront serves reg over HTTPS with a self-signed certificate.
func tlsFront(t *testing.T, reg *testregistry.Registry) string {
	t.Helper()
	target, _ := url.Parse(reg.URL())
	srv := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestTLSVerified: a registry with a self-signed certificate is refused
// (the error names the certificate and how to allow it) unless its own
// config entry says tls: insecure; that setting loosens no other host.
func TestTLSVerified(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	w := newWorld(t, reg)
	w.push("index acme/app:1")
	a, b := tlsFront(t, reg), tlsFront(t, reg)
	files := map[string]string{
		"a/Dockerfile": "FROM a.example.com/acme/app:1\n",
		"b/Dockerfile": "FROM b.example.com/acme/app:1\n",
	}
	w.write(files)

	write := func(aTLS string) {
		w.write(map[string]string{".digestbot.yaml": fmt.Sprintf("registries:\n  a.example.com: {host: %q%s}\n  b.example.com: {host: %q}\n", a, aTLS, b)})
	}
	// Verified by default: both fail, nothing is written.
	write("")
	_, stderr, code := w.run("fix", "$ROOT")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	for _, want := range []string{"a/Dockerfile:1: a.example.com/acme/app:1: ", "b/Dockerfile:1: b.example.com/acme/app:1: "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.Contains(line, "certificate") || !strings.Contains(line, "tls: insecure") {
			t.Errorf("the error should name the certificate and the setting that allows it: %s", line)
		}
	}
	for rel, data := range files {
		if got := w.read(rel); got != data {
			t.Errorf("%s written through an unverified connection: %q", rel, got)
		}
	}

	// tls: insecure for a only.
	write(", tls: insecure")
	_, stderr, code = w.run("fix", "$ROOT")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if got := w.read("a/Dockerfile"); got != "FROM a.example.com/acme/app:1@<acme/app:1>\n" {
		t.Errorf("a/Dockerfile with tls: insecure = %q", got)
	}
	if got := w.read("b/Dockerfile"); got != files["b/Dockerfile"] {
		t.Errorf("b/Dockerfile written though only a is insecure: %q", got)
	}
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "b/Dockerfile:1:") || !strings.Contains(lines[0], "certificate") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestMalformedDigest: whatever a registry claims as a digest is checked
// (algorithm, length, hex) before anything is written; a bad one is an
// error on the reference, and the file stays byte-identical.
func TestMalformedDigest(t *testing.T) {
	t.Parallel()
	bad := []string{
		"sha256:abc",
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		"sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"sha256:" + strings.Repeat("A", 64),
		"sha256:" + strings.Repeat("a", 63),
		"sha256:" + strings.Repeat("g", 64),
		"sha512:" + strings.Repeat("a", 64),
		"sha256:../../../../etc/passwd",
		"sha256:" + strings.Repeat("a", 64) + "\tx",
		strings.Repeat("a", 64),
	}
	for _, d := range bad {
		for _, method := range []string{"HEAD and GET", "GET only"} {
			t.Run(fmt.Sprintf("%s/%.24q", method, d), func(t *testing.T) {
				t.Parallel()
				reg := testregistry.New(t, testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
						if !strings.Contains(r.URL.Path, "/bad/app/manifests/") {
							next.ServeHTTP(rw, r)
							return
						}
						rec := httptest.NewRecorder()
						next.ServeHTTP(rec, r)
						for k, v := range rec.Header() {
							rw.Header()[k] = v
						}
						switch {
						case r.Method == http.MethodGet || method == "HEAD and GET":
							rw.Header()["Docker-Content-Digest"] = []string{d}
						default:
							// No digest on HEAD: the resolver must GET.
							rw.Header().Del("Docker-Content-Digest")
						}
						rw.WriteHeader(rec.Code)
						_, _ = rw.Write(rec.Body.Bytes())
					})
				}))
				w := newWorld(t, reg)
				w.push("index library/node:20")
				w.push("index bad/app:1")
				in := "FROM bad/app:1\nFROM node:20\n"
				w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": in})
				_, stderr, code := w.run("fix", "$ROOT")
				if code != 2 {
					t.Errorf("exit %d, want 2\n%s", code, stderr)
				}
				if got := w.read("Dockerfile"); got != "FROM bad/app:1\nFROM node:20@<node:20>\n" {
					t.Errorf("Dockerfile = %q", got)
				}
				t.Log(strings.TrimSpace(stderr))
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				if len(lines) != 1 || !strings.HasPrefix(lines[0], "Dockerfile:1: bad/app:1: ") || !strings.Contains(strings.ToLower(lines[0]), "digest") {
					t.Errorf("want one error line on Dockerfile:1 about the digest, got:\n%s", stderr)
				}
			})
		}
	}
}
